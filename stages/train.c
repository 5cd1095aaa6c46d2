/*
 * train.c - the `train` kind: trains a Darknet network (a cfg file) on the
 * training slices of a split, validating every epoch.
 *
 * Inputs: the split stage (split.tsv) and the slices stage (the PNGs); and,
 * for transfer learning, a train stage named by `pretrained_from` (or a
 * weights file in `pretrained`) whose first `load_layers` layers are loaded
 * with Darknet's load_weights_upto().
 *
 * An epoch is one pass over the training slices in a seeded random order
 * (with balance = "oversample", every class drawn up to the largest class's
 * count); its last batch is filled by wrapping around.  Every image of
 * every batch is augmented on the fly, as in the study: a random rotation in
 * [-rotate, rotate] degrees, scaling in [scale_min, scale_max], translation
 * in [-translate, translate] of the size, bilinear (slicedata.h).  Darknet's
 * own augmentation (hue/saturation jitter of what are MRI modalities, a
 * forced horizontal flip) is not used.  After each epoch the validation
 * slices are predicted without augmentation; the weights with the lowest
 * validation loss are kept (best.weights) beside the last (last.weights) and
 * the cfg actually used (model.cfg: the given cfg with [net] rewritten).
 * With patience > 0, training stops after that many epochs without a lower
 * validation loss.  The learning rate follows `policy` per epoch.
 *
 * Per-epoch metrics (train_loss, train_acc, val_loss, val_acc, lr, step =
 * epoch) and history.tsv record the curve; the class counts of the split
 * are metrics too.  Speeds (images_per_s per epoch, the epoch's steps with
 * their augmentation; step_images_per_s, the network's steps alone;
 * train_seconds) are timings, outside the output's digest.  Deterministic for a seed on CPU:
 * our RNG drives order and augmentation, Darknet's rand() (seeded) its
 * initialization and dropout.
 */
#include "../engine/fault.h"
#include "../engine/clock.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "dn.h"
#include "model.h"
#include "netcfg.h"
#include "rng.h"
#include "slicedata.h"
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct sul_param_spec train_params[] = {
	{ "network", SUL_T_PATH, NULL, 0, 0, NULL, "Darknet network cfg (its content is part of the cache key)" },
	{ "size", SUL_T_INT, "0", 0, 4096, NULL, "input width and height in pixels; 0: the cfg's" },
	{ "epochs", SUL_T_INT, "10", 1, 100000, NULL, "passes over the training slices" },
	{ "batch", SUL_T_INT, "16", 1, 1024, NULL, "images per step" },
	{ "learning_rate", SUL_T_FLOAT, "0.01", 0, 10, NULL, "initial learning rate" },
	{ "policy", SUL_T_STRING, "constant", 0, 0, "constant|step|poly|cosine",
	  "learning-rate schedule over epochs: step multiplies by lr_gamma every lr_step epochs; poly decays as "
	  "(1 - e/epochs)^lr_power; cosine to 0" },
	{ "lr_step", SUL_T_INT, "10", 1, 100000, NULL, "policy step: epochs between decays" },
	{ "lr_gamma", SUL_T_FLOAT, "0.1", 0, 1, NULL, "policy step: factor per decay" },
	{ "lr_power", SUL_T_FLOAT, "1", 0, 10, NULL, "policy poly: exponent" },
	{ "momentum", SUL_T_FLOAT, "0.9", 0, 1, NULL, "SGD momentum" },
	{ "decay", SUL_T_FLOAT, "0.0005", 0, 1, NULL, "weight decay" },
	{ "rotate", SUL_T_FLOAT, "10", 0, 180, NULL, "augmentation: rotation up to this many degrees either way" },
	{ "translate", SUL_T_FLOAT, "0.1", 0, 0.5, NULL, "augmentation: shift up to this fraction of the size" },
	{ "scale_min", SUL_T_FLOAT, "0.9", 0.1, 10, NULL, "augmentation: smallest zoom" },
	{ "scale_max", SUL_T_FLOAT, "1.1", 0.1, 10, NULL, "augmentation: largest zoom" },
	{ "flip", SUL_T_BOOL, "false", 0, 0, NULL, "augmentation: mirror left-right with p = 0.5 (brains are not "
	  "symmetric: off by default)" },
	{ "balance", SUL_T_STRING, "none", 0, 0, "none|weight|oversample",
	  "class balancing: weight scales each image's loss by n / (classes * n_class); oversample draws every "
	  "class as often as the largest" },
	{ "patience", SUL_T_INT, "0", 0, 100000, NULL, "stop after this many epochs without a lower val_loss; 0: "
	  "never" },
	{ "bn_momentum", SUL_T_FLOAT, "0.1", 0.001, 1, NULL,
	  "weight of each batch in batchnorm's rolling statistics (Darknet: 0.01, too slow for short trainings)" },
	{ "bn_batches", SUL_T_INT, "8", 0, 100000, NULL,
	  "after each epoch, batchnorm statistics are recomputed on this many batches of training slices "
	  "(precise batchnorm); 0: keep the rolling averages of training" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "random seed (order, augmentation, initialization)" },
	{ "pretrained", SUL_T_PATH, "", 0, 0, NULL, "Darknet .weights to start from (transfer learning)" },
	{ "pretrained_from", SUL_T_STRING, "", 0, 0, NULL,
	  "id of an input train stage whose best.weights to start from" },
	{ "load_layers", SUL_T_INT, "0", 0, 100000, NULL, "with pretrained weights: load the first N layers only "
	  "(0: all), the rest keep their initialization" },
	{ "table", SUL_T_STRING, "split.tsv", 0, 0, NULL, "the split table, in an input" },
	SUL_MODEL_DEVICE_PARAMS,
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

static const struct sul_resource_defaults train_resources = { 2, 0, "4G", "12:00:00" };

static int train_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	const char *from = sul_ctx_str(ctx, "pretrained_from");
	char *cfg_path = sul_ctx_path(ctx, "network");
	struct sul_netcfg cfg;
	size_t i;
	int found = 0, bad;

	if (sul_ctx_float(ctx, "scale_min") > sul_ctx_float(ctx, "scale_max")) {
		free(cfg_path);
		return sul_err_set(err, SUL_ERR_INPUT, "scale_min %g > scale_max %g", sul_ctx_float(ctx, "scale_min"),
				   sul_ctx_float(ctx, "scale_max"));
	}
	*about = "network";
	if (sul_netcfg_read(cfg_path, &cfg, err)) {
		free(cfg_path);
		return sul_err_prefix(err, "parameter 'network'");
	}
	/* The sizes the stage will build it for (sul_model_write_cfg). */
	if (sul_ctx_int(ctx, "size") > 0) {
		char num[32];
		snprintf(num, sizeof(num), "%lld", sul_ctx_int(ctx, "size"));
		sul_netcfg_set(&cfg, 0, "width", num);
		sul_netcfg_set(&cfg, 0, "height", num);
	}
	sul_netcfg_set(&cfg, 0, "channels", "3");
	if (!sul_netcfg_get(&cfg, 0, "width") || !sul_netcfg_get(&cfg, 0, "height"))
		bad = sul_err_set(err, SUL_ERR_INPUT, "%s: [net] gives no width and height: set them, or the "
				  "stage's size", cfg_path);
	else
		bad = sul_netcfg_check(&cfg, err);
	sul_netcfg_release(&cfg);
	free(cfg_path);
	if (bad)
		return sul_err_prefix(err, "parameter 'network'");
	*about = NULL;
	if (*from) {
		for (i = 0; i < ctx->ninputs; i++)
			found |= !strcmp(ctx->inputs[i].id, from);
		if (!found)
			return sul_err_set(err, SUL_ERR_INPUT, "pretrained_from '%s' is not among its inputs", from);
		if (*sul_ctx_str(ctx, "pretrained"))
			return sul_err_set(err, SUL_ERR_INPUT, "give 'pretrained' or 'pretrained_from', not both");
	}
	return 0;
}

static double lr_at(const struct sul_stage_ctx *ctx, int epoch, int epochs)
{
	const double lr = sul_ctx_float(ctx, "learning_rate");
	const char *policy = sul_ctx_str(ctx, "policy");
	const double t = (double)(epoch - 1) / epochs;

	if (!strcmp(policy, "step"))
		return lr * pow(sul_ctx_float(ctx, "lr_gamma"), (epoch - 1) / sul_ctx_int(ctx, "lr_step"));
	if (!strcmp(policy, "poly"))
		return lr * pow(1 - t, sul_ctx_float(ctx, "lr_power"));
	if (!strcmp(policy, "cosine"))
		return lr * 0.5 * (1 + cos(M_PI * t));
	return lr;
}

static void shuffle(size_t *a, size_t n, struct sul_rng *rng)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)sul_rng_below(rng, i), t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

/* Mean loss and accuracy of the net on rows idx[0..n), no augmentation. */
static int validate(const struct sul_dn_api *api, struct sul_dn_net *net, const struct sul_slicedata *d,
		    const size_t *idx, size_t n, int batch, int classes, double *loss, double *acc,
		    struct sul_err *err)
{
	const size_t one = (size_t)3 * d->w * d->h;
	float *x = sul_xmalloc(sizeof(float) * one * batch), *p = sul_xmalloc(sizeof(float) * classes * batch);
	double l = 0;
	size_t i, correct = 0;
	int j, ret = -1;

	for (i = 0; i < n; i += (size_t)batch) {
		int m = (int)(n - i < (size_t)batch ? n - i : (size_t)batch);
		for (j = 0; j < m; j++)
			sul_slicedata_chw(d, idx[i + j], x + one * j);
		if (api->predict(net, x, m, p, err))
			goto out;
		for (j = 0; j < m; j++) {
			int label = d->rows[idx[i + j]].label;
			l += sul_xent(p[classes * j + label]);
			correct += sul_argmax(p + classes * j, classes) == label;
		}
	}
	*loss = n ? l / n : NAN;
	*acc = n ? (double)correct / n : NAN;
	ret = 0;
out:
	free(x);
	free(p);
	return ret;
}

/*
 * Precise batchnorm (Wu and Johnson 2021): the statistics that inference
 * uses, recomputed with the epoch's final weights over up to nb batches of
 * training slices as they are (not augmented), in the epoch's order.  The
 * rolling averages of training mix in statistics of older weights; on
 * small networks trained briefly that alone can put inference at chance.
 */
static int precise_bn(const struct sul_dn_api *api, struct sul_dn_net *net, const struct sul_slicedata *d,
		      const size_t *order, size_t n, int batch, int nb, float *x, struct sul_err *err)
{
	const size_t one = (size_t)3 * d->w * d->h;
	int b, j;

	if (nb <= 0 || n < (size_t)batch)
		return 0;
	for (b = 0; b < nb && (size_t)(b + 1) * batch <= n; b++) {
		for (j = 0; j < batch; j++)
			sul_slicedata_chw(d, order[(size_t)b * batch + j], x + one * j);
		if (api->bn_add(net, x, b == 0, err))
			return -1;
	}
	api->bn_finish(net);
	return 0;
}



static int write_classes(const struct sul_stage_ctx *ctx, const struct sul_slicedata *d, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *path = sul_xasprintf("%s/classes.tsv", ctx->out);
	int i, r;

	sul_buf_adds(&b, "class\tname\n");
	for (i = 0; i < d->classes; i++)
		sul_buf_addf(&b, "%d\t%s\n", i, d->class_names[i]);
	r = sul_write_file_atomic(path, b.buf, b.len, err);
	sul_buf_release(&b);
	free(path);
	return r;
}

static int class_metrics(const struct sul_stage_ctx *ctx, const struct sul_slicedata *d, const char *split_name,
			 int split, struct sul_err *err)
{
	size_t *count = sul_xcalloc((size_t)d->classes, sizeof(size_t)), i;
	int c, r = 0;

	for (i = 0; i < d->n; i++)
		if (d->rows[i].split == split)
			count[d->rows[i].label]++;
	for (c = 0; c < d->classes && !r; c++) {
		char name[160];
		snprintf(name, sizeof(name), "%s_count_%s", split_name, d->class_names[c]);
		r = sul_ctx_metric(ctx, name, -1, (double)count[c], err);
		fprintf(stderr, "train: %s: %zu slices of class %d (%s)\n", split_name, count[c], c, d->class_names[c]);
	}
	free(count);
	return r;
}

/* The epoch's order of training rows. */
static size_t epoch_order(const struct sul_slicedata *d, const size_t *tr, size_t ntr, int oversample,
			  struct sul_rng *rng, size_t *order)
{
	size_t n = 0, i, *per, maxc = 0;
	int c;

	if (!oversample) {
		memcpy(order, tr, ntr * sizeof(*tr));
		shuffle(order, ntr, rng);
		return ntr;
	}
	per = sul_xcalloc((size_t)d->classes, sizeof(size_t));
	for (i = 0; i < ntr; i++)
		per[d->rows[tr[i]].label]++;
	for (c = 0; c < d->classes; c++)
		if (per[c] > maxc)
			maxc = per[c];
	for (c = 0; c < d->classes; c++) {
		size_t *mine = sul_xmalloc((per[c] ? per[c] : 1) * sizeof(size_t)), m = 0, k;
		for (i = 0; i < ntr; i++)
			if (d->rows[tr[i]].label == c)
				mine[m++] = tr[i];
		if (m) {
			/* Every image once, then random extra draws up to maxc. */
			for (k = 0; k < maxc; k++)
				order[n++] = k < m ? mine[k] : mine[sul_rng_below(rng, m)];
		}
		free(mine);
	}
	free(per);
	shuffle(order, n, rng);
	return n;
}

/* One training run: what train_run sets up, and what the epochs update.
 * train_run owns it and everything it points to. */
struct trainer {
	const struct sul_stage_ctx *ctx;
	int epochs, batch, patience, classes;
	double rotate, translate, scale_min, scale_max;  /* augmentation */
	int flip;
	struct sul_slicedata d;
	size_t *tr, *va, ntr, nva;         /* training and validation rows of d */
	char *cfg_in, *cfg_out;            /* the given cfg, the one used */
	char *pretrained;                  /* weights to start from, or NULL */
	const struct sul_dn_api *api;
	struct sul_dn_net *net;
	struct sul_dn_info info;
	struct sul_rng rng;
	/* one step's images */
	size_t one;                        /* floats per image */
	float *x, *xa, *probs;             /* the batch, one image before augmentation, outputs */
	int *labels;
	float *cw, *wts;                   /* balance = weight: per class, per image of the batch */
	size_t *order;                     /* the epoch's order of training rows */
	/* the curve so far */
	struct sul_buf hist;               /* history.tsv */
	double best_loss, best_acc, t_start;
	int best_epoch, bad_epochs;
	long steps_done;
};

/* What one epoch's steps add up. */
struct epoch_stats {
	double lr, loss_sum, step_s, secs;
	size_t correct, seen;
	size_t n, steps;                   /* images in the epoch's order, steps over them */
};

/* The training and validation rows of the split, and its class counts as
 * metrics. */
static int split_rows(struct trainer *t, struct sul_err *err)
{
	const struct sul_slicedata *d = &t->d;
	size_t i;

	for (i = 0; i < d->n; i++) {
		if (d->rows[i].split == SUL_SPLIT_TRAIN)
			t->ntr++;
		else if (d->rows[i].split == SUL_SPLIT_VAL)
			t->nva++;
	}
	if (!t->ntr)
		return sul_err_set(err, SUL_ERR_INPUT, "no training slices in '%s' (split column all val/test?)",
				   sul_ctx_str(t->ctx, "table"));
	t->tr = sul_xmalloc(t->ntr * sizeof(*t->tr));
	t->va = sul_xmalloc((t->nva ? t->nva : 1) * sizeof(*t->va));
	t->ntr = t->nva = 0;
	for (i = 0; i < d->n; i++) {
		if (d->rows[i].split == SUL_SPLIT_TRAIN)
			t->tr[t->ntr++] = i;
		else if (d->rows[i].split == SUL_SPLIT_VAL)
			t->va[t->nva++] = i;
	}
	if (!t->nva)
		fprintf(stderr, "train: warning: no validation slices: best.weights is the last epoch's, patience is "
				"off\n");
	return class_metrics(t->ctx, d, "train", SUL_SPLIT_TRAIN, err)
	       || class_metrics(t->ctx, d, "val", SUL_SPLIT_VAL, err) ? -1 : 0;
}

/* Writes model.cfg (the cfg actually used) and classes.tsv, and finds the
 * weights to start from. */
static int write_model(struct trainer *t, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = t->ctx;
	const char *from = sul_ctx_str(ctx, "pretrained_from");
	char *header = sul_xasprintf("written by sulcus train (stage '%s') from %s:\n[net] batch, subdivisions, "
				     "width, height, channels set by the stage; burn_in removed", ctx->id, t->cfg_in);
	int r = sul_model_write_cfg(t->cfg_in, t->cfg_out, t->batch, (int)sul_ctx_int(ctx, "size"), header,
				    &t->classes, err);

	free(header);
	if (r)
		return -1;
	if (t->classes != t->d.classes)
		return sul_err_set(err, SUL_ERR_INPUT, "%s: the network has %d outputs, but the data has %d classes "
				   "(%s%s)", t->cfg_in, t->classes, t->d.classes, t->d.class_names[0],
				   t->d.classes > 1 ? ", ..." : "");
	if (write_classes(ctx, &t->d, err))
		return -1;
	if (*from) {
		const char *dir = sul_ctx_input(ctx, from);
		t->pretrained = sul_xasprintf("%s/best.weights", dir ? dir : "");
	} else if (*sul_ctx_str(ctx, "pretrained")) {
		t->pretrained = sul_ctx_path(ctx, "pretrained");
	}
	return 0;
}

/* Loads the Darknet library, builds the network from model.cfg (with the
 * pretrained weights), records its size, and loads the slices at its input
 * size. */
static int open_network(struct trainer *t, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = t->ctx;
	struct sul_model_device dev;
	struct sul_dn_open o;

	if (sul_model_device(ctx, &dev, err))
		return -1;
	t->api = sul_dn_load(dev.gpu >= 0, err);
	if (!t->api)
		return -1;
	memset(&o, 0, sizeof(o));
	o.cfg = t->cfg_out;
	o.weights = t->pretrained;
	o.load_layers = (int)sul_ctx_int(ctx, "load_layers");
	o.batch = t->batch;
	o.seed = (unsigned long)sul_ctx_int(ctx, "seed");
	o.threads = dev.threads;
	o.gpu = dev.gpu;
	o.backend = dev.backend;
	o.bn_momentum = (float)sul_ctx_float(ctx, "bn_momentum");
	if (t->api->open(&o, &t->net, err))
		return sul_err_prefix(err, "%s", t->cfg_in);
	t->api->info(t->net, &t->info);
	fprintf(stderr, "train: %s: %dx%dx%d input, %d layers, %ld parameters, %s\n", t->cfg_in, t->info.w, t->info.h,
		t->info.c, t->info.nlayers, t->info.params, t->pretrained ? "pretrained" : "from scratch");
	if (sul_model_note_backend(ctx, &t->info, err))
		return -1;
	if (t->pretrained && o.load_layers)
		fprintf(stderr, "train: loaded the first %d layers from %s\n", o.load_layers, t->pretrained);
	else if (t->pretrained)
		fprintf(stderr, "train: loaded all layers from %s\n", t->pretrained);
	if (sul_ctx_metric(ctx, "parameters", -1, (double)t->info.params, err)
	    || sul_ctx_metric(ctx, "gflop_per_image", -1, t->info.flops * 1e-9, err))
		return -1;
	return sul_slicedata_load(&t->d, t->info.w, t->info.h, 1u << SUL_SPLIT_TRAIN | 1u << SUL_SPLIT_VAL, err);
}

/* The step buffers, and with balance = weight each class's loss weight. */
static void alloc_step_buffers(struct trainer *t)
{
	const int batch = t->batch, classes = t->classes;
	size_t i;

	t->one = (size_t)3 * t->info.w * t->info.h;
	t->x = sul_xmalloc(sizeof(float) * t->one * batch);
	t->xa = sul_xmalloc(sizeof(float) * t->one);
	t->probs = sul_xmalloc(sizeof(float) * classes * batch);
	t->labels = sul_xmalloc(sizeof(int) * batch);
	t->order = sul_xmalloc(sizeof(size_t) * (t->ntr * (size_t)classes + batch));
	if (!strcmp(sul_ctx_str(t->ctx, "balance"), "weight")) {
		size_t *per = sul_xcalloc((size_t)classes, sizeof(size_t));
		t->cw = sul_xmalloc(sizeof(float) * classes);
		t->wts = sul_xmalloc(sizeof(float) * batch);
		for (i = 0; i < t->ntr; i++)
			per[t->d.rows[t->tr[i]].label]++;
		for (i = 0; i < (size_t)classes; i++)
			t->cw[i] = per[i] ? (float)((double)t->ntr / (classes * per[i])) : 0;
		free(per);
	}
}

/* Step s's batch: rows of the epoch's order (wrapping around), augmented,
 * with their labels and loss weights. */
static void fill_batch(struct trainer *t, const struct epoch_stats *e, size_t s)
{
	int j;

	for (j = 0; j < t->batch; j++) {
		size_t row = t->order[(s * t->batch + j) % e->n];
		double a = t->rotate > 0 ? (2 * sul_rng_uniform(&t->rng) - 1) * t->rotate : 0;
		double sc = t->scale_min + (t->scale_max - t->scale_min) * sul_rng_uniform(&t->rng);
		double tx = (2 * sul_rng_uniform(&t->rng) - 1) * t->translate;
		double ty = (2 * sul_rng_uniform(&t->rng) - 1) * t->translate;
		int fl = t->flip && sul_rng_uniform(&t->rng) < 0.5;
		sul_slicedata_chw(&t->d, row, t->xa);
		sul_augment_chw(t->xa, t->x + t->one * j, 3, t->info.h, t->info.w, a, sc, tx, ty, fl);
		t->labels[j] = t->d.rows[row].label;
		if (t->wts)
			t->wts[j] = t->cw[t->labels[j]];
	}
}

/* The steps of one epoch over a fresh order of the training rows, with
 * progress on stderr every 10 seconds; e gets the sums. */
static int train_epoch(struct trainer *t, int epoch, struct epoch_stats *e, struct sul_err *err)
{
	const int classes = t->classes;
	const double t0 = sul_now_s();
	double last_report = t0, ts;
	char eta[32];
	size_t s;
	int j;

	memset(e, 0, sizeof(*e));
	e->lr = lr_at(t->ctx, epoch, t->epochs);
	e->n = epoch_order(&t->d, t->tr, t->ntr, !strcmp(sul_ctx_str(t->ctx, "balance"), "oversample"), &t->rng,
			   t->order);
	e->steps = (e->n + t->batch - 1) / t->batch;
	for (s = 0; s < e->steps; s++) {
		fill_batch(t, e, s);
		ts = sul_now_s();
		/* Where a crash in Darknet would be (tests: t6002). */
		sul_fault_crash("train-step");
		if (t->api->train_step(t->net, t->x, t->labels, t->wts, (float)e->lr, t->probs, err))
			return sul_err_prefix(err, "epoch %d, step %zu", epoch, s + 1);
		e->step_s += sul_now_s() - ts;
		for (j = 0; j < t->batch; j++) {
			e->loss_sum += sul_xent(t->probs[classes * j + t->labels[j]]);
			e->correct += sul_argmax(t->probs + classes * j, classes) == t->labels[j];
		}
		e->seen += (size_t)t->batch;
		t->steps_done++;
		if (sul_now_s() - last_report >= 10 && s + 1 < e->steps) {
			double el = sul_now_s() - t->t_start, per_step = el / t->steps_done;
			long left = (long)(t->epochs - epoch) * (long)e->steps + (long)(e->steps - s - 1);
			last_report = sul_now_s();
			sul_format_eta(per_step * left, eta);
			fprintf(stderr, "progress: epoch %d/%d step %zu/%zu loss %.4f %.1f images/s ETA %s\n", epoch,
				t->epochs, s + 1, e->steps, e->loss_sum / e->seen, e->seen / (sul_now_s() - t0), eta);
		}
	}
	e->secs = sul_now_s() - t0;
	return 0;
}

/*
 * After the steps of an epoch: batchnorm statistics, validation, the
 * epoch's line of history.tsv and its metrics, and best.weights when the
 * validation loss is the lowest yet.  *stop = 1 when patience runs out.
 */
static int finish_epoch(struct trainer *t, int epoch, const struct epoch_stats *e, int *stop, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = t->ctx;
	const double rate = e->seen / e->secs, loss = e->loss_sum / e->seen, acc = (double)e->correct / e->seen;
	double val_loss = NAN, val_acc = NAN;
	char eta[32];

	*stop = 0;
	if (precise_bn(t->api, t->net, &t->d, t->order, e->n, t->batch, (int)sul_ctx_int(ctx, "bn_batches"), t->x, err))
		return sul_err_prefix(err, "epoch %d: batchnorm statistics", epoch);
	if (t->nva && validate(t->api, t->net, &t->d, t->va, t->nva, t->batch, t->classes, &val_loss, &val_acc, err))
		return sul_err_prefix(err, "epoch %d: validation", epoch);
	sul_format_eta((sul_now_s() - t->t_start) / epoch * (t->epochs - epoch), eta);
	fprintf(stderr, "progress: epoch %d/%d lr %.3g loss %.4f acc %.3f val_loss %.4f val_acc %.3f %.1f images/s "
			"ETA %s\n", epoch, t->epochs, e->lr, loss, acc, val_loss, val_acc, rate, eta);
	sul_buf_addf(&t->hist, "%d\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\n", epoch, e->lr, loss, acc, val_loss, val_acc);
	if (sul_ctx_metric(ctx, "lr", epoch, e->lr, err) || sul_ctx_metric(ctx, "train_loss", epoch, loss, err)
	    || sul_ctx_metric(ctx, "train_acc", epoch, acc, err)
	    || sul_ctx_timing(ctx, "images_per_s", epoch, rate, err)
	    || sul_ctx_timing(ctx, "step_images_per_s", epoch, e->seen / e->step_s, err)
	    || (t->nva && (sul_ctx_metric(ctx, "val_loss", epoch, val_loss, err)
			   || sul_ctx_metric(ctx, "val_acc", epoch, val_acc, err))))
		return -1;
	if (!t->nva || val_loss < t->best_loss) {
		char *best_path = sul_xasprintf("%s/best.weights", ctx->out);
		int r;
		t->best_loss = t->nva ? val_loss : NAN;
		t->best_acc = val_acc;
		t->best_epoch = epoch;
		t->bad_epochs = 0;
		r = t->api->save(t->net, best_path, err);
		free(best_path);
		return r;
	}
	if (t->patience > 0 && ++t->bad_epochs >= t->patience) {
		fprintf(stderr, "train: early stop after epoch %d: no lower val_loss for %d epochs (best %.4f at "
				"epoch %d)\n", epoch, t->patience, t->best_loss, t->best_epoch);
		*stop = 1;
	}
	return 0;
}

/* After the last epoch: last.weights, history.tsv and the run's metrics. */
static int finish_training(struct trainer *t, int epochs_run, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = t->ctx;
	char *last_path = sul_xasprintf("%s/last.weights", ctx->out), *hpath = NULL, hex[65];
	int ret = -1;

	if (t->api->save(t->net, last_path, err))
		goto out;
	t->api->digest(t->net, hex);
	fprintf(stderr, "train: last weights sha256 %s\n", hex);
	hpath = sul_xasprintf("%s/history.tsv", ctx->out);
	if (sul_write_file_atomic(hpath, t->hist.buf, t->hist.len, err))
		goto out;
	if (sul_ctx_metric(ctx, "epochs_run", -1, epochs_run, err)
	    || sul_ctx_metric(ctx, "best_epoch", -1, t->best_epoch, err)
	    || (t->nva && (sul_ctx_metric(ctx, "best_val_loss", -1, t->best_loss, err)
			   || sul_ctx_metric(ctx, "best_val_acc", -1, t->best_acc, err)))
	    || sul_ctx_timing(ctx, "train_seconds", -1, sul_now_s() - t->t_start, err))
		goto out;
	ret = 0;
out:
	free(last_path);
	free(hpath);
	return ret;
}

static void trainer_release(struct trainer *t)
{
	if (t->net)
		t->api->close(t->net);
	sul_slicedata_release(&t->d);
	sul_buf_release(&t->hist);
	free(t->cfg_in);
	free(t->cfg_out);
	free(t->pretrained);
	free(t->tr);
	free(t->va);
	free(t->order);
	free(t->x);
	free(t->xa);
	free(t->probs);
	free(t->labels);
	free(t->wts);
	free(t->cw);
}

static int train_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	struct trainer t;
	int epoch, stop = 0, ret = -1;

	memset(&t, 0, sizeof(t));
	t.ctx = ctx;
	t.epochs = (int)sul_ctx_int(ctx, "epochs");
	t.batch = (int)sul_ctx_int(ctx, "batch");
	t.patience = (int)sul_ctx_int(ctx, "patience");
	t.rotate = sul_ctx_float(ctx, "rotate");
	t.translate = sul_ctx_float(ctx, "translate");
	t.scale_min = sul_ctx_float(ctx, "scale_min");
	t.scale_max = sul_ctx_float(ctx, "scale_max");
	t.flip = (int)sul_ctx_int(ctx, "flip");
	t.cfg_in = sul_ctx_path(ctx, "network");
	t.cfg_out = sul_xasprintf("%s/model.cfg", ctx->out);
	t.best_loss = INFINITY;
	t.best_acc = NAN;
	t.t_start = sul_now_s();
	sul_rng_seed(&t.rng, (uint64_t)sul_ctx_int(ctx, "seed"));
	if (sul_slicedata_read(ctx, sul_ctx_str(ctx, "table"), &t.d, err) || split_rows(&t, err)
	    || write_model(&t, err) || open_network(&t, err))
		goto out;
	alloc_step_buffers(&t);
	sul_buf_adds(&t.hist, "epoch\tlr\ttrain_loss\ttrain_acc\tval_loss\tval_acc\n");
	for (epoch = 1; epoch <= t.epochs && !stop; epoch++) {
		struct epoch_stats e;
		if (train_epoch(&t, epoch, &e, err) || finish_epoch(&t, epoch, &e, &stop, err))
			goto out;
	}
	if (finish_training(&t, epoch - 1, err))
		goto out;
	ret = 0;
out:
	trainer_release(&t);
	return ret;
}

const struct sul_kind sul_kind_train = {
	.name = "train",
	.version = 1,
	.doc = "trains a Darknet network on the training slices of a split, with augmentation and validation",
	.params = train_params,
	.resources = &train_resources,
	.check = train_check,
	.run = train_run,
};
