/*
 * crossval.c - the `crossval` kind: models compared by subject-level k-fold
 * cross-validation, repeated over seeds, with confidence intervals.
 *
 * Inputs: evaluate stages, one per model, fold and round (the pattern
 * `split` with folds = k, fold = f, seed = s; train; evaluate, under a
 * foreach over the three).  Their ids say which is which: `pattern`, e.g.
 * "eval_{model}_f{fold}_s{seed}" ({seed} optional: one round).  Per model
 * and round, the out-of-fold predictions of all folds are pooled (every
 * subject predicted once, by the model that did not see it; a subject in
 * two folds of a round is an error: the folds leak) and scored: slice
 * accuracy, loss and macro AUC, subject accuracy (stages/cvstats.h).  A
 * model's figure is the mean over rounds.
 *
 * Uncertainty comes from the subjects: `bootstrap` resamples of them
 * (stratified by class, the same resample for every model: paired) give
 * each figure its `confidence` interval, each model the probability of
 * being the best by `by`, and each of the `top` leading models a paired
 * difference with every other model, its interval and a two-sided p.  With
 * 38 subjects these intervals are wide: that is the finding they exist
 * for.
 *
 * Outputs: tables cv_models, cv_rounds, cv_comparisons; cv_ranking.tsv
 * (what `rank` reads when given this stage: it then orders its evaluate
 * inputs by the cross-validated figures); metrics per model.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "cvstats.h"
#include "rng.h"
#include "tsv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec crossval_params[] = {
	{ "pattern", SUL_T_STRING, "eval_{model}_f{fold}_s{seed}", 0, 0, NULL,
	  "how the inputs' ids name the model, the fold and the round: {model} any text, {fold} and {seed} "
	  "numbers ({seed} optional: one round)" },
	{ "by", SUL_T_STRING, "loss", 0, 0, "loss|accuracy|macro_auc|subject_accuracy",
	  "the figure that ranks the models and decides which is best (loss: lower is better)" },
	{ "bootstrap", SUL_T_INT, "2000", 100, 1000000, NULL, "bootstrap resamples of the subjects" },
	{ "confidence", SUL_T_FLOAT, "0.95", 0.5, 0.999, NULL, "level of the intervals" },
	{ "top", SUL_T_INT, "2", 1, 1000, NULL, "how many leading models are compared with every other" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "seed of the bootstrap" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

#define NMETRICS 4
static const char *const metric_names[NMETRICS] = { "accuracy", "loss", "macro_auc", "subject_accuracy" };

/* What one input's id says. */
struct cell {
	char *model;
	long fold, seed;
};

static int check_pattern(const char *pat, struct sul_err *err)
{
	const char *fields[3] = { "{model}", "{fold}", "{seed}" }, *p;
	int k, count;

	for (k = 0; k < 3; k++) {
		for (count = 0, p = pat; (p = strstr(p, fields[k])); p++)
			count++;
		if (count > 1 || (k < 2 && !count))
			return sul_err_set(err, SUL_ERR_INPUT, "parameter 'pattern': expected {model} and {fold} once each "
					   "and {seed} at most once, got '%s'", pat);
	}
	for (p = pat; (p = strchr(p, '{')); p++)
		if (strncmp(p, "{model}", 7) && strncmp(p, "{fold}", 6) && strncmp(p, "{seed}", 6))
			return sul_err_set(err, SUL_ERR_INPUT, "parameter 'pattern': unknown field at '%s' (expected "
					   "{model}, {fold}, {seed})", p);
	if (strstr(pat, "}{"))
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'pattern': two fields side by side cannot be told "
				   "apart: '%s'", pat);
	return 0;
}

static int crossval_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	*about = "pattern";
	return check_pattern(sul_ctx_str(ctx, "pattern"), err);
}

/* The distinct values of a list, sorted: models by name, folds and seeds
 * by number. */
struct names {
	char **v;
	size_t n;
};

static size_t name_index(struct names *s, const char *v, int add)
{
	size_t i;

	for (i = 0; i < s->n && strcmp(s->v[i], v); i++)
		;
	if (i == s->n && add) {
		s->v = sul_xrealloc(s->v, sizeof(*s->v) * (s->n + 1));
		s->v[s->n++] = sul_xstrdup(v);
	}
	return i;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_release(struct names *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
}

/* Everything the run holds. */
struct cv {
	const struct sul_stage_ctx *ctx;
	struct cell *cells;          /* per input */
	long *folds, *seeds;         /* distinct, ascending */
	size_t nfolds, nseeds;
	struct names models, subjects, classes;
	struct sul_cv_preds *preds;  /* models x seeds */
	int *strata;                 /* per subject: its class */
};

static int cmp_long(const void *a, const void *b)
{
	const long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static size_t long_index(const long *v, size_t n, long x)
{
	size_t i;

	for (i = 0; i < n && v[i] != x; i++)
		;
	return i;
}

/* Parses every input's id into cv->cells; the models, folds and seeds. */
static int read_ids(struct cv *cv, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = cv->ctx;
	const char *pat = sul_ctx_str(ctx, "pattern");
	size_t i, j;

	cv->cells = sul_xcalloc(ctx->ninputs, sizeof(*cv->cells));
	cv->folds = sul_xmalloc(sizeof(long) * ctx->ninputs);
	cv->seeds = sul_xmalloc(sizeof(long) * ctx->ninputs);
	for (i = 0; i < ctx->ninputs; i++) {
		struct cell *c = &cv->cells[i];
		c->seed = 0;
		if (!sul_cv_match(pat, ctx->inputs[i].id, &c->model, &c->fold, &c->seed))
			return sul_err_set(err, SUL_ERR_INPUT, "input '%s' does not match parameter 'pattern' ('%s')",
					   ctx->inputs[i].id, pat);
		for (j = 0; j < i; j++)
			if (!strcmp(cv->cells[j].model, c->model) && cv->cells[j].fold == c->fold
			    && cv->cells[j].seed == c->seed)
				return sul_err_set(err, SUL_ERR_INPUT, "inputs '%s' and '%s' are both model '%s', fold %ld, "
						   "round %ld", ctx->inputs[j].id, ctx->inputs[i].id, c->model, c->fold,
						   c->seed);
		name_index(&cv->models, c->model, 1);
		if (long_index(cv->folds, cv->nfolds, c->fold) == cv->nfolds)
			cv->folds[cv->nfolds++] = c->fold;
		if (long_index(cv->seeds, cv->nseeds, c->seed) == cv->nseeds)
			cv->seeds[cv->nseeds++] = c->seed;
	}
	qsort(cv->models.v, cv->models.n, sizeof(char *), cmp_name);
	qsort(cv->folds, cv->nfolds, sizeof(long), cmp_long);
	qsort(cv->seeds, cv->nseeds, sizeof(long), cmp_long);
	if (cv->nfolds < 2)
		return sul_err_set(err, SUL_ERR_INPUT, "the inputs hold %zu fold: expected the folds of a "
				   "cross-validation (at least 2)", cv->nfolds);
	/* A complete grid: every model in every fold of every round. */
	for (i = 0; i < cv->models.n * cv->nseeds * cv->nfolds; i++) {
		const char *m = cv->models.v[i / (cv->nseeds * cv->nfolds)];
		const long s = cv->seeds[i / cv->nfolds % cv->nseeds], f = cv->folds[i % cv->nfolds];
		for (j = 0; j < ctx->ninputs; j++)
			if (!strcmp(cv->cells[j].model, m) && cv->cells[j].fold == f && cv->cells[j].seed == s)
				break;
		if (j == ctx->ninputs)
			return sul_err_set(err, SUL_ERR_INPUT, "no input is model '%s', fold %ld, round %ld (parameter "
					   "'pattern' '%s'): every model needs every fold of every round", m, f, s, pat);
	}
	return 0;
}

/* The classes of input i's predictions.tsv (its p_CLASS columns), the
 * same for every input. */
static int read_classes(struct cv *cv, const struct sul_tsv *t, const char *path, struct sul_err *err)
{
	const int first = cv->classes.n == 0;
	size_t c, k = 0;

	for (c = 0; c < t->ncols; c++) {
		const char *h = sul_tsv_at(t, 0, c);
		if (strncmp(h, "p_", 2))
			continue;
		if (first)
			name_index(&cv->classes, h + 2, 1);
		else if (k >= cv->classes.n || strcmp(cv->classes.v[k], h + 2))
			return sul_err_set(err, SUL_ERR_INPUT, "%s: classes differ from the other inputs' (column '%s')",
					   path, h);
		k++;
	}
	if (k != cv->classes.n || k < 2)
		return sul_err_set(err, SUL_ERR_INPUT, "%s: expected p_CLASS columns of the same classes as the other "
				   "inputs", path);
	return 0;
}

/*
 * Reads every input's predictions into the pooled predictions of its model
 * and round, refusing a subject tested in two folds of one round and a
 * subject one model or round lacks.
 */
static int read_predictions(struct cv *cv, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = cv->ctx;
	const size_t np = cv->models.n * cv->nseeds;
	struct sul_tsv *tabs = sul_xcalloc(ctx->ninputs, sizeof(*tabs));
	long *fold_of = NULL;
	size_t i, r, p;
	int ret = -1;

	/* First the subjects and classes of all, so that indices are shared. */
	for (i = 0; i < ctx->ninputs; i++) {
		char *path = sul_xasprintf("%s/predictions.tsv", ctx->inputs[i].dir);
		long scol;
		int bad = sul_tsv_read(path, &tabs[i], err) || read_classes(cv, &tabs[i], path, err);
		scol = bad ? -1 : sul_tsv_col(&tabs[i], "subject");
		if (!bad && (scol < 0 || sul_tsv_col(&tabs[i], "label") < 0))
			bad = sul_err_set(err, SUL_ERR_INPUT, "%s: expected columns 'subject' and 'label' (an evaluate "
					  "stage's predictions)", path) != 0;
		free(path);
		if (bad)
			goto out;
		for (r = 1; r < tabs[i].nrows; r++)
			name_index(&cv->subjects, sul_tsv_at(&tabs[i], r, (size_t)scol), 1);
	}
	qsort(cv->subjects.v, cv->subjects.n, sizeof(char *), cmp_name);
	cv->preds = sul_xcalloc(np, sizeof(*cv->preds));
	cv->strata = sul_xmalloc(sizeof(int) * cv->subjects.n);
	for (i = 0; i < cv->subjects.n; i++)
		cv->strata[i] = -1;
	fold_of = sul_xmalloc(sizeof(long) * cv->subjects.n * np);
	for (i = 0; i < cv->subjects.n * np; i++)
		fold_of[i] = -1;
	for (i = 0; i < ctx->ninputs; i++) {
		const struct cell *c = &cv->cells[i];
		const struct sul_tsv *t = &tabs[i];
		const size_t m = name_index(&cv->models, c->model, 0), s = long_index(cv->seeds, cv->nseeds, c->seed);
		struct sul_cv_preds *pr = &cv->preds[m * cv->nseeds + s];
		const size_t scol = (size_t)sul_tsv_col(t, "subject"), lcol = (size_t)sul_tsv_col(t, "label");
		const int k = (int)cv->classes.n;
		size_t base = pr->nslices, col;
		int cl;

		pr->classes = k;
		pr->nsubjects = cv->subjects.n;
		pr->nslices += t->nrows - 1;
		pr->label = sul_xrealloc(pr->label, sizeof(int) * (pr->nslices ? pr->nslices : 1));
		pr->probs = sul_xrealloc(pr->probs, sizeof(float) * (pr->nslices ? pr->nslices : 1) * k);
		pr->subject = sul_xrealloc(pr->subject, sizeof(size_t) * (pr->nslices ? pr->nslices : 1));
		for (r = 1; r < t->nrows; r++) {
			const size_t sub = name_index(&cv->subjects, sul_tsv_at(t, r, scol), 0), at = base + r - 1;
			long *seen = &fold_of[(m * cv->nseeds + s) * cv->subjects.n + sub];
			if (*seen >= 0 && *seen != c->fold) {
				sul_err_set(err, SUL_ERR_INPUT, "subject '%s' is tested in folds %ld and %ld of model '%s', "
					    "round %ld: the folds overlap (give every split of a round the same seed and "
					    "folds)", cv->subjects.v[sub], *seen, c->fold, c->model, c->seed);
				goto out;
			}
			*seen = c->fold;
			for (cl = 0; cl < k && strcmp(cv->classes.v[cl], sul_tsv_at(t, r, lcol)); cl++)
				;
			if (cl == k) {
				sul_err_set(err, SUL_ERR_INPUT, "%s/predictions.tsv:%zu: label '%s' is not one of the "
					    "classes", ctx->inputs[i].dir, r + 1, sul_tsv_at(t, r, lcol));
				goto out;
			}
			pr->label[at] = cl;
			pr->subject[at] = sub;
			cv->strata[sub] = cl;
			for (col = 0, cl = 0; col < t->ncols; col++) {
				const char *cell = sul_tsv_at(t, r, col);
				char *end;
				float v;
				if (strncmp(sul_tsv_at(t, 0, col), "p_", 2))
					continue;
				v = strtof(cell, &end);
				if (!*cell || *end || !(v >= 0 && v <= 1)) {
					sul_err_set(err, SUL_ERR_INPUT, "%s/predictions.tsv:%zu: column '%s': expected a "
						    "probability, got '%s'", ctx->inputs[i].dir, r + 1,
						    sul_tsv_at(t, 0, col), cell);
					goto out;
				}
				pr->probs[at * k + cl++] = v;
			}
		}
	}
	for (p = 0; p < np; p++)
		for (i = 0; i < cv->subjects.n; i++)
			if (fold_of[p * cv->subjects.n + i] < 0) {
				sul_err_set(err, SUL_ERR_INPUT, "subject '%s' has no prediction from model '%s' in round %ld "
					    "(the other models and rounds test it)", cv->subjects.v[i],
					    cv->models.v[p / cv->nseeds], cv->seeds[p % cv->nseeds]);
				goto out;
			}
	for (p = 0; p < np; p++)
		sul_cv_prepare(&cv->preds[p]);
	ret = 0;
out:
	for (i = 0; i < ctx->ninputs; i++)
		sul_tsv_release(&tabs[i]);
	free(tabs);
	free(fold_of);
	return ret;
}

/* Model m's metrics averaged over the rounds, with subject weights w. */
static void model_metrics(const struct cv *cv, size_t m, const double *w, double out[NMETRICS])
{
	size_t s;
	int k;

	memset(out, 0, sizeof(double) * NMETRICS);
	for (s = 0; s < cv->nseeds; s++) {
		struct sul_cv_metrics mt;
		sul_cv_metrics(&cv->preds[m * cv->nseeds + s], w, &mt);
		for (k = 0; k < NMETRICS; k++)
			out[k] += sul_cv_metric(&mt, metric_names[k], NULL) / (double)cv->nseeds;
	}
}

/* Figures and their bootstrap distributions: point[m][k], boot[(m * B + b) * NMETRICS + k]. */
struct figures {
	double *point, *boot;
	size_t B;
	int by, higher;              /* index of `by`; 1: higher is better */
	size_t *order;               /* models, best first */
	double *p_best;
};

/* 1 when model a beats b on the figure (ties: neither). */
static int better(const struct figures *f, double a, double b)
{
	return f->higher ? a > b : a < b;
}

static int cmp_models(const void *a, const void *b, void *arg)
{
	const struct figures *f = arg;
	const double x = f->point[*(const size_t *)a * NMETRICS + f->by], y = f->point[*(const size_t *)b * NMETRICS + f->by];

	if (better(f, x, y))
		return -1;
	if (better(f, y, x))
		return 1;
	return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

static void compute(const struct cv *cv, struct figures *f)
{
	const size_t nm = cv->models.n;
	double *w = sul_xmalloc(sizeof(double) * cv->subjects.n), now[NMETRICS];
	struct sul_rng rng;
	size_t m, b;

	sul_rng_seed(&rng, (uint64_t)sul_ctx_int(cv->ctx, "seed"));
	f->point = sul_xmalloc(sizeof(double) * nm * NMETRICS);
	f->boot = sul_xmalloc(sizeof(double) * nm * f->B * NMETRICS);
	f->p_best = sul_xcalloc(nm, sizeof(double));
	f->order = sul_xmalloc(sizeof(size_t) * nm);
	for (m = 0; m < nm; m++) {
		model_metrics(cv, m, NULL, f->point + m * NMETRICS);
		f->order[m] = m;
	}
	qsort_r(f->order, nm, sizeof(size_t), cmp_models, f);
	for (b = 0; b < f->B; b++) {
		double best = NAN;
		size_t nbest = 0;
		sul_cv_resample(cv->strata, cv->subjects.n, (int)cv->classes.n, &rng, w);
		for (m = 0; m < nm; m++) {
			model_metrics(cv, m, w, now);
			memcpy(f->boot + (m * f->B + b) * NMETRICS, now, sizeof(now));
			if (isnan(best) || better(f, now[f->by], best))
				best = now[f->by];
		}
		/* Ties for the best share the win. */
		for (m = 0; m < nm; m++)
			nbest += f->boot[(m * f->B + b) * NMETRICS + f->by] == best;
		for (m = 0; m < nm; m++)
			if (f->boot[(m * f->B + b) * NMETRICS + f->by] == best)
				f->p_best[m] += 1.0 / (double)nbest / (double)f->B;
	}
	free(w);
}

/* The interval of figure k of model m (or of a difference in x[0..B)). */
static void interval(double *x, size_t B, double conf, double *lo, double *hi)
{
	*lo = sul_quantile(x, B, (1 - conf) / 2);
	*hi = sul_quantile(x, B, (1 + conf) / 2);
}

static int write_tables(const struct cv *cv, const struct figures *f, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = cv->ctx;
	const double conf = sul_ctx_float(ctx, "confidence");
	const size_t nm = cv->models.n, top = (size_t)sul_ctx_int(ctx, "top");
	struct sul_buf models = SUL_BUF_INIT, rounds = SUL_BUF_INIT, cmp = SUL_BUF_INIT, rank = SUL_BUF_INIT;
	double *x = sul_xmalloc(sizeof(double) * f->B);
	size_t i, j, b, s, m;
	int k, ret = -1, distinct = 1;

	sul_buf_adds(&models, "model\tposition\trounds\tfolds\tsubjects");
	for (k = 0; k < NMETRICS; k++)
		sul_buf_addf(&models, "\t%s\t%s_lo\t%s_hi", metric_names[k], metric_names[k], metric_names[k]);
	sul_buf_adds(&models, "\tp_best\n");
	sul_buf_adds(&rank, "position\tmodel\tloss\taccuracy\tmacro_auc\tsubject_accuracy\tp_best\n");
	for (i = 0; i < nm; i++) {
		m = f->order[i];
		sul_buf_addf(&models, "%s\t%zu\t%zu\t%zu\t%zu", cv->models.v[m], i + 1, cv->nseeds, cv->nfolds,
			     cv->subjects.n);
		for (k = 0; k < NMETRICS; k++) {
			double lo, hi;
			char name[256];
			for (b = 0; b < f->B; b++)
				x[b] = f->boot[(m * f->B + b) * NMETRICS + k];
			interval(x, f->B, conf, &lo, &hi);
			sul_tsv_num(&models, f->point[m * NMETRICS + k]);
			sul_tsv_num(&models, lo);
			sul_tsv_num(&models, hi);
			snprintf(name, sizeof(name), "%s_%s", metric_names[k], cv->models.v[m]);
			/* An undefined figure (an AUC of one class) stays out of the
			 * metrics; the table has it as NULL. */
			if (isfinite(f->point[m * NMETRICS + k])
			    && sul_ctx_metric(ctx, name, -1, f->point[m * NMETRICS + k], err))
				goto out;
		}
		sul_tsv_num(&models, f->p_best[m]);
		sul_buf_addc(&models, '\n');
		sul_buf_addf(&rank, "%zu\t%s", i + 1, cv->models.v[m]);
		sul_tsv_num(&rank, f->point[m * NMETRICS + 1]);
		sul_tsv_num(&rank, f->point[m * NMETRICS + 0]);
		sul_tsv_num(&rank, f->point[m * NMETRICS + 2]);
		sul_tsv_num(&rank, f->point[m * NMETRICS + 3]);
		sul_tsv_num(&rank, f->p_best[m]);
		sul_buf_addc(&rank, '\n');
		{
			char name[256];
			snprintf(name, sizeof(name), "p_best_%s", cv->models.v[m]);
			if (sul_ctx_metric(ctx, name, -1, f->p_best[m], err))
				goto out;
		}
		fprintf(stderr, "crossval: %zu. %s: %s %.4f, P(best) %.3f\n", i + 1, cv->models.v[m],
			metric_names[f->by], f->point[m * NMETRICS + f->by], f->p_best[m]);
	}
	sul_buf_adds(&rounds, "model\tround\taccuracy\tloss\tmacro_auc\tsubject_accuracy\n");
	for (m = 0; m < nm; m++)
		for (s = 0; s < cv->nseeds; s++) {
			struct sul_cv_metrics mt;
			sul_cv_metrics(&cv->preds[m * cv->nseeds + s], NULL, &mt);
			sul_buf_addf(&rounds, "%s\t%ld", cv->models.v[m], cv->seeds[s]);
			for (k = 0; k < NMETRICS; k++)
				sul_tsv_num(&rounds, sul_cv_metric(&mt, metric_names[k], NULL));
			sul_buf_addc(&rounds, '\n');
		}
	/* Each leading model against every other: the paired difference,
	 * signed so that > 0 means the leading model is better. */
	sul_buf_adds(&cmp, "model\tversus\tmetric\tdifference\tci_lo\tci_hi\tp\n");
	for (i = 0; i < top && i < nm; i++)
		for (j = i + 1; j < nm; j++) {
			const size_t a = f->order[i], o = f->order[j];
			const double sign = f->higher ? 1 : -1;
			double lo, hi, le = 0, ge = 0, p;
			for (b = 0; b < f->B; b++) {
				x[b] = sign * (f->boot[(a * f->B + b) * NMETRICS + f->by] - f->boot[(o * f->B + b) * NMETRICS + f->by]);
				le += x[b] <= 0;
				ge += x[b] >= 0;
			}
			/* Counting the observed data as one resample: never p = 0
			 * from a finite number of resamples. */
			p = 2 * ((le < ge ? le : ge) + 1) / ((double)f->B + 1);
			interval(x, f->B, conf, &lo, &hi);
			if (j >= top && !(lo > 0))
				distinct = 0;
			sul_buf_addf(&cmp, "%s\t%s\t%s", cv->models.v[a], cv->models.v[o], metric_names[f->by]);
			sul_tsv_num(&cmp, sign * (f->point[a * NMETRICS + f->by] - f->point[o * NMETRICS + f->by]));
			sul_tsv_num(&cmp, lo);
			sul_tsv_num(&cmp, hi);
			sul_tsv_num(&cmp, p < 1 ? p : 1);
			sul_buf_addc(&cmp, '\n');
		}
	if (nm > top)
		fprintf(stderr, "crossval: the top %zu %s the rest at %.0f%% (paired bootstrap over %zu subjects)\n",
			top, distinct ? "are distinguishable from" : "cannot be told apart from", 100 * conf,
			cv->subjects.n);
	/* No rest to tell the leaders from: not measured. */
	if ((nm > top && sul_ctx_metric(ctx, "top_distinguishable", -1, distinct, err))
	    || sul_ctx_table(ctx, "cv_models", &models, err)
	    || sul_ctx_table(ctx, "cv_rounds", &rounds, err) || sul_ctx_table(ctx, "cv_comparisons", &cmp, err))
		goto out;
	{
		char *path = sul_xasprintf("%s/cv_ranking.tsv", ctx->out);
		int r = sul_write_file_atomic(path, rank.buf, rank.len, err);
		free(path);
		if (r)
			goto out;
	}
	ret = 0;
out:
	free(x);
	sul_buf_release(&models);
	sul_buf_release(&rounds);
	sul_buf_release(&cmp);
	sul_buf_release(&rank);
	return ret;
}

static int crossval_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	struct cv cv;
	struct figures f;
	size_t i;
	int k, ret = -1;

	memset(&cv, 0, sizeof(cv));
	memset(&f, 0, sizeof(f));
	cv.ctx = ctx;
	f.B = (size_t)sul_ctx_int(ctx, "bootstrap");
	for (k = 0; k < NMETRICS && strcmp(metric_names[k], sul_ctx_str(ctx, "by")); k++)
		;
	f.by = k;
	f.higher = strcmp(sul_ctx_str(ctx, "by"), "loss") != 0;
	if (read_ids(&cv, err) || read_predictions(&cv, err))
		goto out;
	fprintf(stderr, "crossval: %zu models, %zu folds, %zu rounds, %zu subjects; %zu bootstrap resamples\n",
		cv.models.n, cv.nfolds, cv.nseeds, cv.subjects.n, f.B);
	compute(&cv, &f);
	ret = write_tables(&cv, &f, err);
out:
	for (i = 0; cv.cells && i < ctx->ninputs; i++)
		free(cv.cells[i].model);
	free(cv.cells);
	free(cv.folds);
	free(cv.seeds);
	for (i = 0; cv.preds && i < cv.models.n * cv.nseeds; i++)
		sul_cv_release(&cv.preds[i]);
	free(cv.preds);
	free(cv.strata);
	names_release(&cv.models);
	names_release(&cv.subjects);
	names_release(&cv.classes);
	free(f.point);
	free(f.boot);
	free(f.p_best);
	free(f.order);
	return ret;
}

static const struct sul_table_spec crossval_tables[] = {
	{ "cv_models", "a model's cross-validated figures: mean over rounds, bootstrap interval over subjects",
	  "model      TEXT NOT NULL,           -- the {model} of the inputs' ids\n"
	  "  position   INTEGER NOT NULL,        -- by the parameter 'by' (1 = best)\n"
	  "  rounds     INTEGER NOT NULL,        -- seeds\n"
	  "  folds      INTEGER NOT NULL,\n"
	  "  subjects   INTEGER NOT NULL,\n"
	  "  accuracy   REAL,                    -- slices, pooled out-of-fold predictions\n"
	  "  accuracy_lo REAL,                   -- the interval (parameter 'confidence')\n"
	  "  accuracy_hi REAL,\n"
	  "  loss       REAL,                    -- mean cross-entropy\n"
	  "  loss_lo    REAL,\n"
	  "  loss_hi    REAL,\n"
	  "  macro_auc  REAL,\n"
	  "  macro_auc_lo REAL,\n"
	  "  macro_auc_hi REAL,\n"
	  "  subject_accuracy REAL,              -- subjects by their mean probabilities\n"
	  "  subject_accuracy_lo REAL,\n"
	  "  subject_accuracy_hi REAL,\n"
	  "  p_best     REAL                     -- share of bootstrap resamples in which it is the best",
	  NULL },
	{ "cv_rounds", "a model's figures in one round (seed) of the cross-validation",
	  "model      TEXT NOT NULL,\n"
	  "  round      INTEGER NOT NULL,        -- the {seed} of the inputs' ids\n"
	  "  accuracy   REAL,\n"
	  "  loss       REAL,\n"
	  "  macro_auc  REAL,\n"
	  "  subject_accuracy REAL",
	  NULL },
	{ "cv_comparisons", "a leading model against another: the paired bootstrap difference in 'by'",
	  "model      TEXT NOT NULL,           -- one of the top models\n"
	  "  versus     TEXT NOT NULL,           -- a model ranked below it\n"
	  "  metric     TEXT NOT NULL,           -- the parameter 'by'\n"
	  "  difference REAL,                    -- > 0: model is better (for loss: lower)\n"
	  "  ci_lo      REAL,                    -- interval of the difference\n"
	  "  ci_hi      REAL,\n"
	  "  p          REAL                     -- two-sided bootstrap p of no difference",
	  NULL },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_crossval = {
	.name = "crossval",
	.version = 1,
	.doc = "models compared by subject-level k-fold cross-validation over seeds: pooled out-of-fold figures, "
	       "bootstrap intervals, P(best), the leaders against the rest",
	.params = crossval_params,
	.inputs = { 2, (size_t)-1, "the evaluate stages of every model, fold and round", "evaluate" },
	.tables = crossval_tables,
	.check = crossval_check,
	.run = crossval_run,
};
