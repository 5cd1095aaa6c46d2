/*
 * rank.c - the `rank` kind: orders evaluated models by their metrics and
 * hands the best k downstream.
 *
 * Inputs: evaluate stages (typically a glob, "eval_*").  Each input's
 * metrics.tsv gives the keys of `by`, compared in order: "loss, -accuracy"
 * (the default, as the study chose its models) sorts by test loss
 * ascending, then accuracy descending ("-" = higher is better); remaining
 * ties go to the input listed first.  Output: ranking.tsv and the
 * `rankings` table (every model, its position and metrics), and top/1 ..
 * top/k holding the chosen models (links, see model.h), so that a `cam` or
 * `evaluate` stage with pick = N takes "the N-th best model" whatever it
 * turns out to be.  An input without a model or without a `by` metric is
 * an error naming it.
 *
 * With a `crossval` stage among the inputs, the evaluate inputs are ranked
 * by their model's cross-validated figures instead of their own split's
 * (cv_ranking.tsv: loss, accuracy, macro_auc, subject_accuracy, p_best):
 * `cv_model` says which crossval model an evaluate input is, e.g.
 * "eval_{model}"; the models handed on are still the evaluate inputs'.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "cvstats.h"
#include "model.h"
#include "tsv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec rank_params[] = {
	{ "by", SUL_T_STRING, "loss, -accuracy", 0, 0, NULL,
	  "comma-separated metrics of the inputs, compared in order; '-' before a name: higher is better" },
	{ "top", SUL_T_INT, "2", 1, 1000, NULL, "how many models to hand downstream (top/1 .. top/N)" },
	{ "cv_model", SUL_T_STRING, "eval_{model}", 0, 0, NULL,
	  "with a crossval input: how an evaluate input's id names its crossval model ({model})" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

#define MAX_KEYS 8

struct entry {
	const char *id;
	const char *dir;
	size_t input;  /* position among the inputs: the last tie-breaker */
	double key[MAX_KEYS];
	double loss, accuracy, auc;
};

struct order {
	int nkeys;
	int desc[MAX_KEYS];  /* 1: higher is better */
};

static int cmp_entry(const void *a, const void *b, void *vorder)
{
	const struct entry *x = a, *y = b;
	const struct order *o = vorder;
	int i;

	for (i = 0; i < o->nkeys; i++) {
		double u = o->desc[i] ? -x->key[i] : x->key[i], v = o->desc[i] ? -y->key[i] : y->key[i];
		if (u < v)
			return -1;
		if (u > v)
			return 1;
	}
	return (x->input > y->input) - (x->input < y->input);
}

/* The unstepped metric name of dir/metrics.tsv, or NaN. */
static int read_metric(const char *dir, const char *name, double *out, struct sul_err *err)
{
	char *path = sul_xasprintf("%s/metrics.tsv", dir);
	struct sul_buf b = SUL_BUF_INIT;
	char *line, *next;
	int ret = -1;

	*out = NAN;
	if (sul_read_file(path, &b, err))
		goto out;
	for (line = b.buf; line && *line; line = next) {
		char *t1, *t2;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		t1 = strchr(line, '\t');
		if (!t1)
			continue;
		*t1 = '\0';
		t2 = strchr(t1 + 1, '\t');
		if (t2 && t2 == t1 + 1 && !strcmp(line, name))
			*out = strtod(t2 + 1, NULL);
	}
	ret = 0;
out:
	sul_buf_release(&b);
	free(path);
	return ret;
}

/* A crossval input's cv_ranking.tsv, read whole. */
struct cv_table {
	struct sul_tsv t;
	const char *id;  /* the crossval input; NULL: none */
};

static int read_cv(const struct sul_stage_ctx *ctx, struct cv_table *cv, struct sul_err *err)
{
	size_t i;

	memset(cv, 0, sizeof(*cv));
	for (i = 0; i < ctx->ninputs; i++) {
		char *path;
		int r;
		if (strcmp(ctx->inputs[i].kind, "crossval"))
			continue;
		if (cv->id)
			return sul_err_set(err, SUL_ERR_INPUT, "inputs '%s' and '%s' are both crossval stages: expected "
					   "at most one", cv->id, ctx->inputs[i].id);
		cv->id = ctx->inputs[i].id;
		path = sul_xasprintf("%s/cv_ranking.tsv", ctx->inputs[i].dir);
		r = sul_tsv_read(path, &cv->t, err);
		free(path);
		if (r)
			return -1;
	}
	return 0;
}

/* The cross-validated figure `name` of the evaluate input id, or an error. */
static int cv_metric(const struct sul_stage_ctx *ctx, const struct cv_table *cv, const char *id, const char *name,
		     double *out, struct sul_err *err)
{
	char *model = NULL;
	long fold = 0, seed = 0;
	long mcol = sul_tsv_col(&cv->t, "model"), col = sul_tsv_col(&cv->t, name);
	size_t r;

	if (!sul_cv_match(sul_ctx_str(ctx, "cv_model"), id, &model, &fold, &seed) || !model)
		return sul_err_set(err, SUL_ERR_INPUT, "input '%s' does not match parameter 'cv_model' ('%s')", id,
				   sul_ctx_str(ctx, "cv_model"));
	if (col < 0 || mcol < 0) {
		free(model);
		return sul_err_set(err, SUL_ERR_INPUT, "crossval input '%s' has no figure '%s' (parameter 'by': loss, "
				   "accuracy, macro_auc, subject_accuracy, p_best)", cv->id, name);
	}
	for (r = 1; r < cv->t.nrows && strcmp(sul_tsv_at(&cv->t, r, (size_t)mcol), model); r++)
		;
	if (r == cv->t.nrows) {
		sul_err_set(err, SUL_ERR_INPUT, "input '%s' is model '%s', which crossval input '%s' did not "
			    "cross-validate", id, model, cv->id);
		free(model);
		return -1;
	}
	free(model);
	*out = *sul_tsv_at(&cv->t, r, (size_t)col) ? strtod(sul_tsv_at(&cv->t, r, (size_t)col), NULL) : NAN;
	return 0;
}

static int rank_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	const char *pat = sul_ctx_str(ctx, "cv_model"), *at = strstr(pat, "{model}");

	if (!at || strstr(at + 1, "{model}") || strchr(pat, '{') != at || strchr(at + 1, '{')) {
		*about = "cv_model";
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'cv_model': expected one {model} field and no other, "
				   "got '%s'", pat);
	}
	return sul_check_list(ctx, "by", MAX_KEYS, about, err);
}

static int rank_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	char *by = NULL, *names[MAX_KEYS];
	const size_t top = (size_t)sul_ctx_int(ctx, "top");
	struct entry *e = sul_xcalloc(ctx->ninputs ? ctx->ninputs : 1, sizeof(*e));
	struct sul_buf rt = SUL_BUF_INIT, tt = SUL_BUF_INIT;
	struct cv_table cv;
	struct order ord;
	size_t i, n = 0;
	int j, ret = -1;

	if (read_cv(ctx, &cv, err) || sul_ctx_list(ctx, "by", MAX_KEYS, &by, names, &i, err))
		goto out;
	ord.nkeys = (int)i;
	if (!ord.nkeys) {
		sul_err_set(err, SUL_ERR_INPUT, "parameter 'by': no metric names");
		goto out;
	}
	for (j = 0; j < ord.nkeys; j++) {
		ord.desc[j] = names[j][0] == '-';
		if (ord.desc[j])
			names[j]++;
	}
	for (i = 0; i < ctx->ninputs; i++) {
		char *model;
		int has;
		if (!strcmp(ctx->inputs[i].kind, "crossval"))
			continue;
		model = sul_xasprintf("%s/model/model.cfg", ctx->inputs[i].dir);
		has = sul_path_exists(model);
		free(model);
		if (!has) {
			sul_err_set(err, SUL_ERR_INPUT, "input '%s' holds no model/ (expected evaluate stages)", ctx->inputs[i].id);
			goto out;
		}
		e[n].id = ctx->inputs[i].id;
		e[n].dir = ctx->inputs[i].dir;
		e[n].input = i;
		for (j = 0; j < ord.nkeys; j++) {
			if (cv.id ? cv_metric(ctx, &cv, e[n].id, names[j], &e[n].key[j], err)
				  : read_metric(e[n].dir, names[j], &e[n].key[j], err))
				goto out;
			if (isnan(e[n].key[j])) {
				sul_err_set(err, SUL_ERR_INPUT, "input '%s' has no metric '%s' (parameter 'by')", e[n].id, names[j]);
				goto out;
			}
		}
		if (cv.id ? cv_metric(ctx, &cv, e[n].id, "loss", &e[n].loss, err)
			    || cv_metric(ctx, &cv, e[n].id, "accuracy", &e[n].accuracy, err)
			    || cv_metric(ctx, &cv, e[n].id, "macro_auc", &e[n].auc, err)
			  : read_metric(e[n].dir, "loss", &e[n].loss, err) || read_metric(e[n].dir, "accuracy", &e[n].accuracy, err)
			    || read_metric(e[n].dir, "macro_auc", &e[n].auc, err))
			goto out;
		n++;
	}
	if (top > n) {
		sul_err_set(err, SUL_ERR_INPUT, "top = %zu, but only %zu models are among the inputs", top, n);
		goto out;
	}
	qsort_r(e, n, sizeof(*e), cmp_entry, &ord);
	sul_buf_adds(&rt, "position\tstage\tloss\taccuracy\tmacro_auc\tselected\n");
	sul_buf_adds(&tt, "position\tmodel\tmetric\tloss\taccuracy\tmacro_auc\tselected\n");
	for (i = 0; i < n; i++) {
		sul_buf_addf(&rt, "%zu\t%s\t%.6g\t%.6g\t%.6g\t%d\n", i + 1, e[i].id, e[i].loss, e[i].accuracy, e[i].auc,
			     i < top);
		sul_buf_addf(&tt, "%zu\t%s\t%s%s\t", i + 1, e[i].id, sul_ctx_str(ctx, "by"),
			     cv.id ? " (cross-validated)" : "");
		if (isnan(e[i].loss))
			sul_buf_adds(&tt, "\t");
		else
			sul_buf_addf(&tt, "%.9g\t", e[i].loss);
		if (isnan(e[i].accuracy))
			sul_buf_adds(&tt, "\t");
		else
			sul_buf_addf(&tt, "%.9g\t", e[i].accuracy);
		if (isnan(e[i].auc))
			sul_buf_adds(&tt, "\t");
		else
			sul_buf_addf(&tt, "%.9g\t", e[i].auc);
		sul_buf_addf(&tt, "%d\n", i < top);
		fprintf(stderr, "rank: %zu. %s (loss %.4f, accuracy %.3f)%s\n", i + 1, e[i].id, e[i].loss, e[i].accuracy,
			i < top ? " -> top" : "");
		if (i < top) {
			char *src = sul_xasprintf("%s/model", e[i].dir), *dst = sul_xasprintf("%s/top/%zu", ctx->out, i + 1);
			char *from = sul_xasprintf("%s/source", dst);
			char *txt = sul_xasprintf("%s\n", e[i].id);
			int r = sul_model_link(src, dst, err) || sul_write_file_atomic(from, txt, strlen(txt), err);
			free(src);
			free(dst);
			free(from);
			free(txt);
			if (r)
				goto out;
		}
	}
	{
		char *p1 = sul_xasprintf("%s/ranking.tsv", ctx->out), *tdir = sul_xasprintf("%s/tables", ctx->out);
		char *p2 = sul_xasprintf("%s/rankings.tsv", tdir);
		int r = sul_write_file_atomic(p1, rt.buf, rt.len, err) || sul_mkdirs(tdir, err)
			|| sul_write_file_atomic(p2, tt.buf, tt.len, err);
		free(p1);
		free(p2);
		free(tdir);
		if (r)
			goto out;
	}
	ret = 0;
out:
	sul_buf_release(&rt);
	sul_buf_release(&tt);
	sul_tsv_release(&cv.t);
	free(by);
	free(e);
	return ret;
}

static const struct sul_table_spec rank_tables[] = {
	{ "rankings", "a model the rank stage ordered, best first",
	  "position  INTEGER NOT NULL,         -- 1 = best\n"
	  "  model     TEXT NOT NULL,            -- the input stage (an evaluate stage) holding the model\n"
	  "  metric    TEXT NOT NULL,            -- what it was ranked by (\"loss, -accuracy\"; \"(cross-validated)\": "
	  "a crossval input's figures)\n"
	  "  loss      REAL,                     -- the input's, or cross-validated\n"
	  "  accuracy  REAL,\n"
	  "  macro_auc REAL,\n"
	  "  selected  INTEGER NOT NULL          -- 1 for the top k handed downstream",
	  NULL },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_rank = {
	.name = "rank",
	.version = 1,
	.doc = "orders evaluated models by test metrics (default: loss, then accuracy) and hands the top k on",
	.params = rank_params,
	.inputs = { 1, (size_t)-1, "one or more inputs (evaluate stages, and optionally one crossval stage)",
		    "evaluate|crossval" },
	.check = rank_check,
	.tables = rank_tables,
	.run = rank_run,
};
