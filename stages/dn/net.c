/*
 * net.c - the table of dn.h over libdarknet: open a network (parse, fix the
 * layers, initialize or load weights), train one step, predict, save.
 *
 * What Darknet does not check, we check first: the weights file's size
 * against the cfg (Darknet reads whatever is there), that the saving folder
 * is writable (Darknet exit(0)s), that batch sizes match (a larger batch
 * than parsed overflows the heap).  The cfg itself has been validated by
 * the caller (stages/netcfg.c) before it reaches parse_network_cfg().
 * Darknet's rand() drives initialization and dropout: open() seeds it, so
 * a run is deterministic for a seed.  In the CUDA build a network opened
 * on a device computes there; the sul_dn_*pull/push calls (gpu.c) keep
 * the host arrays that this file reads in step, and do nothing otherwise.
 */
#include "../../engine/err.h"
#include "../../engine/strbuf.h"
#include "../dn.h"
#include "../rng.h"
#include "darknet_internal.h"
#include "onednn.h"
#include "shim.h"

#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct sul_dn_net {
	network *net;
	int classes;
	long steps;          /* training steps taken */
	float bn_momentum;
	float *input_delta;  /* gradients(): d(score)/d(input), batch x inputs */
	float *input_delta_dev;  /* its device copy (CUDA build) */
	float **prev_mean;   /* per layer: rolling statistics before the step */
	float **prev_var;
	double **sum_mean;   /* bn_add(): per layer, sums of batch statistics */
	double **sum_var;
	long bn_batches;
	struct sul_dnnl *plan;  /* the oneDNN backend; NULL: Darknet's own layers */
	/* After an inference forward of fwd_images images (0: none since the
	 * last other pass), layers below fwd_valid hold their outputs: what
	 * forward_from() builds on. */
	int fwd_images, fwd_valid;
	char backend[160];      /* what runs it, for info() */
};

/* Darknet's forward_network() or the oneDNN plan's. */
static int net_forward(struct sul_dn_net *h, struct sul_err *err)
{
	h->fwd_images = 0;  /* forward_inference() sets it after */
	if (h->plan)
		return sul_dnnl_forward(h->plan, err);
	forward_network(h->net);
	return 0;
}

/* The parameters or batchnorm statistics in Darknet's arrays changed. */
static void params_changed(struct sul_dn_net *h)
{
	h->fwd_images = 0;
	if (h->plan)
		sul_dnnl_params_changed(h->plan);
}

/* Layer l's output (and delta) in Darknet's host arrays, n floats. */
static int io_pull(struct sul_dn_net *h, layer *l, int output, int delta, size_t n, struct sul_err *err)
{
	if (h->plan)
		return sul_dnnl_pull(h->plan, (int)(l - h->net->layers), output, delta, err);
	sul_dn_io_pull(h->net, l, output, delta, n);
	return 0;
}

static int bn_channels(const layer *l)
{
	return l->type == CONNECTED ? l->outputs : l->n;
}

/*
 * Darknet moves batchnorm's rolling statistics 1% toward each batch's, from
 * mean 0 and variance 1 (as we start them).  In a short training the
 * weights change faster than that average follows, and inference
 * (validation after an epoch, say) normalizes with stale statistics: a
 * tiny network that is 99% right in training mode can be at chance in
 * inference.  So step t moves them by max(1/t, momentum): the plain average
 * of the first batches, then an exponential average (momentum 0.1 is
 * PyTorch's default; 0.01 reproduces Darknet).
 */
static void bn_save(struct sul_dn_net *h)
{
	int i;

	for (i = 0; i < h->net->n; i++) {
		layer *l = &h->net->layers[i];
		if (!h->prev_mean[i])
			continue;
		sul_dn_bn_pull(h->net, l, SUL_DN_ROLLING);
		memcpy(h->prev_mean[i], l->rolling_mean, sizeof(float) * (size_t)bn_channels(l));
		memcpy(h->prev_var[i], l->rolling_variance, sizeof(float) * (size_t)bn_channels(l));
	}
}

static void bn_average(struct sul_dn_net *h)
{
	const float t = 1.0f / (float)h->steps, a = t > h->bn_momentum ? t : h->bn_momentum;
	int i, c;

	if (a == 0.01f)
		return;  /* Darknet's own update is this one */
	for (i = 0; i < h->net->n; i++) {
		layer *l = &h->net->layers[i];
		if (!h->prev_mean[i])
			continue;
		sul_dn_bn_pull(h->net, l, SUL_DN_BATCH);
		for (c = 0; c < bn_channels(l); c++) {
			l->rolling_mean[c] = h->prev_mean[i][c] + a * (l->mean[c] - h->prev_mean[i][c]);
			l->rolling_variance[c] = h->prev_var[i][c] + a * (l->variance[c] - h->prev_var[i][c]);
		}
		sul_dn_bn_push_rolling(h->net, l);
	}
}

/* Learnable weights of a convolutional or connected layer (Darknet sets
 * nweights for convolutions only). */
static long layer_nweights(const layer *l)
{
	return l->type == CONNECTED ? (long)l->inputs * l->outputs : l->nweights;
}

/* Bytes that layer l occupies in a .weights file (0: none); -1: a layer
 * type whose weights we do not account for. */
static long layer_weight_floats(const layer *l)
{
	switch (l->type) {
	case CONVOLUTIONAL:
		return (long)l->n + (l->batch_normalize ? 3L * l->n : 0) + l->nweights;
	case CONNECTED:
		return (long)l->outputs + (long)l->outputs * l->inputs + (l->batch_normalize ? 3L * l->outputs : 0);
	case BATCHNORM:
		return 3L * l->c;
	case DECONVOLUTIONAL: case RNN: case GRU: case LSTM: case CRNN: case LOCAL:
		return -1;
	default:
		return 0;
	}
}

#define HEADER_BYTES (3 * sizeof(int) + sizeof(size_t))

/* Size of a weights file holding the first upto layers (0: all). */
static int weights_bytes(network *net, int upto, size_t *bytes, struct sul_err *err)
{
	size_t floats = 0;
	int i;

	for (i = 0; i < net->n && (!upto || i < upto); i++) {
		long f = layer_weight_floats(&net->layers[i]);
		if (f < 0)
			return sul_err_set(err, SUL_ERR_INPUT, "layer %d: weights of [%s] layers are not supported", i,
					   get_layer_string(net->layers[i].type));
		floats += (size_t)f;
	}
	*bytes = HEADER_BYTES + floats * sizeof(float);
	return 0;
}

static int check_weights_file(network *net, const char *path, int upto, struct sul_err *err)
{
	size_t need = 0, full = 0;
	struct stat st;
	int header[3];
	FILE *f;

	if (weights_bytes(net, upto, &need, err) || weights_bytes(net, 0, &full, err))
		return -1;
	f = fopen(path, "rb");
	if (!f)
		return sul_err_sys(err, "%s", path);
	if (fstat(fileno(f), &st) || fread(header, sizeof(int), 3, f) != 3) {
		fclose(f);
		return sul_err_set(err, SUL_ERR_INPUT, "%s: not a Darknet weights file (shorter than its header)",
				   path);
	}
	fclose(f);
	if (header[0] * 10 + header[1] < 2 || header[0] >= 1000 || header[1] >= 1000)
		return sul_err_set(err, SUL_ERR_INPUT,
				   "%s: weights format version %d.%d; expected 0.2 or later (as Darknet writes since 2017)",
				   path, header[0], header[1]);
	if (upto && (size_t)st.st_size < need)
		return sul_err_set(err, SUL_ERR_INPUT,
				   "%s: %lld bytes, but the weights of this network's first %d layers take %zu bytes: "
				   "weights for another network?",
				   path, (long long)st.st_size, upto, need);
	if (!upto && (size_t)st.st_size != full)
		return sul_err_set(err, SUL_ERR_INPUT,
				   "%s: %lld bytes, but the weights of this network take %zu bytes: weights for another "
				   "network? (load_layers loads only the first layers)",
				   path, (long long)st.st_size, full);
	return 0;
}

static void dn_close(struct sul_dn_net *h);

static int dn_open(const struct sul_dn_open *o, struct sul_dn_net **out, struct sul_err *err)
{
	struct sul_dn_net *h;
	network *net;
	int i;

	*out = NULL;
	if (sul_dn_gpu_select(o->gpu, err))
		return -1;
	sul_dn_set_threads(o->threads);
	srand((unsigned)o->seed);
	net = parse_network_cfg((char *)o->cfg);
	if (!net)
		return sul_err_set(err, SUL_ERR_INPUT, "%s: Darknet could not parse it", o->cfg);
	if (net->batch != o->batch) {
		int parsed = net->batch;
		free_network(net);
		return sul_err_set(err, SUL_ERR_INPUT, "%s: [net] batch=%d, expected %d", o->cfg, parsed, o->batch);
	}
	for (i = 0; i < net->n; i++) {
		const layer *l = &net->layers[i];
		/* Darknet goes on with an empty layer (and oneDNN divides by zero). */
		if (l->outputs <= 0 || (l->type != CONNECTED && l->type != SOFTMAX && l->type != DROPOUT
					&& (l->out_w <= 0 || l->out_h <= 0 || l->out_c <= 0))) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: layer %d [%s] has an empty output (%dx%dx%d): the %dx%d input "
				    "is too small for this network", o->cfg, i, get_layer_string(l->type), l->out_w, l->out_h,
				    l->out_c, net->w, net->h);
			free_network(net);
			return -1;
		}
	}
	sul_dn_fix_layers(net);
	/* Fresh batchnorm layers have rolling_variance 0: inference would divide by
	 * ~1e-6.  Start them at 1, as other frameworks do. */
	for (i = 0; i < net->n; i++) {
		layer *l = &net->layers[i];
		if (l->batch_normalize && l->rolling_variance) {
			fill_cpu(l->type == CONNECTED ? l->outputs : l->n, 1, l->rolling_variance, 1);
			sul_dn_bn_push_rolling(net, l);
		}
	}
	if (o->weights) {
		if (check_weights_file(net, o->weights, o->load_layers, err)) {
			free_network(net);
			return -1;
		}
		load_weights_upto(net, (char *)o->weights, 0, o->load_layers ? o->load_layers : net->n);
	}
	*net->seen = 0;
	h = calloc(1, sizeof(*h));
	if (!h) {
		free_network(net);
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	}
	h->net = net;
	snprintf(h->backend, sizeof(h->backend), "darknet");
	if (o->backend == SUL_DN_ONEDNN && o->gpu < 0) {
		struct sul_err why = SUL_ERR_INIT;
		if (!sul_dnnl_new(net, &h->plan, &why)) {
			snprintf(h->backend, sizeof(h->backend), "onednn (%s)", sul_dnnl_isa());
		} else if (why.kind == SUL_ERR_INPUT) {
			/* A layer it does not run: Darknet's own path runs it all. */
			snprintf(h->backend, sizeof(h->backend), "darknet (%.140s)", why.msg);
		} else {
			free(h);
			free_network(net);
			*err = why;
			return -1;
		}
	} else if (o->gpu >= 0) {
		snprintf(h->backend, sizeof(h->backend), "darknet (cuda)");
	}
	h->classes = net->outputs;
	h->bn_momentum = o->bn_momentum > 0 ? o->bn_momentum : 0.01f;
	h->prev_mean = calloc((size_t)net->n, sizeof(float *));
	h->prev_var = calloc((size_t)net->n, sizeof(float *));
	for (i = 0; h->prev_mean && h->prev_var && i < net->n; i++) {
		const layer *l = &net->layers[i];
		if (l->batch_normalize && l->rolling_mean && l->mean && l->variance) {
			h->prev_mean[i] = calloc((size_t)bn_channels(l), sizeof(float));
			h->prev_var[i] = calloc((size_t)bn_channels(l), sizeof(float));
			if (!h->prev_mean[i] || !h->prev_var[i])
				break;
		}
	}
	if (!h->prev_mean || !h->prev_var || i < net->n) {
		dn_close(h);
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	}
	*out = h;
	return 0;
}

static void dn_close(struct sul_dn_net *h)
{
	int i;

	if (!h)
		return;
	/* Also after an allocation failed half-way (dn_open, dn_bn_add). */
	for (i = 0; i < h->net->n; i++) {
		if (h->prev_mean)
			free(h->prev_mean[i]);
		if (h->prev_var)
			free(h->prev_var[i]);
		if (h->sum_mean)
			free(h->sum_mean[i]);
		if (h->sum_var)
			free(h->sum_var[i]);
	}
	free(h->prev_mean);
	free(h->prev_var);
	free(h->sum_mean);
	free(h->sum_var);
	free(h->input_delta);
	sul_dn_dev_free(h->net, h->input_delta_dev);
	sul_dnnl_free(h->plan);
	free_network(h->net);
	free(h);
}

static void dn_layer(const struct sul_dn_net *h, int i, struct sul_dn_layer *out)
{
	const layer *l = &h->net->layers[i];
	long p = layer_weight_floats(l);

	memset(out, 0, sizeof(*out));
	snprintf(out->type, sizeof(out->type), "%s", get_layer_string(l->type));
	out->w = l->w, out->h = l->h, out->c = l->c;
	out->out_w = l->out_w, out->out_h = l->out_h, out->out_c = l->out_c;
	out->size = l->size, out->stride = l->stride, out->filters = l->n;
	out->batch_normalize = l->batch_normalize;
	/* Rolling statistics are state, not learnable parameters. */
	if (p > 0 && l->batch_normalize)
		p -= 2L * (l->type == CONNECTED ? l->outputs : l->n);
	out->params = p > 0 ? p : 0;
	out->weights = l->type == CONVOLUTIONAL || l->type == CONNECTED ? layer_nweights(l) : 0;
}

static void dn_info(const struct sul_dn_net *h, struct sul_dn_info *info)
{
	network *net = h->net;
	int i, n = net->n;

	memset(info, 0, sizeof(*info));
	info->w = net->w, info->h = net->h, info->c = net->c;
	info->classes = net->outputs;
	info->batch = net->batch;
	info->nlayers = n;
	snprintf(info->backend, sizeof(info->backend), "%s", h->backend);
	info->softmax_last = n > 0 && net->layers[n - 1].type == SOFTMAX;
	info->gap_layer = -1;
	if (n >= 4 && net->layers[n - 1].type == SOFTMAX && net->layers[n - 2].type == CONNECTED
	    && !net->layers[n - 2].batch_normalize && net->layers[n - 3].type == AVGPOOL
	    && net->layers[n - 4].out_w * net->layers[n - 4].out_h > 1)
		info->gap_layer = n - 4;
	/* Feature layers only: a max pool or dropout after the last convolution
	 * holds the same maps, coarser or identical. */
	info->last_spatial = -1;
	for (i = 0; i < n; i++) {
		const layer *l = &net->layers[i];
		if (l->type == AVGPOOL || l->type == CONNECTED || l->type == SOFTMAX)
			break;
		if (l->out_w * l->out_h > 1 && (l->type == CONVOLUTIONAL || l->type == SHORTCUT || l->type == ROUTE
						 || l->type == BATCHNORM || l->type == ACTIVE))
			info->last_spatial = i;
	}
	for (i = 0; i < n; i++) {
		const layer *l = &net->layers[i];
		struct sul_dn_layer li;
		dn_layer(h, i, &li);
		info->params += li.params;
		if (l->type == CONVOLUTIONAL)
			info->flops += 2.0 * l->nweights * l->out_w * l->out_h;
		else if (l->type == CONNECTED)
			info->flops += 2.0 * l->inputs * l->outputs;
	}
	weights_bytes(net, 0, &info->weights_bytes, NULL);
}

static int finite_all(const float *x, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return 0;
	return 1;
}

/* Forward and backward of one training batch (train_network_datum(), with
 * per-image weights on the loss gradient); no update. */
static int train_pass(struct sul_dn_net *h, const float *x, const int *labels, const float *weight, float *probs,
		      struct sul_err *err)
{
	network *net = h->net;
	const int b = net->batch, k = h->classes;
	layer *last = &net->layers[net->n - 1];
	int i, j;

	memcpy(net->input, x, sizeof(float) * (size_t)b * net->inputs);
	memset(net->truth, 0, sizeof(float) * (size_t)b * net->truths);
	for (i = 0; i < b; i++) {
		if (labels[i] < 0 || labels[i] >= k)
			return sul_err_set(err, SUL_ERR_FAIL, "label %d outside 0..%d", labels[i], k - 1);
		net->truth[i * net->truths + labels[i]] = 1;
	}
	net->train = 1;
	if (net_forward(h, err))
		return -1;
	memcpy(probs, net->output, sizeof(float) * (size_t)b * k);
	if (!finite_all(probs, (size_t)b * k))
		return sul_err_set(err, SUL_ERR_FAIL, "the network's output is not finite (NaN or inf): the learning "
				   "rate may be too high");
	if (weight) {
		sul_dn_io_pull(net, last, 0, 1, (size_t)b * k);
		for (i = 0; i < b; i++)
			for (j = 0; j < k; j++)
				last->delta[i * k + j] *= weight[i];
		sul_dn_delta_push(net, last, (size_t)b * k);
	}
	if (h->plan)
		return sul_dnnl_backward(h->plan, -1, NULL, 0, err);
	backward_network(net);
	return 0;
}

static int dn_train_step(struct sul_dn_net *h, const float *x, const int *labels, const float *weight, float lr,
			 float *probs, struct sul_err *err)
{
	network *net = h->net;

	/* Our learning rate (policy constant, no burn-in: the caller schedules). */
	*net->seen += net->batch;
	h->steps++;
	bn_save(h);
	if (train_pass(h, x, labels, weight, probs, err))
		return -1;
	bn_average(h);
	net->learning_rate = lr;
	net->policy = CONSTANT;
	net->burn_in = 0;
	update_network(net);
	params_changed(h);
	return 0;
}

/* The arrays of param(): the layer's, or NULL. */
static float *param_array(layer *l, int which, size_t *n)
{
	const size_t outs = (size_t)(l->type == CONNECTED ? l->outputs : l->n);

	if (l->type != CONVOLUTIONAL && l->type != CONNECTED)
		return NULL;
	*n = outs;
	switch (which) {
	case SUL_DN_WEIGHTS: *n = (size_t)layer_nweights(l); return l->weights;
	case SUL_DN_WEIGHT_GRADS: *n = (size_t)layer_nweights(l); return l->weight_updates;
	case SUL_DN_BIASES: return l->biases;
	case SUL_DN_BIAS_GRADS: return l->bias_updates;
	case SUL_DN_SCALE_GRADS: return l->batch_normalize ? l->scale_updates : NULL;
	default: return NULL;
	}
}

static int dn_loss_gradients(struct sul_dn_net *h, const float *x, const int *labels, const float *weight,
			     float *probs, struct sul_err *err)
{
	int i, w;

	for (i = 0; i < h->net->n; i++)
		for (w = SUL_DN_WEIGHT_GRADS; w <= SUL_DN_SCALE_GRADS; w++) {
			size_t n = 0;
			float *a = param_array(&h->net->layers[i], w, &n);
			if (a)
				memset(a, 0, sizeof(float) * n);
		}
	for (i = 0; i < h->net->n; i++)
		sul_dn_params_push(h->net, &h->net->layers[i]);
	if (train_pass(h, x, labels, weight, probs, err))
		return -1;
	for (i = 0; i < h->net->n; i++)
		sul_dn_params_pull(h->net, &h->net->layers[i]);
	return 0;
}

static int dn_param(struct sul_dn_net *h, int i, int which, float *buf, size_t n, int write, struct sul_err *err)
{
	size_t have = 0;
	float *a;

	if (i < 0 || i >= h->net->n)
		return sul_err_set(err, SUL_ERR_INPUT, "layer %d: expected 0 to %d", i, h->net->n - 1);
	a = param_array(&h->net->layers[i], which, &have);
	if (!a || n > have || (write && which != SUL_DN_WEIGHTS && which != SUL_DN_BIASES))
		return sul_err_set(err, SUL_ERR_INPUT, "layer %d: no such array, or fewer than %zu values", i, n);
	sul_dn_params_pull(h->net, &h->net->layers[i]);
	if (!write) {
		memcpy(buf, a, sizeof(float) * n);
		return 0;
	}
	memcpy(a, buf, sizeof(float) * n);
	sul_dn_params_push(h->net, &h->net->layers[i]);
	params_changed(h);
	return 0;
}

/* Input of n images into the batch, the rest zero; inference forward. */
static int forward_inference(struct sul_dn_net *h, const float *x, int n, struct sul_err *err)
{
	network *net = h->net;
	float *truth = net->truth, *delta = net->delta;
	int r;

	memcpy(net->input, x, sizeof(float) * (size_t)n * net->inputs);
	if (n < net->batch)
		memset(net->input + (size_t)n * net->inputs, 0, sizeof(float) * (size_t)(net->batch - n) * net->inputs);
	net->truth = NULL;
	net->delta = NULL;
	net->train = 0;
	r = net_forward(h, err);
	if (!r) {
		h->fwd_images = n;
		h->fwd_valid = net->n;
	}
	net->truth = truth;
	net->delta = delta;
	return r;
}

static int dn_predict(struct sul_dn_net *h, const float *x, int n, float *probs, struct sul_err *err)
{
	network *net = h->net;

	if (n < 1 || n > net->batch)
		return sul_err_set(err, SUL_ERR_FAIL, "predict: %d images, batch is %d", n, net->batch);
	if (forward_inference(h, x, n, err))
		return -1;
	memcpy(probs, net->output, sizeof(float) * (size_t)n * h->classes);
	if (!finite_all(probs, (size_t)n * h->classes))
		return sul_err_set(err, SUL_ERR_FAIL, "the network's output is not finite (NaN or inf)");
	return 0;
}

static int dn_logits(struct sul_dn_net *h, const float *x, int n, float *out, struct sul_err *err)
{
	network *net = h->net;
	layer *pre;

	if (n < 1 || n > net->batch)
		return sul_err_set(err, SUL_ERR_FAIL, "logits: %d images, batch is %d", n, net->batch);
	if (net->n < 2 || net->layers[net->n - 1].type != SOFTMAX)
		return sul_err_set(err, SUL_ERR_INPUT, "the network does not end in [softmax]");
	if (forward_inference(h, x, n, err))
		return -1;
	pre = &net->layers[net->n - 2];
	if (io_pull(h, pre, 1, 0, (size_t)n * h->classes, err))
		return -1;
	memcpy(out, pre->output, sizeof(float) * (size_t)n * h->classes);
	return 0;
}

static int dn_forward_from(struct sul_dn_net *h, int n, int at, const float *acts, float *out, struct sul_err *err)
{
	network *net = h->net;
	layer *l, *pre;

	if (n < 1 || n > net->batch)
		return sul_err_set(err, SUL_ERR_FAIL, "forward_from: %d images, batch is %d", n, net->batch);
	if (net->n < 2 || net->layers[net->n - 1].type != SOFTMAX)
		return sul_err_set(err, SUL_ERR_INPUT, "the network does not end in [softmax]");
	if (at < 0 || at > net->n - 3)
		return sul_err_set(err, SUL_ERR_INPUT, "forward_from: layer %d: expected 0 to %d", at, net->n - 3);
	if (n != h->fwd_images || at > h->fwd_valid)
		return sul_err_set(err, SUL_ERR_FAIL, "forward_from: layer %d needs an inference pass of the same %d "
				   "images before it", at, n);
	l = &net->layers[at];
	memcpy(l->output, acts, sizeof(float) * (size_t)n * l->outputs);
	/* From here the layers from `at` up hold other outputs, even if the
	 * pass fails halfway. */
	h->fwd_valid = at;
	if (h->plan) {
		if (sul_dnnl_forward_from(h->plan, at + 1, err))
			return -1;
	} else {
		sul_dn_forward_layers(net, at + 1);
	}
	pre = &net->layers[net->n - 2];
	if (io_pull(h, pre, 1, 0, (size_t)n * h->classes, err))
		return -1;
	memcpy(out, pre->output, sizeof(float) * (size_t)n * h->classes);
	if (!finite_all(out, (size_t)n * h->classes))
		return sul_err_set(err, SUL_ERR_FAIL, "the network's output is not finite (NaN or inf)");
	return 0;
}

static int dn_gradients(struct sul_dn_net *h, const float *x, int n, int target_layer, const int *target, int score,
			float *acts, float *grads, float *probs, struct sul_err *err)
{
	network *net = h->net;
	const int k = h->classes, last = net->n - 1, guided = !!(score & SUL_DN_GUIDED);
	layer *soft = &net->layers[last];
	size_t count;
	int b, i, j;

	score &= ~SUL_DN_GUIDED;

	if (n < 1 || n > net->batch)
		return sul_err_set(err, SUL_ERR_FAIL, "gradients: %d images, batch is %d", n, net->batch);
	if (soft->type != SOFTMAX)
		return sul_err_set(err, SUL_ERR_INPUT, "the network does not end in [softmax]");
	if (target_layer < -1 || target_layer >= last)
		return sul_err_set(err, SUL_ERR_INPUT, "layer %d: expected -1 (the input) to %d", target_layer, last - 1);
	for (b = 0; b < n; b++)
		if (target[b] < 0 || target[b] >= k)
			return sul_err_set(err, SUL_ERR_INPUT, "target class %d outside 0..%d", target[b], k - 1);
	if (forward_inference(h, x, n, err))
		return -1;
	if (probs)
		memcpy(probs, net->output, sizeof(float) * (size_t)n * k);
	/* forward_network() zeroed every delta.  Softmax's backward adds its
	 * delta to the logits' unchanged, so seed it with d(score)/d(logits). */
	memset(soft->delta, 0, sizeof(float) * (size_t)net->batch * soft->outputs);
	for (b = 0; b < n; b++) {
		float *d = soft->delta + (size_t)b * k;
		const float *p = soft->output + (size_t)b * k;
		const int c = target[b];
		if (score == SUL_DN_PROB)
			for (j = 0; j < k; j++)
				d[j] = p[c] * ((j == c) - p[j]);
		else
			d[c] = 1;
	}
	sul_dn_delta_push(net, soft, (size_t)net->batch * soft->outputs);
	if (target_layer == -1) {
		count = (size_t)net->batch * net->inputs;
		if (!h->input_delta)
			h->input_delta = calloc(count, sizeof(float));
		if (!h->input_delta)
			return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
		memset(h->input_delta, 0, count * sizeof(float));
	}
	/* backward_network(), stopping above the target layer, whose delta then
	 * holds d(score)/d(its output): its own backward would overwrite it. */
	if (h->plan) {
		if (sul_dnnl_backward(h->plan, target_layer, h->input_delta, guided, err))
			return -1;
	} else {
		for (i = last; i > target_layer; i--) {
			if (guided)
				sul_dn_guide(net, &net->layers[i]);
			sul_dn_backward_layer(net, i, h->input_delta, &h->input_delta_dev);
		}
	}
	if (target_layer == -1) {
		count = (size_t)n * net->inputs;
		memcpy(acts, x, count * sizeof(float));
		memcpy(grads, h->input_delta, count * sizeof(float));
	} else {
		layer *t = &net->layers[target_layer];
		count = (size_t)n * t->outputs;
		if (io_pull(h, t, 1, 1, count, err))
			return -1;
		memcpy(acts, t->output, count * sizeof(float));
		memcpy(grads, t->delta, count * sizeof(float));
	}
	return 0;
}

static int dn_cam_weights(const struct sul_dn_net *h, float *w, struct sul_err *err)
{
	struct sul_dn_info info;
	layer *fc;

	dn_info(h, &info);
	if (info.gap_layer < 0)
		return sul_err_set(err, SUL_ERR_INPUT, "not a GAP head (spatial layer, [avgpool], [connected], [softmax])");
	fc = &h->net->layers[info.gap_layer + 2];
	sul_dn_params_pull(h->net, fc);
	/* Darknet's connected weights are outputs x inputs, row-major. */
	memcpy(w, fc->weights, sizeof(float) * (size_t)fc->outputs * fc->inputs);
	return 0;
}

static void dn_randomize(struct sul_dn_net *h, unsigned long seed, int from)
{
	struct sul_rng rng;
	int i;
	long j;

	for (i = from > 0 ? from : 0; i < h->net->n; i++) {
		layer *l = &h->net->layers[i];
		long nw = layer_nweights(l);
		float scale;
		if (l->type != CONVOLUTIONAL && l->type != CONNECTED)
			continue;
		/* Each layer its own stream: a layer draws the same weights
		 * whichever layers are randomized with it (not Darknet's
		 * rand_normal, whose Box-Muller keeps a spare across calls). */
		sul_rng_seed(&rng, (uint64_t)seed * 0x9e3779b97f4a7c15ull + (uint64_t)i);
		sul_dn_params_pull(h->net, l);  /* the batchnorm statistics stay */
		/* Darknet's own initializations: conv sqrt(2 / (size^2 c)) normal,
		 * connected sqrt(2 / inputs) uniform. */
		if (l->type == CONVOLUTIONAL) {
			scale = sqrtf(2.f / (l->size * l->size * l->c / l->groups));
			for (j = 0; j < nw; j++)
				l->weights[j] = scale * (float)sul_rng_normal(&rng);
		} else {
			scale = sqrtf(2.f / l->inputs);
			for (j = 0; j < nw; j++)
				l->weights[j] = scale * (float)(2 * sul_rng_uniform(&rng) - 1);
		}
		for (j = 0; j < (l->type == CONNECTED ? l->outputs : l->n); j++)
			l->biases[j] = 0;
		sul_dn_params_push(h->net, l);
	}
	params_changed(h);
}

static int dn_bn_add(struct sul_dn_net *h, const float *x, int first, struct sul_err *err)
{
	network *net = h->net;
	float *truth = net->truth;
	int i, c;

	if (!h->sum_mean) {
		h->sum_mean = calloc((size_t)net->n, sizeof(double *));
		h->sum_var = calloc((size_t)net->n, sizeof(double *));
		if (!h->sum_mean || !h->sum_var)
			return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
		for (i = 0; i < net->n; i++)
			if (h->prev_mean[i]) {
				h->sum_mean[i] = calloc((size_t)bn_channels(&net->layers[i]), sizeof(double));
				h->sum_var[i] = calloc((size_t)bn_channels(&net->layers[i]), sizeof(double));
				if (!h->sum_mean[i] || !h->sum_var[i])
					return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
			}
	}
	if (first) {
		h->bn_batches = 0;
		for (i = 0; i < net->n; i++)
			if (h->sum_mean[i]) {
				memset(h->sum_mean[i], 0, sizeof(double) * (size_t)bn_channels(&net->layers[i]));
				memset(h->sum_var[i], 0, sizeof(double) * (size_t)bn_channels(&net->layers[i]));
			}
	}
	/* Training-mode forward (batch statistics), without a loss; it also moves
	 * the rolling statistics, which bn_finish() replaces. */
	bn_save(h);
	memcpy(net->input, x, sizeof(float) * (size_t)net->batch * net->inputs);
	net->truth = NULL;
	net->train = 1;
	if (net_forward(h, err)) {
		net->truth = truth;
		return -1;
	}
	net->truth = truth;
	net->train = 0;
	for (i = 0; i < net->n; i++) {
		layer *l = &net->layers[i];
		if (!h->sum_mean[i])
			continue;
		sul_dn_bn_pull(net, l, SUL_DN_BATCH);
		for (c = 0; c < bn_channels(l); c++) {
			h->sum_mean[i][c] += l->mean[c];
			h->sum_var[i][c] += l->variance[c];
			l->rolling_mean[c] = h->prev_mean[i][c];
			l->rolling_variance[c] = h->prev_var[i][c];
		}
		sul_dn_bn_push_rolling(net, l);
	}
	h->bn_batches++;
	return 0;
}

static void dn_bn_finish(struct sul_dn_net *h)
{
	int i, c;

	if (!h->sum_mean || !h->bn_batches)
		return;
	for (i = 0; i < h->net->n; i++) {
		layer *l = &h->net->layers[i];
		if (!h->sum_mean[i])
			continue;
		for (c = 0; c < bn_channels(l); c++) {
			l->rolling_mean[c] = (float)(h->sum_mean[i][c] / h->bn_batches);
			l->rolling_variance[c] = (float)(h->sum_var[i][c] / h->bn_batches);
		}
		sul_dn_bn_push_rolling(h->net, l);
	}
	params_changed(h);
}

static int dn_save(struct sul_dn_net *h, const char *path, struct sul_err *err)
{
	char *tmp = sul_xasprintf("%s.tmp%ld", path, (long)getpid());
	size_t want = 0;
	struct stat st;
	FILE *f;
	int ret = -1;

	/* Darknet exit(0)s when fopen fails: find out first, with a message. */
	f = fopen(tmp, "wb");
	if (!f) {
		sul_err_sys(err, "%s", tmp);
		goto out;
	}
	fclose(f);
	save_weights(h->net, tmp);
	weights_bytes(h->net, 0, &want, NULL);
	if (stat(tmp, &st)) {
		sul_err_sys(err, "%s", tmp);
		goto out;
	}
	if ((size_t)st.st_size != want) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: Darknet wrote %lld bytes, expected %zu (disk full?)", tmp,
			    (long long)st.st_size, want);
		goto out;
	}
	f = fopen(tmp, "rb+");
	if (!f || fsync(fileno(f)) + fclose(f)) {
		sul_err_sys(err, "%s", tmp);
		goto out;
	}
	if (rename(tmp, path)) {
		sul_err_sys(err, "rename %s", path);
		goto out;
	}
	ret = 0;
out:
	if (ret)
		unlink(tmp);
	free(tmp);
	return ret;
}

static void digest_floats(EVP_MD_CTX *md, const float *x, long n)
{
	if (x && n > 0)
		EVP_DigestUpdate(md, x, sizeof(float) * (size_t)n);
}

static void dn_digest(const struct sul_dn_net *h, char hex[65])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char d[32];
	unsigned int len = 0;
	int i;

	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (i = 0; i < h->net->n; i++) {
		layer *l = &h->net->layers[i];
		long nch = l->type == CONNECTED ? l->outputs : l->n;
		if (layer_weight_floats(l) <= 0)
			continue;
		sul_dn_params_pull(h->net, l);
		digest_floats(md, l->biases, l->type == CONNECTED ? l->outputs : l->n);
		digest_floats(md, l->weights, layer_nweights(l));
		if (l->batch_normalize) {
			digest_floats(md, l->scales, nch);
			digest_floats(md, l->rolling_mean, nch);
			digest_floats(md, l->rolling_variance, nch);
		}
	}
	EVP_DigestFinal_ex(md, d, &len);
	EVP_MD_CTX_free(md);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/* Darknet's own gemm, whichever object defines it beside ours. */
static void gemm_darknet(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb,
			 float beta, float *c, int ldc)
{
	gemm_cpu(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

static const struct sul_dn_api api = {
	.abi = SUL_DN_ABI,
#ifdef GPU
	.build = "cuda",
#else
	.build = "cpu (oneDNN, OpenBLAS)",
#endif
	.devices = sul_dn_gpu_devices,
	.open = dn_open,
	.close = dn_close,
	.info = dn_info,
	.layer = dn_layer,
	.train_step = dn_train_step,
	.predict = dn_predict,
	.save = dn_save,
	.digest = dn_digest,
	.gradients = dn_gradients,
	.logits = dn_logits,
	.forward_from = dn_forward_from,
	.cam_weights = dn_cam_weights,
	.randomize = dn_randomize,
	.loss_gradients = dn_loss_gradients,
	.param = dn_param,
	.bn_add = dn_bn_add,
	.bn_finish = dn_bn_finish,
	.gemm_ours = gemm,
	.gemm_darknet = gemm_darknet,
};

__attribute__((visibility("default"))) const struct sul_dn_api *sul_dn_api_get(void);

const struct sul_dn_api *sul_dn_api_get(void)
{
	return &api;
}
