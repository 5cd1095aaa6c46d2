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

static int train_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const int epochs = (int)sul_ctx_int(ctx, "epochs"), batch = (int)sul_ctx_int(ctx, "batch");
	const int patience = (int)sul_ctx_int(ctx, "patience");
	const char *balance = sul_ctx_str(ctx, "balance"), *from = sul_ctx_str(ctx, "pretrained_from");
	const double rot = sul_ctx_float(ctx, "rotate"), tr_frac = sul_ctx_float(ctx, "translate");
	const double smin = sul_ctx_float(ctx, "scale_min"), smax = sul_ctx_float(ctx, "scale_max");
	const int flip = (int)sul_ctx_int(ctx, "flip");
	char *cfg_in = sul_ctx_path(ctx, "network"), *pretrained = NULL;
	char *cfg_out = sul_xasprintf("%s/model.cfg", ctx->out), *header = NULL;
	char *best_path = sul_xasprintf("%s/best.weights", ctx->out), *last_path = sul_xasprintf("%s/last.weights", ctx->out);
	struct sul_buf hist = SUL_BUF_INIT;
	struct sul_slicedata d;
	struct sul_dn_net *net = NULL;
	const struct sul_dn_api *api = NULL;
	struct sul_dn_info info;
	struct sul_dn_open o;
	struct sul_rng rng;
	size_t *tr = NULL, *va = NULL, *order = NULL, ntr = 0, nva = 0, i, one;
	float *x = NULL, *xa = NULL, *probs = NULL, *wts = NULL, *cw = NULL;
	int *labels = NULL, classes, epoch, best_epoch = 0, bad_epochs = 0, ret = -1;
	struct sul_model_device dev;
	double best_loss = INFINITY, best_acc = NAN, t_start = sul_now_s();
	long steps_done = 0;
	char hex[65];

	memset(&d, 0, sizeof(d));
	sul_rng_seed(&rng, (uint64_t)sul_ctx_int(ctx, "seed"));
	if (sul_slicedata_read(ctx, sul_ctx_str(ctx, "table"), &d, err))
		goto out;
	for (i = 0; i < d.n; i++) {
		if (d.rows[i].split == SUL_SPLIT_TRAIN)
			ntr++;
		else if (d.rows[i].split == SUL_SPLIT_VAL)
			nva++;
	}
	if (!ntr) {
		sul_err_set(err, SUL_ERR_INPUT, "no training slices in '%s' (split column all val/test?)",
			    sul_ctx_str(ctx, "table"));
		goto out;
	}
	tr = sul_xmalloc(ntr * sizeof(*tr));
	va = sul_xmalloc((nva ? nva : 1) * sizeof(*va));
	ntr = nva = 0;
	for (i = 0; i < d.n; i++) {
		if (d.rows[i].split == SUL_SPLIT_TRAIN)
			tr[ntr++] = i;
		else if (d.rows[i].split == SUL_SPLIT_VAL)
			va[nva++] = i;
	}
	if (!nva)
		fprintf(stderr, "train: warning: no validation slices: best.weights is the last epoch's, patience is "
				"off\n");
	if (class_metrics(ctx, &d, "train", SUL_SPLIT_TRAIN, err) || class_metrics(ctx, &d, "val", SUL_SPLIT_VAL, err))
		goto out;

	/* The cfg actually used. */
	header = sul_xasprintf("written by sulcus train (stage '%s') from %s:\n[net] batch, subdivisions, width, "
			       "height, channels set by the stage; burn_in removed", ctx->id, cfg_in);
	if (sul_model_write_cfg(cfg_in, cfg_out, batch, (int)sul_ctx_int(ctx, "size"), header, &classes, err))
		goto out;
	if (classes != d.classes) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: the network has %d outputs, but the data has %d classes (%s%s)", cfg_in,
			    classes, d.classes, d.class_names[0], d.classes > 1 ? ", ..." : "");
		goto out;
	}
	if (write_classes(ctx, &d, err))
		goto out;
	if (*from) {
		const char *dir = sul_ctx_input(ctx, from);
		pretrained = sul_xasprintf("%s/best.weights", dir ? dir : "");
	} else if (*sul_ctx_str(ctx, "pretrained")) {
		pretrained = sul_ctx_path(ctx, "pretrained");
	}

	if (sul_model_device(ctx, &dev, err))
		goto out;
	api = sul_dn_load(dev.gpu >= 0, err);
	if (!api)
		goto out;
	memset(&o, 0, sizeof(o));
	o.cfg = cfg_out;
	o.weights = pretrained;
	o.load_layers = (int)sul_ctx_int(ctx, "load_layers");
	o.batch = batch;
	o.seed = (unsigned long)sul_ctx_int(ctx, "seed");
	o.threads = dev.threads;
	o.gpu = dev.gpu;
	o.backend = dev.backend;
	o.bn_momentum = (float)sul_ctx_float(ctx, "bn_momentum");
	if (api->open(&o, &net, err)) {
		sul_err_prefix(err, "%s", cfg_in);
		goto out;
	}
	api->info(net, &info);
	fprintf(stderr, "train: %s: %dx%dx%d input, %d layers, %ld parameters, %s\n", cfg_in, info.w, info.h, info.c,
		info.nlayers, info.params, pretrained ? "pretrained" : "from scratch");
	if (sul_model_note_backend(ctx, &info, err))
		goto out;
	if (pretrained && o.load_layers)
		fprintf(stderr, "train: loaded the first %d layers from %s\n", o.load_layers, pretrained);
	else if (pretrained)
		fprintf(stderr, "train: loaded all layers from %s\n", pretrained);
	if (sul_ctx_metric(ctx, "parameters", -1, (double)info.params, err)
	    || sul_ctx_metric(ctx, "gflop_per_image", -1, info.flops * 1e-9, err))
		goto out;
	if (sul_slicedata_load(&d, info.w, info.h, 1u << SUL_SPLIT_TRAIN | 1u << SUL_SPLIT_VAL, err))
		goto out;

	one = (size_t)3 * info.w * info.h;
	x = sul_xmalloc(sizeof(float) * one * batch);
	xa = sul_xmalloc(sizeof(float) * one);
	probs = sul_xmalloc(sizeof(float) * classes * batch);
	labels = sul_xmalloc(sizeof(int) * batch);
	order = sul_xmalloc(sizeof(size_t) * (ntr * (size_t)classes + batch));
	if (!strcmp(balance, "weight")) {
		size_t *per = sul_xcalloc((size_t)classes, sizeof(size_t));
		cw = sul_xmalloc(sizeof(float) * classes);
		wts = sul_xmalloc(sizeof(float) * batch);
		for (i = 0; i < ntr; i++)
			per[d.rows[tr[i]].label]++;
		for (i = 0; i < (size_t)classes; i++)
			cw[i] = per[i] ? (float)((double)ntr / (classes * per[i])) : 0;
		free(per);
	}
	sul_buf_adds(&hist, "epoch\tlr\ttrain_loss\ttrain_acc\tval_loss\tval_acc\n");

	for (epoch = 1; epoch <= epochs; epoch++) {
		const double lr = lr_at(ctx, epoch, epochs), t0 = sul_now_s();
		size_t n = epoch_order(&d, tr, ntr, !strcmp(balance, "oversample"), &rng, order), steps, s;
		double loss_sum = 0, last_report = t0, val_loss = NAN, val_acc = NAN, secs, rate, step_s = 0, ts;
		size_t correct = 0, seen = 0;
		char eta[32];
		int j;

		steps = (n + batch - 1) / batch;
		for (s = 0; s < steps; s++) {
			for (j = 0; j < batch; j++) {
				size_t row = order[(s * batch + j) % n];
				double a = rot > 0 ? (2 * sul_rng_uniform(&rng) - 1) * rot : 0;
				double sc = smin + (smax - smin) * sul_rng_uniform(&rng);
				double tx = (2 * sul_rng_uniform(&rng) - 1) * tr_frac, ty = (2 * sul_rng_uniform(&rng) - 1) * tr_frac;
				int fl = flip && sul_rng_uniform(&rng) < 0.5;
				sul_slicedata_chw(&d, row, xa);
				sul_augment_chw(xa, x + one * j, 3, info.h, info.w, a, sc, tx, ty, fl);
				labels[j] = d.rows[row].label;
				if (wts)
					wts[j] = cw[labels[j]];
			}
			ts = sul_now_s();
			/* Where a crash in Darknet would be (tests: t6002). */
			sul_fault_crash("train-step");
			if (api->train_step(net, x, labels, wts, (float)lr, probs, err)) {
				sul_err_prefix(err, "epoch %d, step %zu", epoch, s + 1);
				goto out;
			}
			step_s += sul_now_s() - ts;
			for (j = 0; j < batch; j++) {
				loss_sum += sul_xent(probs[classes * j + labels[j]]);
				correct += sul_argmax(probs + classes * j, classes) == labels[j];
			}
			seen += (size_t)batch;
			steps_done++;
			if (sul_now_s() - last_report >= 10 && s + 1 < steps) {
				double el = sul_now_s() - t_start, per_step = el / steps_done;
				long left = (long)(epochs - epoch) * (long)steps + (long)(steps - s - 1);
				last_report = sul_now_s();
				sul_format_eta(per_step * left, eta);
				fprintf(stderr, "progress: epoch %d/%d step %zu/%zu loss %.4f %.1f images/s ETA %s\n", epoch,
					epochs, s + 1, steps, loss_sum / seen, seen / (sul_now_s() - t0), eta);
			}
		}
		secs = sul_now_s() - t0;
		rate = seen / secs;
		if (precise_bn(api, net, &d, order, n, batch, (int)sul_ctx_int(ctx, "bn_batches"), x, err)) {
			sul_err_prefix(err, "epoch %d: batchnorm statistics", epoch);
			goto out;
		}
		if (nva && validate(api, net, &d, va, nva, batch, classes, &val_loss, &val_acc, err)) {
			sul_err_prefix(err, "epoch %d: validation", epoch);
			goto out;
		}
		sul_format_eta((sul_now_s() - t_start) / epoch * (epochs - epoch), eta);
		fprintf(stderr, "progress: epoch %d/%d lr %.3g loss %.4f acc %.3f val_loss %.4f val_acc %.3f %.1f images/s "
				"ETA %s\n", epoch, epochs, lr, loss_sum / seen, (double)correct / seen, val_loss, val_acc,
			rate, eta);
		sul_buf_addf(&hist, "%d\t%.6g\t%.6f\t%.6f\t%.6f\t%.6f\n", epoch, lr, loss_sum / seen,
			     (double)correct / seen, val_loss, val_acc);
		if (sul_ctx_metric(ctx, "lr", epoch, lr, err) || sul_ctx_metric(ctx, "train_loss", epoch, loss_sum / seen, err)
		    || sul_ctx_metric(ctx, "train_acc", epoch, (double)correct / seen, err)
		    || sul_ctx_timing(ctx, "images_per_s", epoch, rate, err)
		    || sul_ctx_timing(ctx, "step_images_per_s", epoch, seen / step_s, err)
		    || (nva && (sul_ctx_metric(ctx, "val_loss", epoch, val_loss, err)
				|| sul_ctx_metric(ctx, "val_acc", epoch, val_acc, err))))
			goto out;
		if (!nva || val_loss < best_loss) {
			best_loss = nva ? val_loss : NAN;
			best_acc = val_acc;
			best_epoch = epoch;
			bad_epochs = 0;
			if (api->save(net, best_path, err))
				goto out;
		} else if (patience > 0 && ++bad_epochs >= patience) {
			fprintf(stderr, "train: early stop after epoch %d: no lower val_loss for %d epochs (best %.4f at "
					"epoch %d)\n", epoch, patience, best_loss, best_epoch);
			epoch++;
			break;
		}
	}
	if (api->save(net, last_path, err))
		goto out;
	api->digest(net, hex);
	fprintf(stderr, "train: last weights sha256 %s\n", hex);
	{
		char *hpath = sul_xasprintf("%s/history.tsv", ctx->out);
		int r = sul_write_file_atomic(hpath, hist.buf, hist.len, err);
		free(hpath);
		if (r)
			goto out;
	}
	if (sul_ctx_metric(ctx, "epochs_run", -1, epoch - 1, err) || sul_ctx_metric(ctx, "best_epoch", -1, best_epoch, err)
	    || (nva && (sul_ctx_metric(ctx, "best_val_loss", -1, best_loss, err)
			|| sul_ctx_metric(ctx, "best_val_acc", -1, best_acc, err)))
	    || sul_ctx_timing(ctx, "train_seconds", -1, sul_now_s() - t_start, err))
		goto out;
	ret = 0;
out:
	if (net)
		api->close(net);
	sul_slicedata_release(&d);
	sul_buf_release(&hist);
	free(cfg_in);
	free(cfg_out);
	free(header);
	free(pretrained);
	free(best_path);
	free(last_path);
	free(tr);
	free(va);
	free(order);
	free(x);
	free(xa);
	free(probs);
	free(labels);
	free(wts);
	free(cw);
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
