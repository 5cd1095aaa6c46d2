/*
 * exec_local.c - the local executor: each stage is a child process in its
 * own process group, reaped with wait4() for its exit status, CPU time and
 * peak memory.  The child is a fork of the engine that calls the stage's
 * main directly (as `sulcus stage-exec JOBFILE` would, without loading the
 * binary again), or that program exec'd when no main is given.
 */
#include "child.h"
#include "executor.h"
#include "clock.h"
#include "strbuf.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct local_job {
	pid_t pid;
	size_t tag;
	double t0;
};

struct local {
	struct sul_executor ex;  /* first: the public part */
	char *self_exe;
	int (*stage_main)(const struct sul_jobfile *d);
	struct local_job *jobs;
	size_t n, alloc;
	char parent_env[64];
};

/* What a forked child calls: the stage's main on the job, in memory. */
struct stage_call {
	int (*stage_main)(const struct sul_jobfile *job);
	const struct sul_jobfile *job;
};

static int call_stage_main(void *arg)
{
	const struct stage_call *call = arg;
	return call->stage_main(call->job);
}

static int local_start(struct sul_executor *ex, const struct sul_job *job, char job_id[SUL_JOB_ID_MAX],
		       struct sul_err *err)
{
	struct local *l = (struct local *)ex;
	const char *argv[] = { l->self_exe, "stage-exec", job->jobfile_path, NULL };
	const char *env[] = { l->parent_env, NULL };
	struct stage_call call = { l->stage_main, job->jobfile };
	struct sul_child c = { argv, job->log_path, job->workdir, env, l->stage_main ? call_stage_main : NULL,
			       &call };
	pid_t pid;

	if (sul_child_start(&c, &pid, err))
		return -1;
	SUL_ALLOC_GROW(l->jobs, l->n + 1, l->alloc);
	l->jobs[l->n].pid = pid;
	l->jobs[l->n].tag = job->tag;
	l->jobs[l->n].t0 = sul_now_s();
	l->n++;
	snprintf(job_id, SUL_JOB_ID_MAX, "%ld", (long)pid);
	return 0;
}

static int reap(struct local *l, struct sul_job_end *end)
{
	struct rusage ru;
	int status;
	size_t i;
	pid_t pid;

	for (;;) {
		pid = wait4(-1, &status, WNOHANG, &ru);
		if (pid <= 0)
			return 0;
		for (i = 0; i < l->n; i++)
			if (l->jobs[i].pid == pid)
				break;
		if (i == l->n)
			continue;  /* not ours (a test harness's child): ignore */
		memset(end, 0, sizeof(*end));
		end->tag = l->jobs[i].tag;
		end->wall_s = sul_now_s() - l->jobs[i].t0;
		end->cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6
			     + (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
		end->max_rss_kb = ru.ru_maxrss;
		if (WIFSIGNALED(status)) {
			end->signal = WTERMSIG(status);
			end->exit_code = 128 + end->signal;
			snprintf(end->state, sizeof(end->state), "SIGNALED");
		} else {
			end->exit_code = WEXITSTATUS(status);
			snprintf(end->state, sizeof(end->state), "%s", end->exit_code ? "FAILED" : "COMPLETED");
		}
		if (gethostname(end->node, sizeof(end->node)))
			end->node[0] = '\0';
		end->node[sizeof(end->node) - 1] = '\0';
		/* The stage's process group may hold leftovers (a backgrounded command): end them. */
		kill(-pid, SIGKILL);
		l->jobs[i] = l->jobs[--l->n];
		return 1;
	}
}

static int local_wait(struct sul_executor *ex, double timeout_s, struct sul_job_end *end, int *signo,
		      struct sul_err *err)
{
	struct local *l = (struct local *)ex;
	const double deadline = timeout_s >= 0 ? sul_now_s() + timeout_s : 0;
	sigset_t set;

	sul_run_signals(&set);
	for (;;) {
		int sig;

		if (reap(l, end))
			return 1;
		if (!l->n)
			return sul_err_set(err, SUL_ERR_FAIL, "waiting with no job running");
		if (timeout_s < 0) {
			sig = sigwaitinfo(&set, NULL);
		} else {
			/* The signals stay blocked: one that arrives while we are not
			 * in here stays pending and ends the next wait at once. */
			double left = deadline - sul_now_s();
			struct timespec ts;

			if (left <= 0)
				return 2;
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
			sig = sigtimedwait(&set, NULL, &ts);
			if (sig < 0 && errno == EAGAIN)
				return 2;
		}
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			return sul_err_sys(err, "%s", timeout_s < 0 ? "sigwaitinfo" : "sigtimedwait");
		}
		if (sig != SIGCHLD) {
			*signo = sig;
			return 0;
		}
	}
}

/* SIGTERM to each job's process group, then SIGKILL after a grace period. */
static void local_cancel(struct sul_executor *ex)
{
	struct local *l = (struct local *)ex;
	size_t i;
	int round;

	for (i = 0; i < l->n; i++)
		kill(-l->jobs[i].pid, SIGTERM);
	for (round = 0; round < 50; round++) {
		int alive = 0;
		for (i = 0; i < l->n; i++) {
			siginfo_t info;
			memset(&info, 0, sizeof(info));
			/* WNOWAIT: leave the zombie for wait() to report. */
			if (!waitid(P_PID, (id_t)l->jobs[i].pid, &info, WEXITED | WNOHANG | WNOWAIT)
			    && info.si_pid == 0)
				alive = 1;
		}
		if (!alive)
			return;
		usleep(20000);
	}
	for (i = 0; i < l->n; i++)
		kill(-l->jobs[i].pid, SIGKILL);
}

static size_t local_running(const struct sul_executor *ex)
{
	return ((const struct local *)ex)->n;
}

static void local_free(struct sul_executor *ex)
{
	struct local *l = (struct local *)ex;

	free(l->self_exe);
	free(l->jobs);
	free(l);
}

struct sul_executor *sul_executor_local(const char *self_exe, int (*stage_main)(const struct sul_jobfile *d))
{
	struct local *l = sul_xcalloc(1, sizeof(*l));

	l->ex.name = "local";
	l->ex.needs_jobfile = !stage_main;
	l->ex.start = local_start;
	l->ex.wait = local_wait;
	l->ex.cancel = local_cancel;
	l->ex.running = local_running;
	l->ex.free = local_free;
	l->self_exe = sul_xstrdup(self_exe);
	l->stage_main = stage_main;
	snprintf(l->parent_env, sizeof(l->parent_env), "SULCUS_PARENT_PID=%ld", (long)getpid());
	return &l->ex;
}
