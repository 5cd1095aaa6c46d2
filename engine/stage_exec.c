/* stage_exec.c - run one described stage and publish it (see stage_exec.h). */
#include "stage_exec.h"
#include "cache.h"
#include "jobfile.h"
#include "fault.h"
#include "fsutil.h"
#include "kind.h"
#include "metrics.h"
#include "tables.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

/*
 * When the engine that started us dies (even by SIGKILL), take our whole
 * process group down: an orphaned stage would otherwise go on computing
 * while the rerun starts the same stage again (t2004-kill-engine).
 */
static void on_parent_death(int sig)
{
	(void)sig;
	kill(0, SIGKILL);
}

static void die_with_parent(void)
{
	const char *ppid = getenv("SULCUS_PARENT_PID");
	struct sigaction sa;

	if (!ppid)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_parent_death;
	sigaction(SIGUSR2, &sa, NULL);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	if (getppid() != (pid_t)strtol(ppid, NULL, 10))
		on_parent_death(0);
}

/*
 * The engine reads out/metrics.tsv and out/timings.tsv into the database
 * after publishing, when it can no longer fail the stage: so a malformed
 * file fails it here.
 */
static int check_metrics(const char *out, struct sul_err *err)
{
	static const char *const files[] = { SUL_METRICS_FILE, SUL_TIMINGS_FILE };
	int ret = 0;
	size_t i;

	for (i = 0; i < 2 && !ret; i++) {
		char *path = sul_xasprintf("%s/%s", out, files[i]);
		struct sul_buf b = SUL_BUF_INIT;
		if (sul_path_exists(path))
			ret = sul_read_file(path, &b, err) || sul_metrics_parse(b.buf, files[i], NULL, NULL, err) ? -1 : 0;
		sul_buf_release(&b);
		free(path);
	}
	return ret;
}

int sul_stage_exec_job(const struct sul_jobfile *d, struct sul_err *err)
{
	struct sul_stage_ctx ctx;
	const struct sul_kind *kind;
	char *out = NULL;
	sul_hex digest;
	int ret = -1;

	die_with_parent();
	kind = sul_kind_find(d->kind);
	if (!kind) {
		sul_err_set(err, SUL_ERR_FAIL, "unknown kind '%s' (is this the same sulcus as the engine's?)",
			    d->kind);
		goto report;
	}
	if (kind->version != d->version) {
		sul_err_set(err, SUL_ERR_FAIL, "kind '%s' is version %d here, the engine expected %d",
			    d->kind, kind->version, d->version);
		goto report;
	}
	out = sul_xasprintf("%s/out", d->staging);
	if (sul_rmtree(d->staging, err) || sul_mkdirs(out, err))
		goto report;
	if (chdir(d->workdir)) {
		sul_err_sys(err, "cannot enter '%s'", d->workdir);
		goto report;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = d->id;
	ctx.out = out;
	ctx.workdir = d->workdir;
	ctx.params = d->params;
	ctx.nparams = d->nparams;
	ctx.keys = d->keys;
	ctx.nkeys = d->nkeys;
	ctx.inputs = d->inputs;
	ctx.ninputs = d->ninputs;
	if (kind->run(&ctx, err) || check_metrics(out, err) || sul_tables_check(kind, out, err))
		goto report;
	fflush(NULL);
	if (sul_cache_publish(d->staging, d->cache, d->key, digest, err)) {
		sul_err_prefix(err, "publishing the output");
		goto report;
	}
	sul_fault_crash("stage-after-publish");
	ret = 0;
report:
	if (ret) {
		struct sul_err ignored = SUL_ERR_INIT;
		/* main() prints err into the stage's log once we return. */
		sul_rmtree(d->staging, &ignored);
	}
	/* The result comes last: it is what tells the engine the stage finished. */
	if (sul_result_write(d->result, ret == 0, err->msg, err))
		ret = -1;
	free(out);
	return ret;
}

int sul_stage_exec(const char *jobfile_path, struct sul_err *err)
{
	struct sul_jobfile d;
	int ret;

	if (sul_jobfile_read(jobfile_path, &d, err))
		return -1;
	ret = sul_stage_exec_job(&d, err);
	sul_jobfile_release(&d);
	return ret;
}

int sul_stage_main(const struct sul_jobfile *d)
{
	struct sul_err err = SUL_ERR_INIT;

	if (!sul_stage_exec_job(d, &err))
		return 0;
	fflush(stdout);
	if (err.msg[0])
		fprintf(stderr, "sulcus: %s\n", err.msg);
	return 1;
}
