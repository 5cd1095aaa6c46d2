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
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
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

static int rank_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	return sul_check_list(ctx, "by", MAX_KEYS, about, err);
}

static int rank_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	char *by = NULL, *names[MAX_KEYS];
	const size_t top = (size_t)sul_ctx_int(ctx, "top");
	struct entry *e = sul_xcalloc(ctx->ninputs ? ctx->ninputs : 1, sizeof(*e));
	struct sul_buf rt = SUL_BUF_INIT, tt = SUL_BUF_INIT;
	struct order ord;
	size_t i, n = 0;
	int j, ret = -1;

	if (sul_ctx_list(ctx, "by", MAX_KEYS, &by, names, &i, err))
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
		char *model = sul_xasprintf("%s/model/model.cfg", ctx->inputs[i].dir);
		int has = sul_path_exists(model);
		free(model);
		if (!has) {
			sul_err_set(err, SUL_ERR_INPUT, "input '%s' holds no model/ (expected evaluate stages)", ctx->inputs[i].id);
			goto out;
		}
		e[n].id = ctx->inputs[i].id;
		e[n].dir = ctx->inputs[i].dir;
		e[n].input = i;
		for (j = 0; j < ord.nkeys; j++) {
			if (read_metric(e[n].dir, names[j], &e[n].key[j], err))
				goto out;
			if (isnan(e[n].key[j])) {
				sul_err_set(err, SUL_ERR_INPUT, "input '%s' has no metric '%s' (parameter 'by')", e[n].id, names[j]);
				goto out;
			}
		}
		if (read_metric(e[n].dir, "loss", &e[n].loss, err) || read_metric(e[n].dir, "accuracy", &e[n].accuracy, err)
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
		sul_buf_addf(&tt, "%zu\t%s\t%s\t", i + 1, e[i].id, sul_ctx_str(ctx, "by"));
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
	free(by);
	free(e);
	return ret;
}

static const struct sul_table_spec rank_tables[] = {
	{ "rankings", "a model the rank stage ordered, best first",
	  "position  INTEGER NOT NULL,         -- 1 = best\n"
	  "  model     TEXT NOT NULL,            -- the input stage (an evaluate stage) holding the model\n"
	  "  metric    TEXT NOT NULL,            -- what it was ranked by (\"loss, then -accuracy\")\n"
	  "  loss      REAL,\n"
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
	.inputs = { 1, (size_t)-1, "one or more inputs (evaluate stages)", "evaluate" },
	.check = rank_check,
	.tables = rank_tables,
	.run = rank_run,
};
