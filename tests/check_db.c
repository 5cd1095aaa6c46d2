/* check_db.c - migrations, read-only opening, statement helper. */
#include "check_util.h"
#include "../engine/db.h"
#include "../engine/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

START_TEST(migrates_new_database)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/s.db", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_db *db;
	sqlite3_stmt *st;

	ck_assert_int_eq(sul_db_open(path, 0, &db, &err), 0);
	st = sul_db_stmt(db, &err, "PRAGMA user_version", "");
	ck_assert_int_eq(sul_db_step(db, st, &err), 1);
	ck_assert_int_eq(sqlite3_column_int(st, 0), sul_db_schema_version());
	sqlite3_reset(st);
	ck_assert_int_eq(sul_db_exec(db, &err, "INSERT INTO metrics (cache_key, name, step, value) VALUES (?1, ?2, ?3, ?4)",
				     "ttid", "k", "loss", 3LL, 0.5),
			 0);
	sul_db_close(db);

	/* Reopening does not migrate twice, and read-only refuses writes. */
	ck_assert_int_eq(sul_db_open(path, SUL_DB_READONLY, &db, &err), 0);
	ck_assert_int_eq(sul_db_exec(db, &err, "DELETE FROM metrics", ""), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "readonly"));
	st = sul_db_stmt(db, &err, "SELECT count(*) FROM metrics", "");
	ck_assert_int_eq(sul_db_step(db, st, &err), 1);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 1);
	sqlite3_reset(st);
	sul_db_close(db);
	free(path);
	tu_cleanup();
}
END_TEST

START_TEST(refuses_newer_schema)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/s.db", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_db *db;
	char expect[512];

	ck_assert_int_eq(sul_db_open(path, 0, &db, &err), 0);
	ck_assert_int_eq(sul_db_exec(db, &err, "PRAGMA user_version = 99", ""), 0);
	sul_db_close(db);
	ck_assert_int_eq(sul_db_open(path, 0, &db, &err), -1);
	snprintf(expect, sizeof(expect),
		 "database '%s' has schema version 99, newer than this sulcus (%d): use a newer sulcus", path,
		 sul_db_schema_version());
	ck_assert_str_eq(err.msg, expect);
	free(path);
	tu_cleanup();
}
END_TEST

/* The schema arrives whole or not at all: a migration that fails (here the
 * last, on a table in its way) leaves version 0 and none of the earlier
 * migrations' tables, so no reader ever sees a schema half-way; and a
 * reader of a database whose schema is not committed yet is told so. */
START_TEST(migrations_are_one_transaction)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/s.db", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_db *db;
	sqlite3 *raw;
	sqlite3_stmt *st;
	char expect[512];

	ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(raw, "CREATE TABLE kind_tables (x)", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sul_db_open(path, SUL_DB_READONLY, &db, &err), -1);
	snprintf(expect, sizeof(expect), "database '%s' holds no results yet: the first `sulcus run` is creating it",
		 path);
	ck_assert_str_eq(err.msg, expect);
	ck_assert_int_eq(sul_db_open(path, 0, &db, &err), -1);
	ck_assert_msg(strstr(err.msg, "migrating to schema version 5") != NULL, "%s", err.msg);
	ck_assert_int_eq(sqlite3_prepare_v2(raw, "SELECT (SELECT user_version FROM pragma_user_version), "
					    "(SELECT count(*) FROM sqlite_master WHERE name IN ('runs', 'jobs'))",
					    -1, &st, NULL),
			 SQLITE_OK);
	ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
	ck_assert_int_eq(sqlite3_column_int(st, 0), 0);
	ck_assert_int_eq(sqlite3_column_int(st, 1), 0);
	sqlite3_finalize(st);
	sqlite3_close(raw);
	free(path);
	tu_cleanup();
}
END_TEST

SUL_SUITE(db)
{
	Suite *s = suite_create("db");
	TCase *tc = tcase_create("db");

	tcase_add_test(tc, migrates_new_database);
	tcase_add_test(tc, refuses_newer_schema);
	tcase_add_test(tc, migrations_are_one_transaction);
	suite_add_tcase(s, tc);
	return s;
}
