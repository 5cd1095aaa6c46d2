/* check_jobfile.c - job files and result files round-trip exactly. */
#include "check_util.h"
#include "../engine/jobfile.h"
#include "../engine/strbuf.h"

#include <stdlib.h>
#include <string.h>

START_TEST(round_trip)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/x.desc", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_param params[3];
	struct sul_input inputs[1] = { { "split", "/c/k/out", "split" } };
	struct sul_jobfile d, r;

	memset(params, 0, sizeof(params));
	params[0].name = (char *)"lr";
	params[0].v.type = SUL_T_FLOAT;
	params[0].v.f = 0.1 + 0.2;  /* not exactly 0.3: must survive */
	params[1].name = (char *)"n";
	params[1].v.type = SUL_T_INT;
	params[1].v.i = 1LL << 40;
	params[2].name = (char *)"s";
	params[2].v.type = SUL_T_STRING;
	params[2].v.s = (char *)"tab\there\nnewline \\ backslash";
	memset(&d, 0, sizeof(d));
	d.id = (char *)"train";
	d.kind = (char *)"command";
	d.version = 2;
	d.key = (char *)"abc";
	d.workdir = (char *)"/w";
	d.staging = (char *)"/w/.sulcus/tmp/abc.1.0";
	d.cache = (char *)"/w/.sulcus/cache";
	d.result = (char *)"/w/.sulcus/tmp/abc.1.0.result";
	d.params = params;
	d.nparams = 3;
	d.keys = params + 2;
	d.nkeys = 1;
	d.inputs = inputs;
	d.ninputs = 1;
	ck_assert_int_eq(sul_jobfile_write(path, &d, &err), 0);
	ck_assert_int_eq(sul_jobfile_read(path, &r, &err), 0);
	ck_assert_str_eq(r.id, "train");
	ck_assert_int_eq(r.version, 2);
	ck_assert_double_eq(r.params[0].v.f, 0.1 + 0.2);
	ck_assert_int_eq(r.params[1].v.i, 1LL << 40);
	ck_assert_str_eq(r.params[2].v.s, "tab\there\nnewline \\ backslash");
	ck_assert_str_eq(r.keys[0].v.s, params[2].v.s);
	ck_assert_str_eq(r.inputs[0].dir, "/c/k/out");
	ck_assert_str_eq(r.inputs[0].kind, "split");
	sul_jobfile_release(&r);
	free(path);
	tu_cleanup();
}
END_TEST

START_TEST(results)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/r", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_buf msg = SUL_BUF_INIT;

	ck_assert_int_eq(sul_result_read(path, &msg), -1);
	ck_assert_int_eq(sul_result_write(path, 0, "bad\tthing\nhappened", &err), 0);
	ck_assert_int_eq(sul_result_read(path, &msg), 0);
	ck_assert_str_eq(msg.buf, "bad\tthing\nhappened");
	ck_assert_int_eq(sul_result_write(path, 1, "", &err), 0);
	ck_assert_int_eq(sul_result_read(path, &msg), 1);
	sul_buf_release(&msg);
	free(path);
	tu_cleanup();
}
END_TEST

SUL_SUITE(jobfile)
{
	Suite *s = suite_create("jobfile");
	TCase *tc = tcase_create("jobfile");

	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, results);
	suite_add_tcase(s, tc);
	return s;
}
