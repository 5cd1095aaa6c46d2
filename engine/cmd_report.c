/*
 * cmd_report.c - `sulcus report`: a static HTML report of the results
 * database (report.h), from the built-in spec (db/report.cfg) or --spec
 * FILE.  It opens the database read-only, like `query`: a report cannot
 * change the results it shows.
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

enum { OPT_OUT = 256, OPT_SPEC, OPT_RUN, OPT_WORKDIR };

/* The run to report on: run (checked to exist), or the latest; 0 when the
 * database has no run yet. */
static int pick_run(struct sul_db *db, long run, long long *out, struct sul_err *err)
{
	sqlite3_stmt *st;
	int r;

	st = run > 0 ? sul_db_stmt(db, err, "SELECT id FROM runs WHERE id = ?1", "i", (long long)run)
		     : sul_db_stmt(db, err, "SELECT max(id) FROM runs", "");
	if (!st)
		return -1;
	r = sul_db_step(db, st, err);
	if (r < 0)
		return -1;
	if (!r) {
		sqlite3_reset(st);
		return sul_err_set(err, SUL_ERR_INPUT, "report: no run %ld in the database (see `sulcus runs`)", run);
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

int cmd_report(int argc, char **argv, struct sul_err *err)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, OPT_OUT },
		{ "spec", required_argument, NULL, OPT_SPEC },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "workdir", required_argument, NULL, OPT_WORKDIR },
		{ NULL, 0, NULL, 0 },
	};
	const char *out_dir = "report", *spec_file = NULL, *workdir = NULL;
	struct sul_report_ctx ctx;
	struct sul_report *rep = NULL;
	struct sul_workspace ws;
	struct sul_buf spec = SUL_BUF_INIT;
	long run = -1;
	int c, status = 2;

	memset(&ws, 0, sizeof(ws));
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case OPT_OUT: out_dir = optarg; break;
		case OPT_SPEC: spec_file = optarg; break;
		case OPT_WORKDIR: workdir = optarg; break;
		case OPT_RUN: {
			char *end;
			run = strtol(optarg, &end, 10);
			if (!*optarg || *end || run < 1) {
				sul_err_set(err, SUL_ERR_INPUT, "--run: expected a run id, got '%s'", optarg);
				return 2;
			}
			break;
		}
		default:
			sul_err_set(err, SUL_ERR_INPUT, "report: unknown option '%s' (see `sulcus help`)", argv[optind - 1]);
			return 2;
		}
	}
	if (optind != argc) {
		sul_err_set(err, SUL_ERR_INPUT, "report: unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (spec_file && sul_read_file(spec_file, &spec, err)) {
		err->kind = SUL_ERR_INPUT;
		goto out;
	}
	if (sul_report_parse(spec_file ? spec.buf : sul_report_default_spec,
			     spec_file ? spec_file : SUL_REPORT_DEFAULT_SPEC_NAME, &rep, err))
		goto out;
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
	if (pick_run(ws.db, run, &ctx.run_id, err) || sul_report_write(rep, &ctx, out_dir, err)) {
		status = sul_err_exit_code(err);
		goto out;
	}
	printf("report: %s/index.html: %zu sections, %zu images", out_dir, sul_report_nsections(rep), ctx.nimages);
	if (ctx.run_id > 0)
		printf(", run %lld\n", ctx.run_id);
	else
		printf(", no run recorded yet\n");
	status = 0;
out:
	if (ws.root)
		sul_workspace_close(&ws);
	sul_buf_release(&spec);
	sul_report_free(rep);
	return status;
}
