/* check_util.h - helpers shared by the Check unit tests. */
#ifndef SUL_CHECK_UTIL_H
#define SUL_CHECK_UTIL_H

#include <check.h>

/* A fresh temporary folder (removed by tu_cleanup). */
char *tu_tmpdir(void);
void tu_cleanup(void);
/* Writes text to DIR/name and returns the path (static storage, valid until the next call). */
const char *tu_write(const char *dir, const char *name, const char *text);

struct sul_kind;
struct sul_param;
/* A stage's parameters as the engine gives them to the kind: the
 * "NAME=VALUE" texts up to NULL through the kind's schema (typed, checked,
 * defaults added, sorted; engine/schema.h).  Freed by tu_cleanup. */
struct sul_param *tu_params(const struct sul_kind *kind, size_t *n, ...);

/* Each tests/check_*.c defines its suite with SUL_SUITE(NAME) at the start
 * of a line, `Suite *suite_NAME(void)`; the Makefile finds them all
 * (build/gen/suites.c), so a new test file registers nothing. */
#define SUL_SUITE(name)              \
	Suite *suite_##name(void);   \
	Suite *suite_##name(void)

#endif
