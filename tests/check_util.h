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

Suite *suite_value(void);
Suite *suite_template(void);
Suite *suite_workflow(void);
Suite *suite_cache(void);
Suite *suite_db(void);
Suite *suite_desc(void);
Suite *suite_stages(void);
Suite *suite_bias(void);
Suite *suite_synth(void);
Suite *suite_slices(void);
Suite *suite_coregister(void);
Suite *suite_netcfg(void);
Suite *suite_darknet(void);
Suite *suite_heatmap(void);
Suite *suite_gradcam(void);
Suite *suite_report(void);
Suite *suite_progress(void);

#endif
