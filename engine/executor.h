/*
 * executor.h - how stages get executed: the interface between the scheduler
 * and a place that runs a stage's job (this machine's child processes, or
 * `sulcus stage-exec JOBFILE` on a cluster).
 *
 * The scheduler decides what runs and records everything; an executor only
 * starts jobs, reports when one ended, and cancels.  A job's success is never
 * judged here: the scheduler reads the stage's result file and the cache.
 * The scheduler blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD while it runs;
 * wait() returns when a job ended, one of those signals arrived, or its
 * timeout passed (the scheduler then refreshes its progress display).
 */
#ifndef SUL_EXECUTOR_H
#define SUL_EXECUTOR_H

#include <signal.h>
#include <stddef.h>

#include "jobfile.h"
#include "err.h"
#include "resources.h"

/* The signals the scheduler blocks while it runs and waits for (see above). */
static inline void sul_run_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGCHLD);
}

struct sul_job {
	size_t tag;              /* the scheduler's handle, returned in sul_job_end */
	const char *stage_id;
	const char *jobfile_path;   /* its job file (jobfile.h), written when the executor needs_jobfile */
	const struct sul_jobfile *jobfile;  /* the same, in memory while start() runs */
	const char *log_path;    /* stdout and stderr of the stage */
	const char *workdir;
	const char *script_path; /* where an executor may write a job script */
	const struct sul_resources *resources;
};

#define SUL_JOB_ID_MAX 64

struct sul_job_end {
	size_t tag;
	int exit_code;           /* exit status, or 128 + signal */
	int signal;              /* the signal that killed it, or 0 */
	double wall_s, cpu_s;
	long max_rss_kb;
	char node[256];          /* host that ran it */
	char state[32];          /* the executor's final state (Slurm's JobState) */
	char detail[512];        /* executor's own account of a failure, or "" */
};

struct sul_executor {
	const char *name;
	int needs_jobfile;       /* 1: its jobs read job->jobfile_path */
	/* Starts a job and names it in job_id.  On failure the job is not running. */
	int (*start)(struct sul_executor *ex, const struct sul_job *job, char job_id[SUL_JOB_ID_MAX],
		     struct sul_err *err);
	/* Blocks at most timeout_s seconds (< 0: until something happens).
	 * 1: a job ended (*end filled); 0: a signal arrived (*signo); 2: the
	 * timeout passed; -1: error.  Returning early costs the executor nothing
	 * it would not have spent anyway (Slurm's polling keeps its own pace). */
	int (*wait)(struct sul_executor *ex, double timeout_s, struct sul_job_end *end, int *signo,
		    struct sul_err *err);
	/* Stops every running job; their ends are then reported by wait(). */
	void (*cancel)(struct sul_executor *ex);
	size_t (*running)(const struct sul_executor *ex);
	void (*free)(struct sul_executor *ex);
};

/* Runs jobs as child processes of this one: forks that call
 * stage_main(job->jobfile), or, when stage_main is NULL, `self_exe stage-exec JOBFILE`. */
struct sul_executor *sul_executor_local(const char *self_exe, int (*stage_main)(const struct sul_jobfile *d));

/* Submits each job to Slurm with sbatch and follows it with scontrol (and
 * sacct where accounting exists).  Fails when sbatch is not installed. */
int sul_executor_slurm(const char *self_exe, struct sul_executor **ex, struct sul_err *err);

#endif
