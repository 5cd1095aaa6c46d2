/* metrics.c - parsing metrics.tsv and timings.tsv (see metrics.h). */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int sul_metrics_parse(char *text, const char *file, sul_metric_fn fn, void *ctx, struct sul_err *err)
{
	char *line, *next;
	int lineno = 0;

	for (line = text; *line; line = next) {
		char *t1, *t2, *end;
		long long step = 0;
		double value;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		lineno++;
		t1 = strchr(line, '\t');
		t2 = t1 ? strchr(t1 + 1, '\t') : NULL;
		if (!t1 || !t2 || t1 == line || strchr(t2 + 1, '\t'))
			return sul_err_set(err, SUL_ERR_FAIL, "%s:%d: expected NAME<TAB>STEP<TAB>VALUE "
				    "(STEP may be empty), got '%s'", file, lineno, line);
		*t1 = *t2 = '\0';
		if (t2 > t1 + 1) {
			step = strtoll(t1 + 1, &end, 10);
			if (end != t2)
				return sul_err_set(err, SUL_ERR_FAIL, "%s:%d: step: expected an integer, got '%s'",
						   file, lineno, t1 + 1);
		}
		value = strtod(t2 + 1, &end);
		if (!t2[1] || *end || !isfinite(value))
			return sul_err_set(err, SUL_ERR_FAIL, "%s:%d: value: expected a finite number, got '%s'",
					   file, lineno, t2 + 1);
		if (fn && fn(ctx, line, t2 > t1 + 1, step, value, err))
			return -1;
	}
	return 0;
}
