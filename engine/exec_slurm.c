/*
 * exec_slurm.c - the Slurm executor: each stage is one batch job that runs
 * `sulcus stage-exec JOBFILE` on a compute node over the shared workspace.
 *
 * The engine submits a stage when its inputs are done (not with
 * --dependency=afterok): a stage's cache key depends on its inputs' output
 * digests, so only after they finish can the engine tell whether the stage
 * must run at all (early cutoff, cache hits).  Jobs are followed by polling
 * `squeue` for their state and `scontrol show job` for the details of the
 * ones that ended; `sacct` is asked only about jobs the controller has
 * forgotten, and only where accounting exists.  Whether a stage succeeded is
 * decided by the scheduler from the stage's result file and the cache; this
 * file only reports what Slurm says happened to the job.
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
#include <time.h>
#include <unistd.h>

struct slurm_job {
	size_t tag;
	char id[SUL_JOB_ID_MAX];
	char mem[32], time[32];  /* requested, for messages */
	int ended;
};

struct slurm {
	struct sul_executor ex;  /* first: the public part */
	char *self_exe;
	struct slurm_job *jobs;
	size_t n, alloc;
	struct sul_job_end *ended;  /* ends found by the last poll, not yet reported */
	size_t nended, ended_alloc;
	double last_change;
	double next_poll;           /* when wait() asks squeue again (0: at once) */
	int sacct;                  /* -1 unknown, 0 no accounting, 1 usable */
};

static int slurm_start(struct sul_executor *ex, const struct sul_job *job, char job_id[SUL_JOB_ID_MAX],
		       struct sul_err *err)
{
	struct slurm *s = (struct slurm *)ex;
	const struct sul_resources *r = job->resources;
	struct sul_buf script = SUL_BUF_INIT, out = SUL_BUF_INIT;
	char *args[64];
	size_t nargs = 0, i, nfree;
	struct slurm_job *sj;
	FILE *f;
	int status, ret = -1;

	/* The script only execs sulcus: everything else is in the description. */
	sul_buf_addf(&script, "#!/bin/sh\n# sulcus stage '%s'\nexec ", job->stage_id);
	sul_buf_add_shell_quoted(&script, s->self_exe);
	sul_buf_adds(&script, " stage-exec ");
	sul_buf_add_shell_quoted(&script, job->jobfile_path);
	sul_buf_addc(&script, '\n');
	f = fopen(job->script_path, "we");
	/* fclose() once, whatever fputs() did: it frees f even when it fails. */
	if (!f || (fputs(script.buf, f) == EOF) + fclose(f)) {
		sul_err_sys(err, "cannot write job script '%s'", job->script_path);
		sul_buf_release(&script);
		return -1;
	}
	sul_buf_release(&script);

	args[nargs++] = sul_xstrdup("sbatch");
	args[nargs++] = sul_xstrdup("--parsable");
	args[nargs++] = sul_xasprintf("--job-name=sulcus-%s", job->stage_id);
	args[nargs++] = sul_xasprintf("--output=%s", job->log_path);
	args[nargs++] = sul_xasprintf("--chdir=%s", job->workdir);
	if (r->cpus)
		args[nargs++] = sul_xasprintf("--cpus-per-task=%ld", r->cpus);
	if (r->mem)
		args[nargs++] = sul_xasprintf("--mem=%s", r->mem);
	if (r->time)
		args[nargs++] = sul_xasprintf("--time=%s", r->time);
	if (r->gpus)
		args[nargs++] = sul_xasprintf("--gpus=%ld", r->gpus);
	if (r->partition)
		args[nargs++] = sul_xasprintf("--partition=%s", r->partition);
	if (r->account)
		args[nargs++] = sul_xasprintf("--account=%s", r->account);
	for (i = 0; i < r->nsbatch && nargs < 60; i++)
		args[nargs++] = sul_xstrdup(r->sbatch[i]);
	args[nargs++] = sul_xstrdup(job->script_path);
	nfree = nargs;
	args[nargs] = NULL;

	if (sul_child_capture((const char *const *)args, &out, &status, err))
		goto out;
	while (out.len && (out.buf[out.len - 1] == '\n' || out.buf[out.len - 1] == ' '))
		out.buf[--out.len] = '\0';
	if (status || !out.len || out.len >= SUL_JOB_ID_MAX || strspn(out.buf, "0123456789;_") == 0) {
		sul_err_set(err, SUL_ERR_FAIL, "sbatch failed (status %d): %s", status, out.buf);
		goto out;
	}
	/* --parsable prints "JOBID" or "JOBID;CLUSTER". */
	out.buf[strcspn(out.buf, ";\n")] = '\0';
	SUL_ALLOC_GROW(s->jobs, s->n + 1, s->alloc);
	sj = &s->jobs[s->n++];
	memset(sj, 0, sizeof(*sj));
	sj->tag = job->tag;
	snprintf(sj->id, sizeof(sj->id), "%s", out.buf);
	snprintf(sj->mem, sizeof(sj->mem), "%s", r->mem ? r->mem : "");
	snprintf(sj->time, sizeof(sj->time), "%s", r->time ? r->time : "");
	snprintf(job_id, SUL_JOB_ID_MAX, "%s", sj->id);
	s->last_change = sul_now_s();
	s->next_poll = 0;
	ret = 0;
out:
	for (i = 0; i < nfree; i++)
		free(args[i]);
	sul_buf_release(&out);
	return ret;
}

/* Finds "KEY=" in an `scontrol show job -o` line; copies its value. */
static void field(const char *line, const char *key, char *out, size_t len)
{
	size_t klen = strlen(key);
	const char *p = line;

	out[0] = '\0';
	while ((p = strstr(p, key))) {
		if ((p == line || p[-1] == ' ') && p[klen] == '=') {
			size_t vlen = strcspn(p + klen + 1, " \n");
			if (vlen >= len)
				vlen = len - 1;
			memcpy(out, p + klen + 1, vlen);
			out[vlen] = '\0';
			return;
		}
		p += klen;
	}
}

/* "[D-]HH:MM:SS" or "MM:SS" to seconds. */
static double parse_duration(const char *s)
{
	long d = 0, parts[3] = { 0, 0, 0 };
	int n = 0;
	const char *dash = strchr(s, '-');
	char *end;

	if (dash) {
		d = strtol(s, NULL, 10);
		s = dash + 1;
	}
	while (*s && n < 3) {
		parts[n++] = strtol(s, &end, 10);
		s = *end == ':' ? end + 1 : end;
		if (!*end)
			break;
	}
	if (n == 3)
		return (double)(d * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]);
	if (n == 2)
		return (double)(d * 86400 + parts[0] * 60 + parts[1]);
	return (double)(d * 86400 + parts[0] * 60);
}

static int terminal(const char *state)
{
	static const char *const live[] = { "PENDING", "RUNNING", "COMPLETING", "CONFIGURING", "SUSPENDED",
					     "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "SIGNALING",
					     "STAGE_OUT", "STOPPED", "RESV_DEL_HOLD" };
	size_t i;

	if (!*state)
		return 0;
	for (i = 0; i < sizeof(live) / sizeof(live[0]); i++)
		if (!strcmp(state, live[i]))
			return 0;
	return 1;
}

/* What Slurm says happened, in words, for jobs that did not complete. */
static void describe(const struct slurm_job *j, struct sul_job_end *e, const char *reason)
{
	const char *st = e->state;
	const char *node = *e->node ? e->node : "no node";

	if (!strcmp(st, "COMPLETED"))
		return;
	if (!strcmp(st, "TIMEOUT"))
		snprintf(e->detail, sizeof(e->detail), "slurm job %s on %s was killed at its time limit (%s)", j->id,
			 node, *j->time ? j->time : "the partition's default");
	else if (!strcmp(st, "OUT_OF_MEMORY"))
		snprintf(e->detail, sizeof(e->detail), "slurm job %s on %s was killed for exceeding its memory limit (%s)",
			 j->id, node, *j->mem ? j->mem : "the default");
	else if (!strcmp(st, "CANCELLED"))
		snprintf(e->detail, sizeof(e->detail), "slurm job %s was cancelled%s%s", j->id,
			 *reason && strcmp(reason, "None") ? ": " : "", strcmp(reason, "None") ? reason : "");
	else if (!strcmp(st, "NODE_FAIL"))
		snprintf(e->detail, sizeof(e->detail), "slurm job %s: node %s failed", j->id, node);
	else
		snprintf(e->detail, sizeof(e->detail), "slurm job %s on %s ended in state %s%s%s", j->id, node, st,
			 *reason && strcmp(reason, "None") ? ", reason " : "", strcmp(reason, "None") ? reason : "");
}

/* The final record of a job the controller still knows; 1 if it has ended. */
static int from_scontrol(struct slurm *s, struct slurm_job *j, struct sul_job_end *e, struct sul_err *err)
{
	const char *argv[] = { "scontrol", "show", "job", "-o", j->id, NULL };
	struct sul_buf out = SUL_BUF_INIT;
	char exit_code[32], runtime[32], reason[128];
	int status, ret = 0;

	(void)s;
	if (sul_child_capture(argv, &out, &status, err)) {
		sul_buf_release(&out);
		return -1;
	}
	if (status) {
		ret = status && strstr(out.buf, "Invalid job id") ? 2 : -1;
		if (ret < 0)
			sul_err_set(err, SUL_ERR_FAIL, "scontrol show job %s: %s", j->id, out.buf);
		sul_buf_release(&out);
		return ret;
	}
	field(out.buf, "JobState", e->state, sizeof(e->state));
	if (terminal(e->state)) {
		field(out.buf, "NodeList", e->node, sizeof(e->node));
		if (!strcmp(e->node, "(null)"))
			e->node[0] = '\0';
		field(out.buf, "ExitCode", exit_code, sizeof(exit_code));
		field(out.buf, "RunTime", runtime, sizeof(runtime));
		field(out.buf, "Reason", reason, sizeof(reason));
		e->exit_code = (int)strtol(exit_code, NULL, 10);
		e->signal = strchr(exit_code, ':') ? (int)strtol(strchr(exit_code, ':') + 1, NULL, 10) : 0;
		if (e->signal && !e->exit_code)
			e->exit_code = 128 + e->signal;
		e->wall_s = parse_duration(runtime);
		describe(j, e, reason);
		ret = 1;
	}
	sul_buf_release(&out);
	return ret;
}

/* For jobs the controller no longer knows: sacct, where accounting exists. */
static void from_sacct(struct slurm *s, struct slurm_job *j, struct sul_job_end *e)
{
	const char *argv[] = { "sacct", "-n", "-X", "-P", "-j", j->id, "-o", "State,ExitCode,NodeList,ElapsedRaw", NULL };
	struct sul_buf out = SUL_BUF_INIT;
	struct sul_err ignored = SUL_ERR_INIT;
	char *f[4];
	int status, k;

	snprintf(e->state, sizeof(e->state), "UNKNOWN");
	if (s->sacct == 0 || sul_child_capture(argv, &out, &status, &ignored) || status || !out.len) {
		s->sacct = 0;
		snprintf(e->detail, sizeof(e->detail), "slurm job %s: the controller forgot it and there is no "
			 "accounting (sacct) to ask", j->id);
		sul_buf_release(&out);
		return;
	}
	s->sacct = 1;
	f[0] = out.buf;
	for (k = 1; k < 4; k++) {
		f[k] = f[k - 1] ? strchr(f[k - 1], '|') : NULL;
		if (f[k])
			*f[k]++ = '\0';
	}
	snprintf(e->state, sizeof(e->state), "%.*s", (int)strcspn(f[0], " \n"), f[0]);
	if (f[1]) {
		e->exit_code = (int)strtol(f[1], NULL, 10);
		e->signal = strchr(f[1], ':') ? (int)strtol(strchr(f[1], ':') + 1, NULL, 10) : 0;
	}
	if (f[2])
		snprintf(e->node, sizeof(e->node), "%.*s", (int)strcspn(f[2], "|\n"), f[2]);
	if (f[3])
		e->wall_s = strtod(f[3], NULL);
	describe(j, e, "");
	sul_buf_release(&out);
}

/* One look at every job in flight: squeue for states, details for the ended ones. */
static int poll_jobs(struct slurm *s, struct sul_err *err)
{
	struct sul_buf ids = SUL_BUF_INIT, out = SUL_BUF_INIT;
	const char *argv[] = { "squeue", "-h", "--states=all", "-o", "%i %T", NULL, NULL };
	char *jobs_arg;
	size_t i;
	int status, ret = -1;

	for (i = 0; i < s->n; i++)
		sul_buf_addf(&ids, "%s%s", i ? "," : "", s->jobs[i].id);
	jobs_arg = sul_xasprintf("--jobs=%s", ids.buf);
	argv[5] = jobs_arg;
	if (sul_child_capture(argv, &out, &status, err))
		goto out;
	/* squeue fails when every listed job is unknown: then ask each one below. */
	for (i = 0; i < s->n; i++) {
		struct slurm_job *j = &s->jobs[i];
		char pat[SUL_JOB_ID_MAX + 2];
		const char *line = NULL, *p;
		struct sul_job_end e;
		int r;

		snprintf(pat, sizeof(pat), "%s ", j->id);
		for (p = out.buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
			if (!strncmp(p, pat, strlen(pat))) {
				line = p + strlen(pat);
				break;
			}
		if (!status && line) {
			char state[32];
			snprintf(state, sizeof(state), "%.*s", (int)strcspn(line, " \n"), line);
			if (!terminal(state))
				continue;
		}
		memset(&e, 0, sizeof(e));
		e.tag = j->tag;
		r = from_scontrol(s, j, &e, err);
		if (r < 0)
			goto out;
		if (r == 0)
			continue;  /* squeue and scontrol disagree for a moment: look again later */
		if (r == 2)
			from_sacct(s, j, &e);
		SUL_ALLOC_GROW(s->ended, s->nended + 1, s->ended_alloc);
		s->ended[s->nended++] = e;
		j->ended = 1;
		s->last_change = sul_now_s();
	}
	/* Drop ended jobs from the in-flight list. */
	for (i = 0; i < s->n;) {
		if (s->jobs[i].ended)
			s->jobs[i] = s->jobs[--s->n];
		else
			i++;
	}
	ret = 0;
out:
	free(jobs_arg);
	sul_buf_release(&ids);
	sul_buf_release(&out);
	return ret;
}

static int slurm_wait(struct sul_executor *ex, double timeout_s, struct sul_job_end *end, int *signo,
		      struct sul_err *err)
{
	struct slurm *s = (struct slurm *)ex;
	const double deadline = timeout_s >= 0 ? sul_now_s() + timeout_s : 0;
	sigset_t set;

	/* Not SIGCHLD: the squeue and scontrol children we reap ourselves raise it. */
	sul_run_signals(&set);
	sigdelset(&set, SIGCHLD);
	for (;;) {
		double now, until, left;
		struct timespec ts;
		int sig;

		if (s->nended) {
			*end = s->ended[0];
			memmove(s->ended, s->ended + 1, --s->nended * sizeof(*s->ended));
			return 1;
		}
		if (!s->n)
			return sul_err_set(err, SUL_ERR_FAIL, "waiting with no job in flight");
		now = sul_now_s();
		/* The pace of polling is kept here, across calls: a caller that
		 * comes back every 250 ms to redraw its progress line must not
		 * make us run squeue every 250 ms. */
		if (now >= s->next_poll) {
			double idle, interval;

			if (poll_jobs(s, err))
				return -1;
			/* Poll often right after a change, then back off to every 2 s. */
			now = sul_now_s();
			idle = now - s->last_change;
			interval = 0.2 + idle / 20;
			if (interval > 2)
				interval = 2;
			s->next_poll = now + interval;
			if (s->nended)
				continue;
		}
		until = timeout_s >= 0 && deadline < s->next_poll ? deadline : s->next_poll;
		left = until - now;
		if (left > 0) {
			ts.tv_sec = (time_t)left;
			ts.tv_nsec = (long)((left - (double)ts.tv_sec) * 1e9);
			sig = sigtimedwait(&set, NULL, &ts);
			if (sig > 0) {
				*signo = sig;
				return 0;
			}
			if (sig < 0 && errno != EAGAIN && errno != EINTR)
				return sul_err_sys(err, "sigtimedwait");
		}
		if (timeout_s >= 0 && sul_now_s() >= deadline)
			return 2;
	}
}

static void slurm_cancel(struct sul_executor *ex)
{
	struct slurm *s = (struct slurm *)ex;
	struct sul_buf out = SUL_BUF_INIT;
	struct sul_err ignored = SUL_ERR_INIT;
	const char **argv;
	size_t i;
	int status;

	if (!s->n)
		return;
	argv = sul_xcalloc(s->n + 2, sizeof(*argv));
	argv[0] = "scancel";
	for (i = 0; i < s->n; i++)
		argv[i + 1] = s->jobs[i].id;
	sul_child_capture(argv, &out, &status, &ignored);
	free(argv);
	sul_buf_release(&out);
}

static size_t slurm_running(const struct sul_executor *ex)
{
	const struct slurm *s = (const struct slurm *)ex;
	return s->n + s->nended;
}

static void slurm_free(struct sul_executor *ex)
{
	struct slurm *s = (struct slurm *)ex;

	free(s->self_exe);
	free(s->jobs);
	free(s->ended);
	free(s);
}

int sul_executor_slurm(const char *self_exe, struct sul_executor **ex, struct sul_err *err)
{
	const char *argv[] = { "sbatch", "--version", NULL };
	struct sul_buf out = SUL_BUF_INIT;
	struct slurm *s;
	int status;

	if (sul_child_capture(argv, &out, &status, err) || status) {
		if (!err->msg[0] || status)
			sul_err_set(err, SUL_ERR_INPUT, "executor 'slurm': sbatch does not work here: %s", out.buf);
		else
			sul_err_prefix(err, "executor 'slurm'");
		err->kind = SUL_ERR_INPUT;
		sul_buf_release(&out);
		return -1;
	}
	sul_buf_release(&out);
	s = sul_xcalloc(1, sizeof(*s));
	s->ex.name = "slurm";
	s->ex.needs_jobfile = 1;
	s->ex.start = slurm_start;
	s->ex.wait = slurm_wait;
	s->ex.cancel = slurm_cancel;
	s->ex.running = slurm_running;
	s->ex.free = slurm_free;
	s->self_exe = sul_xstrdup(self_exe);
	s->sacct = -1;
	*ex = &s->ex;
	return 0;
}
