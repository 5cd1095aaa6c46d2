/*
 * check_query.c - the read-only query runner (engine/query.c): the one
 * number rule that `sulcus query` and the report share, statements checked
 * before any runs, and rows read with their types.
 */
#include "check_util.h"
#include "../engine/query.h"
#include "../engine/strbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

START_TEST(numbers_round_trip_without_spurious_digits)
{
	static const struct {
		double v;
		const char *s;
	} cases[] = {
		{ 0.5, "0.5" }, { 2.25, "2.25" }, { 0.1, "0.1" }, { 0.1 + 0.2, "0.30000000000000004" },
		{ 1.0 / 3, "0.3333333333333333" }, { 0.98333333, "0.98333333" }, { 3, "3.0" }, { -0.0, "-0.0" },
		{ 1e20, "1e+20" }, { 123456789.5, "123456789.5" }, { 1e-300, "1e-300" }, { INFINITY, "Inf" },
		{ -INFINITY, "-Inf" }, { NAN, "NaN" },
	};
	struct sul_buf b = SUL_BUF_INIT;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sul_buf_reset(&b);
		sul_query_add_number(&b, cases[i].v);
		ck_assert_str_eq(b.buf, cases[i].s);
		if (isfinite(cases[i].v))
			ck_assert(strtod(b.buf, NULL) == cases[i].v);
	}
	sul_buf_release(&b);
}
END_TEST

START_TEST(writes_refused_before_anything_runs)
{
	sqlite3 *db;
	struct sul_query_batch b = SUL_QUERY_BATCH_INIT;
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	ck_assert_int_eq(sul_query_prepare(db, "SELECT 1; -- note\n; SELECT x FROM t; /* end */", &b, &err), 0);
	ck_assert_uint_eq(b.n, 2);
	sul_query_batch_release(&b);
	ck_assert_int_eq(sul_query_prepare(db, "  ;; -- nothing\n", &b, &err), 0);
	ck_assert_uint_eq(b.n, 0);
	ck_assert_int_eq(sul_query_prepare(db, "SELECT 1; DELETE FROM t", &b, &err), -1);
	ck_assert_str_eq(err.msg, "only statements that read are allowed, and this one writes: 'DELETE FROM t'");
	ck_assert_int_eq(err.kind, SUL_ERR_INPUT);
	sul_query_batch_release(&b);
	ck_assert_int_eq(sul_query_prepare(db, "SELECT * FROM nope", &b, &err), -1);
	ck_assert_str_eq(err.msg, "no such table: nope");
	sul_query_batch_release(&b);
	sqlite3_close(db);
}
END_TEST

START_TEST(rows_keep_their_types)
{
	sqlite3 *db;
	struct sul_query_batch b = SUL_QUERY_BATCH_INIT;
	struct sul_query_rows r;
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sqlite3_open(":memory:", &db), SQLITE_OK);
	ck_assert_int_eq(sul_query_prepare(db, "SELECT 7 AS n, 0.1 + 0.2 AS f, NULL AS z, 'x' AS t", &b, &err), 0);
	ck_assert_int_eq(sul_query_read(b.st[0], &r, &err), 0);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_int_eq(r.ncols, 4);
	ck_assert_str_eq(r.names[1], "f");
	ck_assert_str_eq(sul_query_cell(&r, 0, 0)->text, "7");
	ck_assert(sul_query_cell(&r, 0, 0)->num == 7);
	ck_assert_str_eq(sul_query_cell(&r, 0, 1)->text, "0.30000000000000004");
	ck_assert_ptr_null(sul_query_cell(&r, 0, 2)->text);
	ck_assert_int_eq(sul_query_cell(&r, 0, 3)->type, SQLITE_TEXT);
	ck_assert(sul_query_column_is_numeric(&r, 2));
	ck_assert(!sul_query_column_is_numeric(&r, 3));
	sul_query_rows_release(&r);
	sul_query_batch_release(&b);
	/* An error while stepping: no rows, SQLite's message. */
	ck_assert_int_eq(sul_query_prepare(db, "SELECT abs(-9223372036854775807 - 1)", &b, &err), 0);
	ck_assert_int_eq(sul_query_read(b.st[0], &r, &err), -1);
	ck_assert_str_eq(err.msg, "integer overflow");
	ck_assert_uint_eq(r.n, 0);
	sul_query_batch_release(&b);
	sqlite3_close(db);
}
END_TEST

SUL_SUITE(query)
{
	Suite *s = suite_create("query");
	TCase *tc = tcase_create("query");

	tcase_add_test(tc, numbers_round_trip_without_spurious_digits);
	tcase_add_test(tc, writes_refused_before_anything_runs);
	tcase_add_test(tc, rows_keep_their_types);
	suite_add_tcase(s, tc);
	return s;
}
