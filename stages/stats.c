/*
 * stats.c - statistics for evaluation and heatmap kinds; see stats.h.
 */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

static int cmp_score(const void *a, const void *b)
{
	double x = ((const struct sul_score *)a)->p, y = ((const struct sul_score *)b)->p;
	return (x > y) - (x < y);
}

double sul_auc(struct sul_score *s, size_t n)
{
	double rank_sum = 0;
	size_t i = 0, npos = 0;

	qsort(s, n, sizeof(*s), cmp_score);
	while (i < n) {
		size_t j = i, k;
		while (j < n && s[j].p == s[i].p)
			j++;
		/* Ranks i+1..j share their mean. */
		for (k = i; k < j; k++)
			if (s[k].pos)
				rank_sum += (double)(i + 1 + j) / 2.0;
		i = j;
	}
	for (i = 0; i < n; i++)
		npos += (size_t)s[i].pos;
	if (!npos || npos == n)
		return NAN;
	return (rank_sum - (double)npos * (npos + 1) / 2.0) / ((double)npos * (double)(n - npos));
}
