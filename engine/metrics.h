/*
 * metrics.h - the metrics files a stage writes in its output folder, one
 * "NAME<TAB>STEP<TAB>VALUE" per line, STEP empty for a single value:
 * `metrics.tsv` for results (accuracy, mutual information, ...) and
 * `timings.tsv` for measurements of the execution itself (images per
 * second, seconds), which differ from run to run and so are left out of the
 * output's digest (cache.c): a rerun that computes the same results keeps
 * its users cached.  The stage process validates both before publishing;
 * the engine then loads both into the database's metrics table.
 */
#ifndef SUL_METRICS_H
#define SUL_METRICS_H

#include "err.h"

/* Called per line; has_step is 0 when STEP was empty.  Non-zero stops. */
typedef int (*sul_metric_fn)(void *ctx, const char *name, int has_step, long long step, double value,
			     struct sul_err *err);

#define SUL_METRICS_FILE "metrics.tsv"
#define SUL_TIMINGS_FILE "timings.tsv"

/*
 * Parses text (modified in place) line by line.  A malformed line fails
 * with "FILE:LINE: ..." saying what was expected; file names the text.
 */
int sul_metrics_parse(char *text, const char *file, sul_metric_fn fn, void *ctx, struct sul_err *err);

#endif
