/* check_value.c - typed values: parsing, canonical and JSON renderings. */
#include "check_util.h"
#include "../engine/value.h"

#include <stdlib.h>

START_TEST(parse_infers_types)
{
	struct sul_value v = { SUL_T_NONE, 0, 0, NULL };
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sul_value_parse("42", SUL_T_NONE, &v, &err), 0);
	ck_assert_int_eq(v.type, SUL_T_INT);
	ck_assert_int_eq(v.i, 42);
	ck_assert_int_eq(sul_value_parse("0.5", SUL_T_NONE, &v, &err), 0);
	ck_assert_int_eq(v.type, SUL_T_FLOAT);
	ck_assert_double_eq(v.f, 0.5);
	ck_assert_int_eq(sul_value_parse("true", SUL_T_NONE, &v, &err), 0);
	ck_assert_int_eq(v.type, SUL_T_BOOL);
	ck_assert_int_eq(sul_value_parse("vgg16", SUL_T_NONE, &v, &err), 0);
	ck_assert_int_eq(v.type, SUL_T_STRING);
	ck_assert_str_eq(v.s, "vgg16");
	sul_value_clear(&v);
}
END_TEST

START_TEST(parse_typed_errors)
{
	struct sul_value v = { SUL_T_NONE, 0, 0, NULL };
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sul_value_parse("3.5", SUL_T_INT, &v, &err), -1);
	ck_assert_str_eq(err.msg, "expected an integer, got '3.5'");
	ck_assert_int_eq(err.kind, SUL_ERR_INPUT);
	ck_assert_int_eq(sul_value_parse("yes", SUL_T_BOOL, &v, &err), -1);
	ck_assert_str_eq(err.msg, "expected true or false, got 'yes'");
	ck_assert_int_eq(sul_value_parse("nan", SUL_T_FLOAT, &v, &err), -1);
	ck_assert_str_eq(err.msg, "expected a finite decimal number, got 'nan'");
	ck_assert_int_eq(sul_value_parse("0x10", SUL_T_INT, &v, &err), -1);
	ck_assert_str_eq(err.msg, "expected an integer, got '0x10'");
	ck_assert_int_eq(sul_value_parse("010", SUL_T_INT, &v, &err), 0);
	ck_assert_int_eq(v.i, 10);
}
END_TEST

START_TEST(canonical_distinguishes_types)
{
	struct sul_value i = { SUL_T_INT, 1, 0, NULL }, f = { SUL_T_FLOAT, 0, 1.0, NULL };
	struct sul_value s = { SUL_T_STRING, 0, 0, (char *)"1" };
	struct sul_buf a = SUL_BUF_INIT, b = SUL_BUF_INIT, c = SUL_BUF_INIT;

	sul_value_canon(&i, &a);
	sul_value_canon(&f, &b);
	sul_value_canon(&s, &c);
	ck_assert_str_eq(a.buf, "i:1");
	ck_assert_str_eq(b.buf, "f:1.0");
	ck_assert_str_eq(c.buf, "s:1");
	sul_buf_release(&a);
	sul_buf_release(&b);
	sul_buf_release(&c);
}
END_TEST

START_TEST(doubles_round_trip_shortest)
{
	static const double cases[] = { 0.1, 1e-5, 123456789.125, 2.0 / 3.0, -0.0001 };
	size_t k;

	for (k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct sul_buf b = SUL_BUF_INIT;
		sul_format_double(cases[k], &b);
		ck_assert_double_eq(strtod(b.buf, NULL), cases[k]);
		sul_buf_release(&b);
	}
	{
		struct sul_buf b = SUL_BUF_INIT;
		sul_format_double(0.1, &b);
		ck_assert_str_eq(b.buf, "0.1");
		sul_buf_release(&b);
	}
}
END_TEST

START_TEST(json_escapes)
{
	struct sul_value s = { SUL_T_STRING, 0, 0, (char *)"a\"b\\c\n" };
	struct sul_buf b = SUL_BUF_INIT;

	sul_value_json(&s, &b);
	ck_assert_str_eq(b.buf, "\"a\\\"b\\\\c\\n\"");
	sul_buf_release(&b);
}
END_TEST

START_TEST(shell_quoting)
{
	struct sul_buf b = SUL_BUF_INIT;

	sul_buf_add_shell_quoted(&b, "/plain/path-1.txt");
	sul_buf_adds(&b, " ");
	sul_buf_add_shell_quoted(&b, "it's a b");
	sul_buf_adds(&b, " ");
	sul_buf_add_shell_quoted(&b, "");
	ck_assert_str_eq(b.buf, "/plain/path-1.txt 'it'\\''s a b' ''");
	sul_buf_release(&b);
}
END_TEST

SUL_SUITE(value)
{
	Suite *s = suite_create("value");
	TCase *tc = tcase_create("value");

	tcase_add_test(tc, parse_infers_types);
	tcase_add_test(tc, parse_typed_errors);
	tcase_add_test(tc, canonical_distinguishes_types);
	tcase_add_test(tc, doubles_round_trip_shortest);
	tcase_add_test(tc, json_escapes);
	tcase_add_test(tc, shell_quoting);
	suite_add_tcase(s, tc);
	return s;
}
