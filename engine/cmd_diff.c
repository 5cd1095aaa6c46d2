/*
 * cmd_diff.c - `sulcus diff [RUN_A [RUN_B]]`: what differs between two runs,
 * stage by stage: the stages only one of them has, the parameters whose
 * values differ, the inputs whose output digests differ (what made a stage
 * rerun), and every final metric side by side with its change.  Default:
 * the last two runs.  One result set, so --csv and --json print it as
 * `sulcus query` does; the SQL below does the comparing.
 */
#include "cmd.h"
#include "db.h"
#include "dbargs.h"
#include "query.h"
#include "query_print.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * :a and :b are run ids, :glob filters stage ids.  A stage's final metric is
 * its value without a step, or at its last step.  Parameters and inputs
 * compare as JSON text; inputs show the first 12 digits of the digest.
 */
static const char diff_sql[] =
	"WITH a AS (SELECT * FROM executions WHERE run_id = :a AND stage GLOB :glob), "
	"b AS (SELECT * FROM executions WHERE run_id = :b AND stage GLOB :glob), "
	"s AS (SELECT coalesce(a.stage, b.stage) AS stage, a.kind AS ka, b.kind AS kb, "
	"  a.params_json AS pa, b.params_json AS pb, a.inputs_json AS ia, b.inputs_json AS ib, "
	"  a.cache_key AS ca, b.cache_key AS cb, a.status AS sa, b.status AS sb "
	"  FROM a FULL OUTER JOIN b ON a.stage = b.stage), "
	"fin AS (SELECT m.cache_key, m.name, m.value FROM metrics m "
	"  WHERE m.step IS NULL OR m.step = (SELECT max(x.step) FROM metrics x "
	"    WHERE x.cache_key = m.cache_key AND x.name = m.name)), "
	"rows AS ("
	"  SELECT stage, 1 AS o, 'stage' AS what, '' AS name, "
	"    CASE WHEN ka IS NULL THEN '-' ELSE sa END AS run_a, CASE WHEN kb IS NULL THEN '-' ELSE sb END AS run_b, "
	"    CASE WHEN ka IS NULL THEN 'only in run b' WHEN kb IS NULL THEN 'only in run a' "
	"      ELSE 'kind ' || ka || ' -> ' || kb END AS change "
	"  FROM s WHERE ka IS NULL OR kb IS NULL OR ka <> kb "
	"  UNION ALL "
	/* Parameters and inputs: those of run a (changed or removed), then
	 * those only run b has. */
	"  SELECT s.stage, 2, 'param', x.key, x.value, CASE WHEN y.key IS NULL THEN '-' ELSE y.value END, "
	"    CASE WHEN y.key IS NULL THEN 'removed' "
	"      WHEN x.type IN ('integer', 'real') AND y.type IN ('integer', 'real') "
	"      THEN printf('%+g', y.value - x.value) ELSE 'changed' END "
	"  FROM s, json_each(s.pa) x LEFT JOIN json_each(s.pb) y ON x.key = y.key "
	"  WHERE s.kb IS NOT NULL AND (y.key IS NULL OR x.type IS NOT y.type OR x.value IS NOT y.value) "
	"  UNION ALL "
	"  SELECT s.stage, 2, 'param', y.key, '-', y.value, 'added' "
	"  FROM s, json_each(s.pb) y LEFT JOIN json_each(s.pa) x ON x.key = y.key "
	"  WHERE s.ka IS NOT NULL AND x.key IS NULL "
	"  UNION ALL "
	"  SELECT s.stage, 3, 'input', x.key, substr(x.value, 1, 12), "
	"    CASE WHEN y.key IS NULL THEN '-' ELSE substr(y.value, 1, 12) END, "
	"    CASE WHEN y.key IS NULL THEN 'removed' ELSE 'output changed' END "
	"  FROM s, json_each(s.ia) x LEFT JOIN json_each(s.ib) y ON x.key = y.key "
	"  WHERE s.kb IS NOT NULL AND (y.key IS NULL OR x.value IS NOT y.value) "
	"  UNION ALL "
	"  SELECT s.stage, 3, 'input', y.key, '-', substr(y.value, 1, 12), 'added' "
	"  FROM s, json_each(s.ib) y LEFT JOIN json_each(s.ia) x ON x.key = y.key "
	"  WHERE s.ka IS NOT NULL AND x.key IS NULL "
	"  UNION ALL "
	"  SELECT n.stage, 4, 'metric', n.name, "
	"    CASE WHEN x.name IS NULL THEN '-' ELSE x.value END, CASE WHEN y.name IS NULL THEN '-' ELSE y.value END, "
	"    CASE WHEN x.name IS NULL OR y.name IS NULL THEN '' WHEN x.value = y.value THEN '=' "
	"      ELSE printf('%+.4g', y.value - x.value) END "
	"  FROM (SELECT DISTINCT s.stage, s.ca, s.cb, f.name FROM s JOIN fin f ON f.cache_key IN (s.ca, s.cb)) n "
	"    LEFT JOIN fin x ON x.cache_key = n.ca AND x.name = n.name "
	"    LEFT JOIN fin y ON y.cache_key = n.cb AND y.name = n.name) "
	"SELECT stage, what, name, run_a, run_b, change FROM rows ORDER BY stage, o, name";

/* The id of the run `back` runs before the last one (0: the last), or 0. */
static long nth_last_run(struct sul_db *db, int back, struct sul_err *err)
{
	sqlite3_stmt *q = sul_db_stmt(db, err, "SELECT id FROM runs ORDER BY id DESC LIMIT 1 OFFSET ?1", "I", back);
	long id = 0;

	if (q && sul_db_step(db, q, err) > 0)
		id = (long)sqlite3_column_int64(q, 0);
	if (q)
		sqlite3_reset(q);
	return id;
}

static int run_exists(struct sul_db *db, long id, struct sul_err *err)
{
	sqlite3_stmt *q = sul_db_stmt(db, err, "SELECT 1 FROM runs WHERE id = ?1", "i", (long long)id);
	int r = q ? sul_db_step(db, q, err) : -1;

	if (q)
		sqlite3_reset(q);
	return r;
}

static long parse_run(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v > 0 ? v : -1;
}

int cmd_diff(int argc, char **argv, struct sul_err *err)
{
	struct sul_dbargs a;
	struct sul_workspace ws;
	struct sul_db *db = NULL;
	struct sul_query_batch batch = SUL_QUERY_BATCH_INIT;
	char bind_a[48], bind_b[48], bind_glob[300];
	const char *binds[3] = { bind_a, bind_b, bind_glob };
	long run[2] = { 0, 0 };
	int npos, i, status = 2;

	if (sul_dbargs_parse(argc, argv, "dwcjs", &a, err))
		return 2;
	npos = argc - a.first_arg;
	if (npos > 2) {
		sul_err_set(err, SUL_ERR_INPUT, "diff: expected at most two run ids");
		return 2;
	}
	for (i = 0; i < npos; i++)
		if ((run[i] = parse_run(argv[a.first_arg + i])) < 0) {
			sul_err_set(err, SUL_ERR_INPUT, "diff: expected a run id, got '%s'", argv[a.first_arg + i]);
			return 2;
		}
	if (sul_dbargs_open(&a, &ws, &db, err))
		return sul_err_exit_code(err);
	/* No run given: the last two; one: it against the last. */
	if (npos == 0) {
		run[1] = nth_last_run(db, 0, err);
		run[0] = nth_last_run(db, 1, err);
	} else if (npos == 1) {
		run[1] = nth_last_run(db, 0, err);
	}
	if (err->msg[0]) {
		status = 3;
		goto out;
	}
	if (!run[0] || !run[1]) {
		sul_err_set(err, SUL_ERR_INPUT, "diff: the database holds fewer than two runs");
		goto out;
	}
	for (i = 0; i < 2; i++) {
		int r = run_exists(db, run[i], err);
		if (r <= 0) {
			if (!r)
				sul_err_set(err, SUL_ERR_INPUT, "diff: no run %ld (`sulcus runs` lists them)", run[i]);
			status = r ? 3 : 2;
			goto out;
		}
	}
	snprintf(bind_a, sizeof(bind_a), "a=%ld", run[0]);
	snprintf(bind_b, sizeof(bind_b), "b=%ld", run[1]);
	snprintf(bind_glob, sizeof(bind_glob), "glob=%s", a.stage_glob ? a.stage_glob : "*");
	if (sul_query_prepare(sul_db_handle(db), diff_sql, &batch, err)
	    || sul_query_bind(&batch, binds, 3, err)) {
		sul_err_prefix(err, "diff");
		status = 3;
		goto out;
	}
	if (a.fmt == SUL_QUERY_TABLE)
		printf("run a = %ld, run b = %ld\n", run[0], run[1]);
	if (sul_query_print(batch.st[0], a.fmt, stdout, err)) {
		sul_err_prefix(err, "diff");
		status = 3;
		goto out;
	}
	status = 0;
out:
	sul_query_batch_release(&batch);
	sul_dbargs_close(&ws, db);
	return status;
}
