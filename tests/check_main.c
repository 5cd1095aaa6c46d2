/* check_main.c - the unit test runner: every suite, one report. */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/schema.h"
#include "../engine/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *dirs[256];
static size_t ndirs;
static struct sul_param *param_sets[64];
static size_t param_counts[64], nparam_sets;

char *tu_tmpdir(void)
{
	char tmpl[] = "/tmp/sulcus-unit-XXXXXX";
	char *d = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(d);
	d = sul_xstrdup(d);
	if (ndirs < 256)
		dirs[ndirs++] = d;
	return d;
}

struct sul_param *tu_params(const struct sul_kind *kind, size_t *n, ...)
{
	const char *assign[64];
	struct sul_err err = SUL_ERR_INIT;
	struct sul_param *p;
	size_t na = 0;
	va_list ap;

	va_start(ap, n);
	while (na < 64 && (assign[na] = va_arg(ap, const char *)))
		na++;
	va_end(ap);
	ck_assert_msg(sul_schema_params(kind, assign, na, &p, n, &err) == 0, "%s", err.msg);
	if (nparam_sets < 64) {
		param_sets[nparam_sets] = p;
		param_counts[nparam_sets++] = *n;
	}
	return p;
}

void tu_cleanup(void)
{
	struct sul_err err = SUL_ERR_INIT;

	while (nparam_sets) {
		nparam_sets--;
		sul_params_free(param_sets[nparam_sets], param_counts[nparam_sets]);
	}
	while (ndirs) {
		char *d = dirs[--ndirs];
		sul_rmtree(d, &err);
		free(d);
	}
}

const char *tu_write(const char *dir, const char *name, const char *text)
{
	static char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
	return path;
}

/* Every SUL_SUITE of tests/check_*.c, found by the Makefile
 * (build/gen/suites.c): a new test file registers nothing. */
extern Suite *(*const sul_test_suites[])(void);

int main(void)
{
	SRunner *sr = srunner_create(NULL);
	size_t i;
	int failed;

	for (i = 0; sul_test_suites[i]; i++)
		srunner_add_suite(sr, sul_test_suites[i]());

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
