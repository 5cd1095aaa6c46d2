/*
 * cmd_runs.c - `sulcus runs` (the runs recorded, one line each) and `sulcus
 * show STAGE` (one stage's latest execution: its provenance, inputs, files,
 * artifacts, folder by folder when there are many, metrics, and its log's
 * last lines, or all of it with --log).  They open the database read-only: nothing here
 * can change it.
 */
#include "cmd.h"
#include "db.h"
#include "dbargs.h"
#include "fsutil.h"
#include "query.h"
#include "query_print.h"
#include "strbuf.h"
#include "suggest.h"
#include "workflow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The runs as SQL: one row each, plus a column per --metric STAGE:NAME (the
 * final value of that metric of that stage in the run: an experiments
 * table), ordered by --sort (a column's name; "-NAME" descending).
 */
static int runs_sql(const struct sul_dbargs *a, struct sul_buf *sql, struct sul_err *err)
{
	size_t i;
	const char *sort = a->sort;
	int desc = sort && sort[0] == '-', found = !sort || !strcmp(sort + desc, "run");

	sul_buf_adds(sql, "SELECT r.id AS run, r.started_at AS started, "
			  "  printf('%.1f', (julianday(coalesce(r.finished_at, r.started_at)) - "
			  "julianday(r.started_at)) * 86400) AS seconds, "
			  "  r.status, r.workflow_name AS workflow, "
			  "  sum(e.status = 'ran') AS ran, sum(e.status = 'cached') AS cached, "
			  "  sum(e.status = 'failed') AS failed, sum(e.status = 'skipped') AS skipped, "
			  "  CASE r.overrides WHEN '[]' THEN '' ELSE r.overrides END AS overrides");
	for (i = 0; i < a->nmetrics; i++) {
		const char *colon = strchr(a->metrics[i], ':');
		char *q = sqlite3_mprintf(", (SELECT m.value FROM executions x JOIN metrics m ON m.cache_key = x.cache_key "
					  "WHERE x.run_id = r.id AND x.stage = %.*Q AND m.name = %Q "
					  "ORDER BY m.step IS NOT NULL, m.step DESC LIMIT 1) AS \"%w\"",
					  (int)(colon - a->metrics[i]), a->metrics[i], colon + 1, a->metrics[i]);
		sul_buf_adds(sql, q);
		sqlite3_free(q);
		found |= sort && !strcmp(sort + desc, a->metrics[i]);
	}
	if (!found)
		return sul_err_set(err, SUL_ERR_INPUT, "runs: --sort '%s': expected run or one of the --metric columns",
				   sort + desc);
	sul_buf_adds(sql, " FROM runs r LEFT JOIN executions e ON e.run_id = r.id GROUP BY r.id");
	if (sort && strcmp(sort + desc, "run")) {
		char *q = sqlite3_mprintf(" ORDER BY \"%w\" IS NULL, \"%w\" %s, r.id", sort + desc, sort + desc,
					  desc ? "DESC" : "ASC");
		sul_buf_adds(sql, q);
		sqlite3_free(q);
	} else {
		sul_buf_addf(sql, " ORDER BY r.id %s", desc ? "DESC" : "ASC");
	}
	return 0;
}

int cmd_runs(int argc, char **argv, struct sul_err *err)
{
	struct sul_dbargs a;
	struct sul_workspace ws;
	struct sul_db *db = NULL;
	struct sul_buf sql = SUL_BUF_INIT;
	struct sul_query_batch batch = SUL_QUERY_BATCH_INIT;
	int status = 3;

	if (sul_dbargs_parse(argc, argv, "dwcjmo", &a, err))
		return 2;
	if (a.first_arg != argc) {
		sul_err_set(err, SUL_ERR_INPUT, "runs: unexpected argument '%s'", argv[a.first_arg]);
		return 2;
	}
	if (runs_sql(&a, &sql, err)) {
		sul_buf_release(&sql);
		return 2;
	}
	if (sul_dbargs_open(&a, &ws, &db, err)) {
		sul_buf_release(&sql);
		return sul_err_exit_code(err);
	}
	if (!sul_query_prepare(sul_db_handle(db), sql.buf, &batch, err)
	    && !sul_query_print(batch.st[0], a.fmt, stdout, err))
		status = 0;
	sul_query_batch_release(&batch);
	sul_buf_release(&sql);
	sul_dbargs_close(&ws, db);
	return status;
}

static int print_query(struct sul_db *db, const char *title, const char *sql, long long exec_id,
		       struct sul_err *err)
{
	sqlite3_stmt *st = sul_db_stmt(db, err, sql, "i", exec_id);

	if (!st)
		return -1;
	printf("\n%s:\n", title);
	return sul_query_print(st, SUL_QUERY_TABLE, stdout, err);
}

static long long artifacts(struct sul_db *db, long long exec_id)
{
	struct sul_err ignored = SUL_ERR_INIT;
	sqlite3_stmt *q = sul_db_stmt(db, &ignored,
				      "SELECT count(*) FROM executions e JOIN artifacts a ON a.cache_key = e.cache_key "
				      "WHERE e.id = ?1",
				      "i", exec_id);
	long long n = q && sul_db_step(db, q, &ignored) > 0 ? sqlite3_column_int64(q, 0) : 0;

	if (q)
		sqlite3_reset(q);
	return n;
}

/* The workflow file the last run read, when it still loads and has stage:
 * its path (caller frees), else NULL. */
static char *workflow_with(struct sul_db *db, const char *stage)
{
	struct sul_err ignored = SUL_ERR_INIT;
	sqlite3_stmt *q = sul_db_stmt(db, &ignored, "SELECT workflow FROM runs ORDER BY id DESC LIMIT 1", "");
	struct sul_workflow wf;
	char *path = NULL;

	if (q && sul_db_step(db, q, &ignored) > 0)
		path = sul_xstrdup(sul_db_text(q, 0));
	if (q)
		sqlite3_reset(q);
	if (!path || sul_workflow_load(path, NULL, 0, &wf, &ignored)) {
		free(path);
		return NULL;
	}
	if (sul_workflow_find(&wf, stage) < 0) {
		free(path);
		path = NULL;
	}
	sul_workflow_release(&wf);
	return path;
}

/* "no recorded execution of stage 'X'": it is in the workflow but never
 * ran, or the closest recorded stage id. */
static void no_such_stage(struct sul_db *db, const char *stage, long run, struct sul_err *err)
{
	char *wf = run > 0 ? NULL : workflow_with(db, stage);

	if (wf) {
		sul_err_set(err, SUL_ERR_INPUT, "show: stage '%s' is in %s but has not run yet", stage, wf);
		free(wf);
		return;
	}
	struct sul_err ignored = SUL_ERR_INIT;
	sqlite3_stmt *q = sul_db_stmt(db, &ignored, "SELECT DISTINCT stage FROM executions", "");
	const char **ids = NULL, *close = NULL;
	size_t n = 0, alloc = 0, i;

	while (q && sul_db_step(db, q, &ignored) > 0) {
		SUL_ALLOC_GROW(ids, n + 1, alloc);
		ids[n++] = sul_xstrdup(sul_db_text(q, 0));
	}
	if (q)
		sqlite3_reset(q);
	if (n)
		close = sul_suggest(stage, ids, n);
	sul_err_set(err, SUL_ERR_INPUT, "show: no recorded execution of stage '%s'%s%s%s%s", stage,
		    run > 0 ? " in that run" : "", close ? " (did you mean '" : "", close ? close : "",
		    close ? "'?)" : n ? "" : ": no stage has run in this workspace yet");
	for (i = 0; i < n; i++)
		free((char *)ids[i]);
	free(ids);
}

/* The log: its last 10 lines (all with whole), or why there is none. */
static void print_log(const char *path, int whole)
{
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	const char *start = NULL, *p;
	size_t lines = 0, skip;

	if (!path || !*path)
		return;
	if (sul_read_file(path, &b, &err)) {
		printf("\nlog: %s\n", err.msg);
		return;
	}
	if (!b.len) {
		printf("\nlog: empty\n");
		sul_buf_release(&b);
		return;
	}
	for (p = b.buf; *p; p++)
		lines += *p == '\n' || !p[1];  /* a last line without its newline counts too */
	skip = whole || lines <= 10 ? 0 : lines - 10;
	for (start = b.buf; skip; start++)
		skip -= *start == '\n';
	printf("\nlog%s:\n%s%s", start == b.buf ? "" : " (last 10 lines; --log for all)", start,
	       b.buf[b.len - 1] != '\n' ? "\n" : "");
	sul_buf_release(&b);
}

int cmd_show(int argc, char **argv, struct sul_err *err)
{
	struct sul_dbargs a;
	struct sul_workspace ws;
	struct sul_db *db = NULL;
	sqlite3_stmt *st;
	long long exec_id;
	const char *stage;
	char *log = NULL;
	int status = 3, r;

	if (sul_dbargs_parse(argc, argv, "dwrl", &a, err))
		return 2;
	if (a.first_arg != argc - 1) {
		sul_err_set(err, SUL_ERR_INPUT, "show: expected one stage id");
		return 2;
	}
	stage = argv[a.first_arg];
	if (sul_dbargs_open(&a, &ws, &db, err))
		return sul_err_exit_code(err);
	st = sul_db_stmt(db, err,
			 "SELECT e.id, e.run_id, e.stage, e.kind, e.kind_version, e.status, e.reason, e.cache_key, "
			 "  e.started_at, e.wall_s, e.cpu_s, e.max_rss_kb, e.exit_code, e.log_path, e.params_json, "
			 "  e.keys_json, r.workflow "
			 "FROM executions e JOIN runs r ON r.id = e.run_id "
			 "WHERE e.stage = ?1 AND (?2 < 0 OR e.run_id = ?2) ORDER BY e.id DESC LIMIT 1",
			 "ti", stage, (long long)a.run);
	if (!st)
		goto out;
	r = sul_db_step(db, st, err);
	if (r <= 0) {
		if (!r) {
			sqlite3_reset(st);
			no_such_stage(db, stage, a.run, err);
		}
		status = r ? 3 : 2;
		goto out;
	}
	exec_id = sqlite3_column_int64(st, 0);
	printf("stage:      %s (kind %s, version %d)\n", sul_db_text(st, 2), sul_db_text(st, 3),
	       sqlite3_column_int(st, 4));
	printf("run:        %lld (%s)\n", (long long)sqlite3_column_int64(st, 1), sul_db_text(st, 16));
	printf("status:     %s%s%s\n", sul_db_text(st, 5), sqlite3_column_text(st, 6) ? ": " : "",
	       sul_db_text(st, 6));
	printf("cache key:  %s\n", sul_db_text(st, 7));
	if (sqlite3_column_text(st, 7)) {
		char *out = sul_xasprintf("%s/cache/%s/out",
					  ws.root ? ws.root : ".sulcus", sul_db_text(st, 7));
		printf("output:     %s%s\n", out, sul_path_exists(out) ? "" : " (not in the cache)");
		free(out);
	}
	printf("started:    %s\n", sul_db_text(st, 8));
	if (sqlite3_column_type(st, 9) != SQLITE_NULL)
		printf("time:       %.2f s wall, %.2f s cpu, %lld KiB peak memory, exit status %d\n",
		       sqlite3_column_double(st, 9), sqlite3_column_double(st, 10),
		       (long long)sqlite3_column_int64(st, 11), sqlite3_column_int(st, 12));
	printf("log:        %s\n", sul_db_text(st, 13));
	printf("params:     %s\n", sul_db_text(st, 14));
	if (strcmp(sul_db_text(st, 15), "{}"))
		printf("settings:   %s\n", sul_db_text(st, 15));
	log = sul_xstrdup(sul_db_text(st, 13));
	sqlite3_reset(st);
	if (print_query(db, "inputs",
			"SELECT j.key AS input, j.value AS digest FROM executions e, json_each(e.inputs_json) j "
			"WHERE e.id = ?1",
			exec_id, err)
	    || print_query(db, "files",
			   "SELECT j.key AS path, j.value AS digest FROM executions e, json_each(e.files_json) j "
			   "WHERE e.id = ?1",
			   exec_id, err)
	    || (artifacts(db, exec_id) <= 20
		? print_query(db, "artifacts",
			      "SELECT a.path, a.bytes, a.sha256 FROM executions e JOIN artifacts a "
			      "ON a.cache_key = e.cache_key WHERE e.id = ?1 ORDER BY a.path",
			      exec_id, err)
		/* Folder by folder: a cam stage writes an overlay per heatmap. */
		: print_query(db, "artifacts, by folder (table artifacts lists each file)",
			      "SELECT CASE f WHEN '' THEN './' ELSE f END AS folder, count(*) AS files, "
			      "  sum(bytes) AS bytes FROM (SELECT rtrim(a.path, replace(a.path, '/', '')) AS f, "
			      "  a.bytes FROM executions e JOIN artifacts a ON a.cache_key = e.cache_key "
			      "  WHERE e.id = ?1) GROUP BY f ORDER BY f",
			      exec_id, err))
	    || print_query(db, "metrics",
			   "SELECT m.name, count(*) AS n, min(m.step) AS first_step, max(m.step) AS last_step, "
			   "  (SELECT value FROM metrics x WHERE x.cache_key = m.cache_key AND x.name = m.name "
			   "   ORDER BY x.step DESC LIMIT 1) AS last_value "
			   "FROM executions e JOIN metrics m ON m.cache_key = e.cache_key WHERE e.id = ?1 "
			   "GROUP BY m.name ORDER BY m.name",
			   exec_id, err))
		goto out;
	print_log(log, a.whole_log);
	status = 0;
out:
	free(log);
	sul_dbargs_close(&ws, db);
	return status;
}
