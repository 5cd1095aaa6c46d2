/*
 * evaluate.c - the `evaluate` kind: a trained model on the test slices.
 *
 * Inputs: a model (a train stage, or rank's pick), the split table and the
 * slices.  Every slice of the chosen split is predicted once, without
 * augmentation.  Slice level: accuracy, mean cross-entropy (loss),
 * confusion matrix, per-class precision, recall and F1 and one-vs-rest ROC
 * AUC (Mann-Whitney, ties counted one half), macro averages.  Subject level:
 * a subject's class probabilities are the mean over its slices; accuracy,
 * loss and confusion matrix of those.  Metrics go to the database; every
 * slice's probabilities to the `predictions` table (tables/predictions.tsv,
 * see db/migrate-3.sql), and to predictions.tsv beside confusion.tsv and
 * subjects.tsv; images_per_s is the inference throughput (the first batch,
 * which pays for start-up, not counted).  The model files are linked into the output, so that an
 * evaluation carries its model on to `rank` and `cam`.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "model.h"
#include "slicedata.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct sul_param_spec evaluate_params[] = {
	{ "split", SUL_T_STRING, "test", 0, 0, "train|val|test|all", "which slices to evaluate" },
	{ "weights", SUL_T_STRING, "best", 0, 0, "best|last", "best (lowest validation loss) or last epoch's weights" },
	{ "batch", SUL_T_INT, "16", 1, 1024, NULL, "images per forward pass" },
	{ "pick", SUL_T_INT, "0", 0, 1000, NULL, "with a rank input: evaluate its model ranked N (1 = best); 0: the "
	  "input's own model" },
	{ "table", SUL_T_STRING, "split.tsv", 0, 0, NULL, "the split table, in an input" },
	SUL_MODEL_DEVICE_PARAMS,
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

static const struct sul_resource_defaults evaluate_resources = { 2, 0, "4G", "2:00:00" };

static int metric(const struct sul_stage_ctx *ctx, const char *prefix, const char *name, const char *suffix,
		  double v, struct sul_err *err)
{
	char buf[256];

	if (isnan(v))
		return 0;
	snprintf(buf, sizeof(buf), "%s%s%s", prefix, name, suffix);
	return sul_ctx_metric(ctx, buf, -1, v, err);
}

static int write_out(const struct sul_stage_ctx *ctx, const char *name, struct sul_buf *b, struct sul_err *err)
{
	char *path = sul_xasprintf("%s/%s", ctx->out, name);
	int r = sul_write_file_atomic(path, b->buf, b->len, err);
	free(path);
	return r;
}

/* Confusion matrix and per-class metrics; returns accuracy. */
static int report(const struct sul_stage_ctx *ctx, const char *prefix, const struct sul_model *m, const int *label,
		  const float *probs, size_t n, const char *file, double *acc_out, struct sul_err *err)
{
	const int k = m->classes;
	size_t *conf = sul_xcalloc((size_t)k * k, sizeof(size_t)), i, correct = 0;
	struct sul_score *s = sul_xmalloc((n ? n : 1) * sizeof(*s));
	struct sul_buf b = SUL_BUF_INIT;
	double loss = 0, macro_f1 = 0, macro_auc = 0;
	int c, j, nauc = 0, ret = -1;

	for (i = 0; i < n; i++) {
		int pred = sul_argmax(probs + i * k, k);
		conf[label[i] * k + pred]++;
		correct += pred == label[i];
		loss += sul_xent(probs[i * k + label[i]]);
	}
	sul_buf_adds(&b, "true\\predicted");
	for (c = 0; c < k; c++)
		sul_buf_addf(&b, "\t%s", m->class_names[c]);
	sul_buf_addc(&b, '\n');
	for (c = 0; c < k; c++) {
		sul_buf_adds(&b, m->class_names[c]);
		for (j = 0; j < k; j++) {
			char name[256];
			sul_buf_addf(&b, "\t%zu", conf[c * k + j]);
			snprintf(name, sizeof(name), "confusion_%s_%s", m->class_names[c], m->class_names[j]);
			if (metric(ctx, prefix, name, "", (double)conf[c * k + j], err))
				goto out;
		}
		sul_buf_addc(&b, '\n');
	}
	if (write_out(ctx, file, &b, err))
		goto out;
	for (c = 0; c < k; c++) {
		size_t tp = conf[c * k + c], fp = 0, fn = 0;
		double prec, rec, f1, auc;
		for (j = 0; j < k; j++)
			if (j != c) {
				fp += conf[j * k + c];
				fn += conf[c * k + j];
			}
		prec = tp + fp ? (double)tp / (tp + fp) : NAN;
		rec = tp + fn ? (double)tp / (tp + fn) : NAN;
		f1 = (isnan(prec) || isnan(rec) || prec + rec == 0) ? (tp + fp + fn ? 0 : NAN) : 2 * prec * rec / (prec + rec);
		for (i = 0; i < n; i++) {
			s[i].p = probs[i * k + c];
			s[i].pos = label[i] == c;
		}
		auc = sul_auc(s, n);
		macro_f1 += isnan(f1) ? 0 : f1;
		if (!isnan(auc)) {
			macro_auc += auc;
			nauc++;
		}
		if (metric(ctx, prefix, "precision_", m->class_names[c], prec, err)
		    || metric(ctx, prefix, "recall_", m->class_names[c], rec, err)
		    || metric(ctx, prefix, "f1_", m->class_names[c], f1, err)
		    || metric(ctx, prefix, "auc_", m->class_names[c], auc, err))
			goto out;
	}
	*acc_out = n ? (double)correct / n : NAN;
	if (metric(ctx, prefix, "accuracy", "", *acc_out, err) || metric(ctx, prefix, "loss", "", n ? loss / n : NAN, err)
	    || metric(ctx, prefix, "macro_f1", "", macro_f1 / k, err)
	    || metric(ctx, prefix, "macro_auc", "", nauc ? macro_auc / nauc : NAN, err)
	    || metric(ctx, prefix, "count", "", (double)n, err))
		goto out;
	ret = 0;
out:
	sul_buf_release(&b);
	free(conf);
	free(s);
	return ret;
}

static int evaluate_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const char *split_name = sul_ctx_str(ctx, "split");
	const int batch = (int)sul_ctx_int(ctx, "batch"), split = sul_split_from_name(split_name);
	char *dir = NULL, *model_out = sul_xasprintf("%s/model", ctx->out);
	struct sul_buf pred = SUL_BUF_INIT, table = SUL_BUF_INIT, subj = SUL_BUF_INIT;
	struct sul_slicedata d;
	struct sul_model m;
	size_t *idx = NULL, n = 0, i, one, nsub = 0;
	float *x = NULL, *probs = NULL, *sprobs = NULL;
	int *labels = NULL, *slabels = NULL, k, j, ret = -1;
	struct sul_model_device dev;
	char **subjects = NULL;
	size_t *scount = NULL;
	double acc, predict_s = 0, last_report = 0;
	size_t timed = 0;
	struct timespec t_start;

	memset(&d, 0, sizeof(d));
	memset(&m, 0, sizeof(m));
	dir = sul_model_find(ctx, (int)sul_ctx_int(ctx, "pick"), err);
	if (!dir || sul_slicedata_read(ctx, sul_ctx_str(ctx, "table"), &d, err))
		goto out;
	if (sul_model_device(ctx, &dev, err)
	    || sul_model_open(dir, sul_ctx_str(ctx, "weights"), batch, &dev, ctx->out, &m, err)
	    || sul_model_note_backend(ctx, &m.info, err))
		goto out;
	k = m.classes;
	if (d.classes > k) {
		sul_err_set(err, SUL_ERR_INPUT, "the data has %d classes, the model %d", d.classes, k);
		goto out;
	}
	for (j = 0; j < d.classes; j++)
		if (strcmp(d.class_names[j], m.class_names[j])) {
			sul_err_set(err, SUL_ERR_INPUT, "class %d is '%s' in the data but '%s' in the model", j,
				    d.class_names[j], m.class_names[j]);
			goto out;
		}
	idx = sul_xmalloc(d.n * sizeof(*idx));
	for (i = 0; i < d.n; i++)
		if (split < 0 || d.rows[i].split == split)
			idx[n++] = i;
	if (!n) {
		sul_err_set(err, SUL_ERR_INPUT, "no '%s' slices to evaluate", split_name);
		goto out;
	}
	if (sul_slicedata_load(&d, m.info.w, m.info.h, split < 0 ? ~0u : 1u << split, err))
		goto out;
	one = (size_t)3 * m.info.w * m.info.h;
	x = sul_xmalloc(sizeof(float) * one * batch);
	probs = sul_xmalloc(sizeof(float) * k * n);
	labels = sul_xmalloc(sizeof(int) * n);
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	for (i = 0; i < n; i += (size_t)batch) {
		int b = (int)(n - i < (size_t)batch ? n - i : (size_t)batch);
		struct timespec t0, t1;
		for (j = 0; j < b; j++)
			sul_slicedata_chw(&d, idx[i + j], x + one * j);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (m.api->predict(m.net, x, b, probs + i * k, err))
			goto out;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* The first batch pays for page faults and thread start-up. */
		if (i > 0 || n <= (size_t)batch) {
			predict_s += (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) * 1e-9;
			timed += (size_t)b;
		}
		{
			double el = (double)(t1.tv_sec - t_start.tv_sec) + (t1.tv_nsec - t_start.tv_nsec) * 1e-9;
			size_t done = i + (size_t)b;
			if (el - last_report >= 10 && done < n) {
				char eta[32];
				last_report = el;
				sul_format_eta(el / (double)done * (double)(n - done), eta);
				fprintf(stderr, "progress: slices %zu/%zu %.1f images/s ETA %s\n", done, n, done / el, eta);
			}
		}
	}
	if (sul_ctx_timing(ctx, "images_per_s", -1, timed / predict_s, err))
		goto out;
	sul_buf_adds(&pred, "subject\tslice\tgroup\tlabel\tpredicted\tcorrect");
	for (j = 0; j < k; j++)
		sul_buf_addf(&pred, "\tp_%s", m.class_names[j]);
	sul_buf_addc(&pred, '\n');
	sul_buf_adds(&table, "subject\tslice\tgroup_name\tlabel\tpredicted\tcorrect\tprob_label\tprobs\n");
	subjects = sul_xcalloc(n, sizeof(char *));
	scount = sul_xcalloc(n, sizeof(size_t));
	sprobs = sul_xcalloc(n * k, sizeof(float));
	slabels = sul_xcalloc(n, sizeof(int));
	for (i = 0; i < n; i++) {
		const struct sul_slice *r = &d.rows[idx[i]];
		const float *p = probs + i * k;
		int pr = sul_argmax(p, k);
		size_t s;

		labels[i] = r->label;
		sul_buf_addf(&pred, "%s\t%d\t%s\t%s\t%s\t%d", r->subject, r->slice, r->group, m.class_names[r->label],
			     m.class_names[pr], pr == r->label);
		sul_buf_addf(&table, "%s\t%d\t%s\t%s\t%s\t%d\t%.6g\t{", r->subject, r->slice, r->group,
			     m.class_names[r->label], m.class_names[pr], pr == r->label, p[r->label]);
		for (j = 0; j < k; j++) {
			sul_buf_addf(&pred, "\t%.6g", p[j]);
			sul_buf_addf(&table, "%s\"%s\":%.6g", j ? "," : "", m.class_names[j], p[j]);
		}
		sul_buf_addc(&pred, '\n');
		sul_buf_adds(&table, "}\n");
		for (s = 0; s < nsub && strcmp(subjects[s], r->subject); s++)
			;
		if (s == nsub) {
			subjects[nsub++] = r->subject;
			slabels[s] = r->label;
		}
		scount[s]++;
		for (j = 0; j < k; j++)
			sprobs[s * k + j] += p[j];
	}
	sul_buf_adds(&subj, "subject\tlabel\tpredicted\tslices");
	for (j = 0; j < k; j++)
		sul_buf_addf(&subj, "\tp_%s", m.class_names[j]);
	sul_buf_addc(&subj, '\n');
	for (i = 0; i < nsub; i++) {
		for (j = 0; j < k; j++)
			sprobs[i * k + j] /= (float)scount[i];
		sul_buf_addf(&subj, "%s\t%s\t%s\t%zu", subjects[i], m.class_names[slabels[i]],
			     m.class_names[sul_argmax(sprobs + i * k, k)], scount[i]);
		for (j = 0; j < k; j++)
			sul_buf_addf(&subj, "\t%.6g", sprobs[i * k + j]);
		sul_buf_addc(&subj, '\n');
	}
	{
		char *tables = sul_xasprintf("%s/tables", ctx->out);
		int r = sul_mkdirs(tables, err);
		free(tables);
		if (r)
			goto out;
	}
	if (write_out(ctx, "predictions.tsv", &pred, err) || write_out(ctx, "tables/predictions.tsv", &table, err)
	    || write_out(ctx, "subjects.tsv", &subj, err))
		goto out;
	if (report(ctx, "", &m, labels, probs, n, "confusion.tsv", &acc, err)
	    || report(ctx, "subject_", &m, slabels, sprobs, nsub, "subject_confusion.tsv", &acc, err))
		goto out;
	fprintf(stderr, "evaluate: %zu %s slices of %zu subjects\n", n, split_name, nsub);
	if (sul_model_link(dir, model_out, err))
		goto out;
	ret = 0;
out:
	if (m.net || m.class_names)
		sul_model_close(&m);
	sul_slicedata_release(&d);
	sul_buf_release(&pred);
	sul_buf_release(&table);
	sul_buf_release(&subj);
	free(dir);
	free(model_out);
	free(idx);
	free(x);
	free(probs);
	free(labels);
	free(subjects);
	free(scount);
	free(sprobs);
	free(slabels);
	return ret;
}

/* Join with executions on cache_key to know the stage and run:
 *   SELECT e.stage, avg(correct) FROM predictions p
 *   JOIN latest_executions e USING (cache_key) GROUP BY e.stage; */
static const struct sul_table_spec evaluate_tables[] = {
	{ "predictions", "every evaluated slice's class probabilities",
	  "subject    TEXT NOT NULL,\n"
	  "  slice      INTEGER,                 -- axial index in the subject's volume\n"
	  "  group_name TEXT NOT NULL,           -- the subject's group (RRMS, SPMS, HC, ...)\n"
	  "  label      TEXT NOT NULL,           -- true class name\n"
	  "  predicted  TEXT NOT NULL,           -- class with the highest probability\n"
	  "  correct    INTEGER NOT NULL,        -- 1 when predicted = label\n"
	  "  prob_label REAL NOT NULL,           -- the probability given to the true class\n"
	  "  probs      TEXT NOT NULL            -- JSON object {\"class name\": probability, ...}",
	  "subject" },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_evaluate = {
	.name = "evaluate",
	.version = 1,
	.doc = "a trained model on the test slices: accuracy, loss, confusion, precision/recall/F1, ROC AUC, "
	       "per slice and per subject; predictions table",
	.params = evaluate_params,
	.resources = &evaluate_resources,
	.tables = evaluate_tables,
	.run = evaluate_run,
};
