/*
 * check_tables.c - the tables kinds declare (engine/tables.h): created,
 * filled from a stage's tables/NAME.tsv, rebuilt from the cache when the
 * declaration changes, and refused when two kinds (or a kind and the
 * engine) claim one name.
 */
#include "check_util.h"
#include "../engine/db.h"
#include "../engine/fsutil.h"
#include "../engine/strbuf.h"
#include "../engine/tables.h"

#include <stdlib.h>
#include <string.h>

/* Mutable, so that a test can change the declaration between syncs. */
static struct sul_table_spec alpha_tables[] = {
	{ "alpha", "a row of alpha", "x INTEGER NOT NULL,\n  y TEXT  -- may be NULL", "x" },
	{ NULL, NULL, NULL, NULL },
};
static const struct sul_kind kind_a = { .name = "a", .version = 1, .doc = "a", .tables = alpha_tables };
static const struct sul_table_spec other_alpha[] = {
	{ "alpha", "another alpha", "z REAL", NULL },
	{ NULL, NULL, NULL, NULL },
};
static const struct sul_kind kind_b = { .name = "b", .version = 1, .doc = "b", .tables = other_alpha };
static const struct sul_table_spec engine_name[] = {
	{ "outputs", "a clash with the engine's table", "z REAL", NULL },
	{ NULL, NULL, NULL, NULL },
};
static const struct sul_kind kind_c = { .name = "c", .version = 1, .doc = "c", .tables = engine_name };

static long long count(struct sul_db *db, const char *sql)
{
	struct sul_err err = SUL_ERR_INIT;
	sqlite3_stmt *st = sul_db_stmt(db, &err, sql, "");
	long long n;

	ck_assert_msg(st != NULL, "%s", err.msg);
	ck_assert_int_eq(sul_db_step(db, st, &err), 1);
	n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return n;
}

/* A cache entry of kind a's stage, recorded as a run would: its
 * tables/alpha.tsv, an outputs row and a 'ran' execution. */
static char *cache_entry(struct sul_db *db, const char *cache, const char *key, const char *tsv)
{
	struct sul_err err = SUL_ERR_INIT;
	char *out = sul_xasprintf("%s/%s/out", cache, key), *tables = sul_xasprintf("%s/tables", out);
	char *file = sul_xasprintf("%s/alpha.tsv", tables);

	ck_assert_int_eq(sul_mkdirs(tables, &err), 0);
	ck_assert_int_eq(sul_write_file(file, tsv, strlen(tsv), &err), 0);
	ck_assert_int_eq(sul_db_exec(db, &err,
				     "INSERT OR IGNORE INTO runs (id, workflow, workflow_name, workflow_sha256, argv, "
				     "overrides, executor, started_at, status, host, sulcus_version) VALUES "
				     "(1, 'wf.cfg', 'wf', '', '[]', '[]', 'local', '', 'succeeded', 'h', 'v')",
				     ""),
			 0);
	ck_assert_int_eq(sul_db_exec(db, &err,
				     "INSERT INTO executions (run_id, stage, kind, kind_version, cache_key, status, "
				     "params_json, keys_json, inputs_json, files_json) "
				     "VALUES (1, ?1, 'a', 1, ?1, 'ran', '{}', '{}', '{}', '{}')",
				     "t", key),
			 0);
	ck_assert_int_eq(sul_db_exec(db, &err,
				     "INSERT INTO outputs (cache_key, digest, files, bytes, created_at) "
				     "VALUES (?1, 'd', 1, 1, '')",
				     "t", key),
			 0);
	free(tables);
	free(file);
	return out;
}

START_TEST(declared_tables_are_created_and_filled)
{
	char *dir = tu_tmpdir(), *path = sul_xasprintf("%s/s.db", dir), *cache = sul_xasprintf("%s/cache", dir);
	const struct sul_kind *kinds[] = { &kind_a };
	struct sul_err err = SUL_ERR_INIT;
	struct sul_db *db;
	char *out, *beta;

	ck_assert_int_eq(sul_db_open(path, 0, &db, &err), 0);
	ck_assert_int_eq(sul_tables_sync(db, cache, kinds, 1, &err), 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM pragma_table_info('alpha')"), 3);  /* cache_key, x, y */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM kind_tables WHERE name = 'alpha' AND kind = 'a'"), 1);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'alpha_by_key'"), 1);

	out = cache_entry(db, cache, "k1", "x\ty\n1\tone\n2\t\n");
	ck_assert_int_eq(sul_db_begin(db, &err), 0);
	ck_assert_int_eq(sul_tables_import(db, &kind_a, out, "k1", &err), 0);
	ck_assert_int_eq(sul_db_commit(db, &err), 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM alpha WHERE cache_key = 'k1'"), 2);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM alpha WHERE x = 2 AND y IS NULL"), 1);

	/* Unchanged: the next open keeps the rows. */
	ck_assert_int_eq(sul_tables_sync(db, cache, kinds, 1, &err), 0);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM alpha"), 2);

	/* A file for a table the kind does not declare is an error that names it. */
	beta = sul_xasprintf("%s/tables/beta.tsv", out);
	ck_assert_int_eq(sul_write_file(beta, "x\n1\n", 4, &err), 0);
	free(beta);
	ck_assert_int_eq(sul_tables_import(db, &kind_a, out, "k1", &err), -1);
	ck_assert_msg(strstr(err.msg, "kind 'a' declares no table 'beta' (it declares: alpha)") != NULL, "%s",
		      err.msg);
	sul_db_close(db);
	free(out);
	free(cache);
	free(path);
	tu_cleanup();
}
END_TEST

/* A kind changes its columns by changing its declaration: the table is
 * rebuilt, its rows reloaded from the cache entries still there. */
START_TEST(changed_declaration_rebuilds_from_the_cache)
{
	char *dir = tu_tmpdir(), *path = sul_xasprintf("%s/s.db", dir), *cache = sul_xasprintf("%s/cache", dir);
	const struct sul_kind *kinds[] = { &kind_a };
	struct sul_table_spec saved = alpha_tables[0];
	struct sul_err err = SUL_ERR_INIT;
	struct sul_db *db;
	char *out1, *out2;

	ck_assert_int_eq(sul_db_open(path, 0, &db, &err), 0);
	ck_assert_int_eq(sul_tables_sync(db, cache, kinds, 1, &err), 0);
	out1 = cache_entry(db, cache, "k1", "x\ty\n1\tone\n");
	out2 = cache_entry(db, cache, "k2", "x\ty\n2\ttwo\n3\tthree\n");
	ck_assert_int_eq(sul_tables_import(db, &kind_a, out1, "k1", &err), 0);

	alpha_tables[0].columns = "x INTEGER NOT NULL,\n  y TEXT,\n  z REAL  -- new";
	ck_assert_int_eq(sul_tables_sync(db, cache, kinds, 1, &err), 0);
	alpha_tables[0] = saved;
	ck_assert_int_eq(count(db, "SELECT count(*) FROM pragma_table_info('alpha')"), 4);
	/* Both entries' rows, k2's too although only k1's were imported before. */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM alpha"), 3);
	ck_assert_int_eq(count(db, "SELECT count(*) FROM alpha WHERE cache_key = 'k2' AND z IS NULL"), 2);
	sul_db_close(db);
	free(out1);
	free(out2);
	free(cache);
	free(path);
	tu_cleanup();
}
END_TEST

START_TEST(clashing_declarations_are_refused)
{
	char *dir = tu_tmpdir(), *path = sul_xasprintf("%s/s.db", dir), *cache = sul_xasprintf("%s/cache", dir);
	const struct sul_kind *two[] = { &kind_a, &kind_b }, *engine[] = { &kind_c };
	struct sul_err err = SUL_ERR_INIT;
	struct sul_db *db;

	ck_assert_int_eq(sul_db_open(path, 0, &db, &err), 0);
	ck_assert_int_eq(sul_tables_sync(db, cache, two, 2, &err), -1);
	ck_assert_str_eq(err.msg, "kinds 'a' and 'b' both declare table 'alpha'");
	ck_assert_int_eq(count(db, "SELECT count(*) FROM sqlite_master WHERE name = 'alpha'"), 0);

	sul_err_clear(&err);
	ck_assert_int_eq(sul_tables_sync(db, cache, engine, 1, &err), -1);
	ck_assert_msg(strstr(err.msg, "kind 'c' declares table 'outputs', which the database holds already") != NULL,
		      "%s", err.msg);
	/* The engine's table is intact. */
	ck_assert_int_eq(count(db, "SELECT count(*) FROM pragma_table_info('outputs') WHERE name = 'digest'"), 1);
	sul_db_close(db);
	free(cache);
	free(path);
	tu_cleanup();
}
END_TEST

SUL_SUITE(tables)
{
	Suite *s = suite_create("tables");
	TCase *tc = tcase_create("tables");

	tcase_add_test(tc, declared_tables_are_created_and_filled);
	tcase_add_test(tc, changed_declaration_rebuilds_from_the_cache);
	tcase_add_test(tc, clashing_declarations_are_refused);
	suite_add_tcase(s, tc);
	return s;
}
