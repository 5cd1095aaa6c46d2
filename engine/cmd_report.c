/*
 * cmd_report.c - `sulcus report [WORKFLOW]`: a static HTML report of the
 * results database (report.h).  It opens the database read-only, like
 * `query`: a report cannot change the results it shows.
 *
 * The spec is the first of: --spec FILE; the spec beside the workflow file
 * (sul_report_find_spec), the workflow being WORKFLOW or, without it, the
 * file the reported run was started with (as it recorded it, from the
 * current folder); the generic spec built in.  The summary line says which,
 * and where it looked when it fell back: a study whose spec went missing
 * gets a report that says so, rather than no report.
 */
#include "cmd.h"
#include "db.h"
#include "fsutil.h"
#include "report.h"
#include "strbuf.h"
#include "workspace.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STR(x) STR2(x)
#define STR2(x) #x

enum { OPT_OUT = 256, OPT_SPEC, OPT_RUN, OPT_WORKDIR, OPT_COMPARE };

/* The run to report on: run (checked to exist), or the latest; *id is 0
 * when the database has no run yet.  *workflow is the workflow file the
 * run recorded (caller frees; NULL without a run). */
static int pick_run(struct sul_db *db, long run, long long *id, char **workflow, struct sul_err *err)
{
	sqlite3_stmt *st;
	int r;

	*id = 0;
	*workflow = NULL;
	st = run > 0 ? sul_db_stmt(db, err, "SELECT id, workflow FROM runs WHERE id = ?1", "i", (long long)run)
		     : sul_db_stmt(db, err, "SELECT id, workflow FROM runs ORDER BY id DESC LIMIT 1", "");
	if (!st)
		return -1;
	r = sul_db_step(db, st, err);
	if (r < 0)
		return -1;
	if (!r) {
		sqlite3_reset(st);
		if (run > 0)
			return sul_err_set(err, SUL_ERR_INPUT, "report: no run %ld in the database (see `sulcus runs`)",
					   run);
		return 0;
	}
	*id = sqlite3_column_int64(st, 0);
	*workflow = sul_xstrdup(sul_db_text(st, 1));
	sqlite3_reset(st);
	return 0;
}

/* Reads and parses the spec at path. */
static int load_spec(const char *path, struct sul_report **rep, struct sul_err *err)
{
	struct sul_buf text = SUL_BUF_INIT;
	int ret = -1;

	if (sul_read_file(path, &text, err)) {
		err->kind = SUL_ERR_INPUT;
		goto out;
	}
	ret = sul_report_parse(text.buf, path, rep, err);
out:
	sul_buf_release(&text);
	return ret;
}

/*
 * The spec for a report of the run that recorded recorded_wf, when --spec
 * did not name one: the one beside workflow (the argument) or beside
 * recorded_wf, else the generic one.  what gets the summary's words for it.
 */
static int choose_spec(const char *workflow, const char *recorded_wf, struct sul_report **rep, struct sul_buf *what,
		       struct sul_err *err)
{
	const char *wf = workflow ? workflow : recorded_wf;
	struct sul_buf looked_at = SUL_BUF_INIT;
	char *path = wf ? sul_report_find_spec(wf, &looked_at) : NULL;
	int ret;

	if (path) {
		ret = load_spec(path, rep, err);
		sul_buf_addf(what, "spec %s", path);
	} else {
		ret = sul_report_parse(sul_report_generic_spec, SUL_REPORT_GENERIC_SPEC_NAME, rep, err);
		sul_buf_adds(what, "the generic spec");
		if (wf)
			sul_buf_addf(what, ": no %s beside the workflow", looked_at.buf);
	}
	free(path);
	sul_buf_release(&looked_at);
	return ret;
}

int cmd_report(int argc, char **argv, struct sul_err *err)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, OPT_OUT },
		{ "spec", required_argument, NULL, OPT_SPEC },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "compare", required_argument, NULL, OPT_COMPARE },
		{ "workdir", required_argument, NULL, OPT_WORKDIR },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_dir = "report", *spec_file = NULL, *workdir = NULL, *workflow = NULL;
	char *recorded_wf = NULL;
	struct sul_report_ctx ctx;
	struct sul_report *rep = NULL;
	struct sul_workspace ws;
	struct sul_buf what = SUL_BUF_INIT;
	long run = -1, compare = -1;
	int c, status = 2;

	memset(&ws, 0, sizeof(ws));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_OUT: out_dir = optarg; break;
		case OPT_SPEC: spec_file = optarg; break;
		case OPT_WORKDIR: workdir = optarg; break;
		case OPT_RUN:
		case OPT_COMPARE: {
			char *end;
			long v = strtol(optarg, &end, 10);
			if (!*optarg || *end || v < 1) {
				sul_err_set(err, SUL_ERR_INPUT, "--%s: expected a run id, got '%s'",
					    c == OPT_RUN ? "run" : "compare", optarg);
				return 2;
			}
			*(c == OPT_RUN ? &run : &compare) = v;
			break;
		}
		default:
			sul_err_set(err, SUL_ERR_INPUT, "report: unknown option '%s' (see `sulcus help`)", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc)
		workflow = argv[optind++];
	if (optind != argc) {
		sul_err_set(err, SUL_ERR_INPUT, "report: unexpected argument '%s' (one workflow file at most)",
			    argv[optind]);
		return 2;
	}
	if (workflow && !sul_path_exists(workflow)) {
		sul_err_set(err, SUL_ERR_INPUT, "report: no workflow file '%s'", workflow);
		return 2;
	}
	/* A spec named outright is checked before anything is opened. */
	if (spec_file) {
		if (load_spec(spec_file, &rep, err))
			goto out;
		sul_buf_addf(&what, "spec %s", spec_file);
	}
	if (sul_workspace_open(workdir, 0, &ws, err)) {
		status = sul_err_exit_code(err);
		goto out;
	}
	if (!ws.db) {
		sul_err_set(err, SUL_ERR_INPUT, "no database at '%s': run a workflow first", ws.db_path);
		goto out;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.db = sul_db_handle(ws.db);
	ctx.cache_dir = ws.cache_dir;
	ctx.generator = "sulcus " STR(SULCUS_VERSION);
	if (pick_run(ws.db, run, &ctx.run_id, &recorded_wf, err)) {
		status = sul_err_exit_code(err);
		goto out;
	}
	if (compare > 0) {
		char *ignored_wf = NULL;
		int r = pick_run(ws.db, compare, &ctx.other_run_id, &ignored_wf, err);
		free(ignored_wf);
		if (r) {
			sul_err_prefix(err, "--compare");
			status = sul_err_exit_code(err);
			goto out;
		}
	}
	if (!rep && choose_spec(workflow, recorded_wf, &rep, &what, err))
		goto out;
	if (sul_report_write(rep, &ctx, out_dir, err)) {
		status = sul_err_exit_code(err);
		goto out;
	}
	printf("report: %s/index.html: %zu sections, %zu images", out_dir, sul_report_nsections(rep), ctx.nimages);
	if (ctx.nfiles)
		printf(", %zu linked files", ctx.nfiles);
	if (ctx.run_id > 0)
		printf(", run %lld", ctx.run_id);
	else
		printf(", no run recorded yet");
	if (ctx.other_run_id > 0)
		printf(" compared with run %lld", ctx.other_run_id);
	printf(" (%s)\n", what.buf);
	status = 0;
out:
	if (ws.root)
		sul_workspace_close(&ws);
	free(recorded_wf);
	sul_buf_release(&what);
	sul_report_free(rep);
	return status;
}
