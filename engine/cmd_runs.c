/*
 * cmd_runs.c - `sulcus runs` (the runs recorded, one line each) and `sulcus
 * show STAGE` (one stage's latest execution: its provenance, inputs, files,
 * artifacts and metrics).  They open the database read-only: nothing here
 * can change it.
 */
#include "cmd.h"
#include "db.h"
#include "dbargs.h"
#include "fsutil.h"
#include "query_print.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cmd_runs(int argc, char **argv, struct sul_err *err)
{
	static const char sql[] =
		"SELECT r.id AS run, r.started_at AS started, "
		"  printf('%.1f', (julianday(coalesce(r.finished_at, r.started_at)) - julianday(r.started_at)) * 86400) AS seconds, "
		"  r.status, r.workflow_name AS workflow, "
		"  sum(e.status = 'ran') AS ran, sum(e.status = 'cached') AS cached, "
		"  sum(e.status = 'failed') AS failed, sum(e.status = 'skipped') AS skipped, "
		"  CASE r.overrides WHEN '[]' THEN '' ELSE r.overrides END AS overrides "
		"FROM runs r LEFT JOIN executions e ON e.run_id = r.id "
		"GROUP BY r.id ORDER BY r.id";
	struct sul_dbargs a;
	struct sul_workspace ws;
	struct sul_db *db = NULL;
	sqlite3_stmt *st;
	int status = 3;

	if (sul_dbargs_parse(argc, argv, "dwcj", &a, err))
		return 2;
	if (a.first_arg != argc) {
		sul_err_set(err, SUL_ERR_INPUT, "runs: unexpected argument '%s'", argv[a.first_arg]);
		return 2;
	}
	if (sul_dbargs_open(&a, &ws, &db, err))
		return sul_err_exit_code(err);
	st = sul_db_stmt(db, err, sql, "");
	if (st && sul_query_print(st, a.fmt, stdout, err) == 0)
		status = 0;
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

int cmd_show(int argc, char **argv, struct sul_err *err)
{
	struct sul_dbargs a;
	struct sul_workspace ws;
	struct sul_db *db = NULL;
	sqlite3_stmt *st;
	long long exec_id;
	const char *stage;
	int status = 3, r;

	if (sul_dbargs_parse(argc, argv, "dwr", &a, err))
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
		if (!r)
			sul_err_set(err, SUL_ERR_INPUT, "show: no recorded execution of stage '%s'%s", stage,
				    a.run > 0 ? " in that run" : "");
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
	sqlite3_reset(st);
	if (print_query(db, "inputs",
			"SELECT j.key AS input, j.value AS digest FROM executions e, json_each(e.inputs_json) j "
			"WHERE e.id = ?1",
			exec_id, err)
	    || print_query(db, "files",
			   "SELECT j.key AS path, j.value AS digest FROM executions e, json_each(e.files_json) j "
			   "WHERE e.id = ?1",
			   exec_id, err)
	    || print_query(db, "artifacts",
			   "SELECT a.path, a.bytes, a.sha256 FROM executions e JOIN artifacts a "
			   "ON a.cache_key = e.cache_key WHERE e.id = ?1 ORDER BY a.path",
			   exec_id, err)
	    || print_query(db, "metrics",
			   "SELECT m.name, count(*) AS n, min(m.step) AS first_step, max(m.step) AS last_step, "
			   "  (SELECT value FROM metrics x WHERE x.cache_key = m.cache_key AND x.name = m.name "
			   "   ORDER BY x.step DESC LIMIT 1) AS last_value "
			   "FROM executions e JOIN metrics m ON m.cache_key = e.cache_key WHERE e.id = ?1 "
			   "GROUP BY m.name ORDER BY m.name",
			   exec_id, err))
		goto out;
	status = 0;
out:
	sul_dbargs_close(&ws, db);
	return status;
}
