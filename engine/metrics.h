/*
 * metrics.h - the metrics file a stage writes: `metrics.tsv` in its output
 * folder, one "NAME<TAB>STEP<TAB>VALUE" per line, STEP empty for a single
 * value.  The stage process validates it before publishing; the engine then
 * loads it into the database.
 */
#ifndef SUL_METRICS_H
#define SUL_METRICS_H

#include "err.h"

/* Called per line; has_step is 0 when STEP was empty.  Non-zero stops. */
typedef int (*sul_metric_fn)(void *ctx, const char *name, int has_step, long long step, double value,
			     struct sul_err *err);

/*
 * Parses text (modified in place) line by line.  A malformed line fails
 * with "metrics.tsv:LINE: ..." saying what was expected.
 */
int sul_metrics_parse(char *text, sul_metric_fn fn, void *ctx, struct sul_err *err);

#endif
