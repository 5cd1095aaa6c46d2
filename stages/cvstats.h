/*
 * cvstats.h - the statistics of cross-validated predictions that the
 * `crossval` kind reports: slice accuracy, loss and macro ROC AUC and
 * subject accuracy of one model's pooled out-of-fold predictions, with
 * every subject counted any number of times (a bootstrap resample of the
 * subjects), and the resampling itself.  Not a kind; no I/O.
 *
 * Subject weights make the bootstrap cheap: a resample is a count per
 * subject, and each slice counts as often as its subject was drawn, so
 * the predictions are never copied and the AUC's sort is done once
 * (sul_cv_prepare) for every resample.
 */
#ifndef SUL_CVSTATS_H
#define SUL_CVSTATS_H

#include <stddef.h>
#include <stdint.h>

struct sul_rng;

/* One model's predictions in one round: every slice of every subject,
 * each predicted by the model of the fold that held it out. */
struct sul_cv_preds {
	size_t nslices, nsubjects;   /* subjects: indices 0..nsubjects-1 of a list shared by every model */
	int classes;
	int *label;                  /* per slice: true class */
	float *probs;                /* per slice: classes probabilities */
	size_t *subject;             /* per slice: its subject */
	/* made by sul_cv_prepare: */
	size_t *order;               /* per class c: the slices by p_c ascending (classes x nslices) */
	double *subj_probs;          /* per subject: mean probabilities over its slices (nsubjects x classes) */
	int *subj_label;             /* per subject: its class; -1 without slices */
};

/* What sul_cv_metrics computes: NaN where undefined (no weight; an AUC
 * without positives or negatives is left out of the macro mean). */
struct sul_cv_metrics {
	double accuracy;             /* slices predicted right (argmax = label) */
	double loss;                 /* mean cross-entropy -log p_label (stats.h sul_xent) */
	double macro_auc;            /* mean over classes of the one-vs-rest ROC AUC of p_c, ties one half */
	double subject_accuracy;     /* subjects whose mean probabilities' argmax is their class */
};

/* Sorts and averages what every resample reuses.  The arrays above must be
 * filled; sul_cv_release frees everything (the caller's arrays too). */
void sul_cv_prepare(struct sul_cv_preds *p);
void sul_cv_release(struct sul_cv_preds *p);

/* The metrics with subject s counted w[s] times (w NULL: once each). */
void sul_cv_metrics(const struct sul_cv_preds *p, const double *w, struct sul_cv_metrics *m);

/* The metric named name ("accuracy", "loss", "macro_auc",
 * "subject_accuracy") of m; NaN for another name.  *higher_better (may be
 * NULL) gets 0 for loss, 1 for the others. */
double sul_cv_metric(const struct sul_cv_metrics *m, const char *name, int *higher_better);

/*
 * A stratified bootstrap resample of n subjects: within each stratum
 * (strata[s] in 0..nstrata-1, -1: never drawn) as many draws with
 * replacement as the stratum has subjects; w[s] gets how often subject s
 * was drawn.  Keeping the class sizes keeps every class's AUC defined.
 */
void sul_cv_resample(const int *strata, size_t n, int nstrata, struct sul_rng *rng, double *w);

/* The q-quantile (0..1) of x[0..n) by linear interpolation between order
 * statistics (R's type 7), NaN values left out; x is not changed. */
double sul_quantile(const double *x, size_t n, double q);

/*
 * The model, fold and round a stage's id names by a pattern such as
 * "eval_{model}_f{fold}_s{seed}": {model} any text, {fold} and {seed}
 * digits, the rest literal; shorter fields are tried first, with
 * backtracking, so that a model named "vgg16_fc" is not cut at its "_f".
 * Returns 1 on a match, *model (malloc'd, replacing what was there) and
 * the numbers of the fields the pattern has; 0 otherwise.
 */
int sul_cv_match(const char *pattern, const char *id, char **model, long *fold, long *seed);

#endif
