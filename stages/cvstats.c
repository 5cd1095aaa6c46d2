/*
 * cvstats.c - statistics of cross-validated predictions; see cvstats.h.
 */
#include "cvstats.h"

#include "../engine/strbuf.h"
#include "rng.h"
#include "stats.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* qsort_r's comparison: slices by their probability of one class. */
struct by_class {
	const float *probs;
	int classes, c;
};

static int cmp_slice(const void *a, const void *b, void *arg)
{
	const struct by_class *k = arg;
	const float pa = k->probs[*(const size_t *)a * k->classes + k->c];
	const float pb = k->probs[*(const size_t *)b * k->classes + k->c];

	return (pa > pb) - (pa < pb);
}

void sul_cv_prepare(struct sul_cv_preds *p)
{
	const int k = p->classes;
	size_t i, *count = sul_xcalloc(p->nsubjects ? p->nsubjects : 1, sizeof(*count));
	int c;

	p->order = sul_xmalloc(sizeof(size_t) * (p->nslices ? p->nslices : 1) * k);
	for (c = 0; c < k; c++) {
		struct by_class key = { p->probs, k, c };
		size_t *o = p->order + (size_t)c * p->nslices;
		for (i = 0; i < p->nslices; i++)
			o[i] = i;
		qsort_r(o, p->nslices, sizeof(*o), cmp_slice, &key);
	}
	p->subj_probs = sul_xcalloc((p->nsubjects ? p->nsubjects : 1) * k, sizeof(double));
	p->subj_label = sul_xmalloc(sizeof(int) * (p->nsubjects ? p->nsubjects : 1));
	for (i = 0; i < p->nsubjects; i++)
		p->subj_label[i] = -1;
	for (i = 0; i < p->nslices; i++) {
		const size_t s = p->subject[i];
		for (c = 0; c < k; c++)
			p->subj_probs[s * k + c] += p->probs[i * k + c];
		p->subj_label[s] = p->label[i];
		count[s]++;
	}
	for (i = 0; i < p->nsubjects; i++)
		for (c = 0; c < k && count[i]; c++)
			p->subj_probs[i * k + c] /= (double)count[i];
	free(count);
}

void sul_cv_release(struct sul_cv_preds *p)
{
	free(p->label);
	free(p->probs);
	free(p->subject);
	free(p->order);
	free(p->subj_probs);
	free(p->subj_label);
	memset(p, 0, sizeof(*p));
}

/* One-vs-rest AUC of class c with slice weights from w (Mann-Whitney:
 * each positive-negative pair weighs the product of their weights, a tie
 * one half), walking the slices in order of p_c. */
static double weighted_auc(const struct sul_cv_preds *p, const double *w, int c)
{
	const size_t *o = p->order + (size_t)c * p->nslices;
	const int k = p->classes;
	double u = 0, neg_below = 0, pos_total = 0;
	size_t i = 0, j;

	while (i < p->nslices) {
		const float v = p->probs[o[i] * k + c];
		double wp = 0, wn = 0;
		for (j = i; j < p->nslices && p->probs[o[j] * k + c] == v; j++) {
			const double wt = w ? w[p->subject[o[j]]] : 1;
			if (p->label[o[j]] == c)
				wp += wt;
			else
				wn += wt;
		}
		u += wp * (neg_below + 0.5 * wn);
		neg_below += wn;
		pos_total += wp;
		i = j;
	}
	return pos_total > 0 && neg_below > 0 ? u / (pos_total * neg_below) : NAN;
}

/* The first class of the largest of k doubles. */
static int argmax_d(const double *x, int k)
{
	int c, best = 0;

	for (c = 1; c < k; c++)
		if (x[c] > x[best])
			best = c;
	return best;
}

void sul_cv_metrics(const struct sul_cv_preds *p, const double *w, struct sul_cv_metrics *m)
{
	const int k = p->classes;
	double n = 0, right = 0, xent = 0, aucs = 0, nauc = 0, sn = 0, sright = 0;
	size_t i;
	int c;

	for (i = 0; i < p->nslices; i++) {
		const double wt = w ? w[p->subject[i]] : 1;
		const float *pr = p->probs + i * k;
		if (!wt)
			continue;
		n += wt;
		right += wt * (sul_argmax(pr, k) == p->label[i]);
		xent += wt * sul_xent(pr[p->label[i]]);
	}
	for (c = 0; c < k; c++) {
		const double a = weighted_auc(p, w, c);
		if (!isnan(a)) {
			aucs += a;
			nauc++;
		}
	}
	for (i = 0; i < p->nsubjects; i++) {
		const double wt = w ? w[i] : 1;
		if (p->subj_label[i] < 0 || !wt)
			continue;
		sn += wt;
		sright += wt * (argmax_d(p->subj_probs + i * k, k) == p->subj_label[i]);
	}
	m->accuracy = n ? right / n : NAN;
	m->loss = n ? xent / n : NAN;
	m->macro_auc = nauc ? aucs / nauc : NAN;
	m->subject_accuracy = sn ? sright / sn : NAN;
}

double sul_cv_metric(const struct sul_cv_metrics *m, const char *name, int *higher_better)
{
	if (higher_better)
		*higher_better = strcmp(name, "loss") != 0;
	if (!strcmp(name, "accuracy"))
		return m->accuracy;
	if (!strcmp(name, "loss"))
		return m->loss;
	if (!strcmp(name, "macro_auc"))
		return m->macro_auc;
	if (!strcmp(name, "subject_accuracy"))
		return m->subject_accuracy;
	return NAN;
}

void sul_cv_resample(const int *strata, size_t n, int nstrata, struct sul_rng *rng, double *w)
{
	size_t *members = sul_xmalloc(sizeof(size_t) * (n ? n : 1)), i, m, d;
	int s;

	memset(w, 0, sizeof(double) * n);
	for (s = 0; s < nstrata; s++) {
		for (i = 0, m = 0; i < n; i++)
			if (strata[i] == s)
				members[m++] = i;
		for (d = 0; d < m; d++)
			w[members[sul_rng_below(rng, m)]] += 1;
	}
	free(members);
}

static int cmp_double(const void *a, const void *b)
{
	const double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double sul_quantile(const double *x, size_t n, double q)
{
	double *y = sul_xmalloc(sizeof(double) * (n ? n : 1)), h, v;
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (!isnan(x[i]))
			y[m++] = x[i];
	if (!m) {
		free(y);
		return NAN;
	}
	qsort(y, m, sizeof(*y), cmp_double);
	h = q * (double)(m - 1);
	i = (size_t)floor(h);
	v = i + 1 < m ? y[i] + (h - (double)i) * (y[i + 1] - y[i]) : y[m - 1];
	free(y);
	return v;
}

int sul_cv_match(const char *pat, const char *s, char **model, long *fold, long *seed)
{
	const char *close;
	size_t nlen, len, n;
	int number;

	if (!*pat)
		return !*s;
	if (*pat != '{' || !(close = strchr(pat, '}')))
		return *pat == *s && sul_cv_match(pat + 1, s + 1, model, fold, seed);
	nlen = (size_t)(close - pat - 1);
	len = strlen(s);
	number = nlen != 5 || strncmp(pat + 1, "model", 5) != 0;
	for (n = 1; n <= len; n++) {
		if (number && !isdigit((unsigned char)s[n - 1]))
			break;
		if (!sul_cv_match(close + 1, s + n, model, fold, seed))
			continue;
		if (!number) {
			free(*model);
			*model = sul_xstrndup(s, n);
		} else if (nlen == 4 && !strncmp(pat + 1, "fold", 4)) {
			*fold = strtol(s, NULL, 10);
		} else {
			*seed = strtol(s, NULL, 10);
		}
		return 1;
	}
	return 0;
}
