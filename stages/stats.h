/*
 * stats.h - the statistics the evaluation and heatmap kinds report: ROC AUC
 * by ranks.  Not a kind.
 */
#ifndef SUL_STATS_H
#define SUL_STATS_H

#include <stddef.h>

struct sul_score {
	double p;   /* the classifier's score */
	int pos;    /* 1: a positive example */
};

/* Area under the ROC curve of the scores (Mann-Whitney U / (P N), ties
 * counted one half); sorts s.  NaN without positives or negatives. */
double sul_auc(struct sul_score *s, size_t n);

#endif
