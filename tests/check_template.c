/* check_template.c - placeholder scanning. */
#include "check_util.h"
#include "../engine/template.h"

#include <stdlib.h>
#include <string.h>

static int upper(void *ctx, const char *name, struct sul_buf *out, struct sul_err *err)
{
	(void)ctx;
	if (!strcmp(name, "keep"))
		return 1;
	if (!strcmp(name, "bad"))
		return sul_err_set(err, SUL_ERR_INPUT, "bad placeholder");
	sul_buf_adds(out, "<");
	sul_buf_adds(out, name);
	sul_buf_adds(out, ">");
	return 0;
}

START_TEST(expands_and_keeps)
{
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sul_template_expand("cp {in.a}/x {out}/y {keep} ${HOME} awk '{print $1}' {{lit}",
					     1, upper, NULL, &b, &err), 0);
	ck_assert_str_eq(b.buf, "cp <in.a>/x <out>/y {keep} ${HOME} awk '{print $1}' {lit}");
	sul_buf_reset(&b);
	ck_assert_int_eq(sul_template_expand("{{x} {keep}", 0, upper, NULL, &b, &err), 0);
	ck_assert_str_eq(b.buf, "{{x} {keep}");
	sul_buf_release(&b);
}
END_TEST

START_TEST(errors_propagate)
{
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_int_eq(sul_template_expand("a {bad} b", 1, upper, NULL, &b, &err), -1);
	ck_assert_str_eq(err.msg, "bad placeholder");
	sul_buf_release(&b);
}
END_TEST

START_TEST(whole)
{
	char *w = sul_template_whole("{params.lr}");

	ck_assert_str_eq(w, "params.lr");
	free(w);
	ck_assert_ptr_null(sul_template_whole("x{params.lr}"));
	ck_assert_ptr_null(sul_template_whole("{params.lr} "));
}
END_TEST

SUL_SUITE(template)
{
	Suite *s = suite_create("template");
	TCase *tc = tcase_create("template");

	tcase_add_test(tc, expands_and_keeps);
	tcase_add_test(tc, errors_propagate);
	tcase_add_test(tc, whole);
	suite_add_tcase(s, tc);
	return s;
}
