/*
 * check_gradcam.c - the gradients behind Grad-CAM and training come from a
 * backward pass (stages/dn.h gradients(), loss_gradients()) and must be
 * right, on both backends: oneDNN's (the default) and Darknet's own layers
 * with our corrections.  Every test runs once per backend (the loop index
 * is the backend).  They are compared with central finite differences of
 * the class score on small networks that hold what Darknet gets wrong on
 * its own (a 1x1 bottleneck beside a shortcut, a strided 1x1 convolution,
 * batchnorm at inference, dropout at inference), for the logit and for
 * the softmax probability; the training loss's gradients with respect to
 * weights and biases likewise.  And the known identity: on a GAP head,
 * Grad-CAM at the last spatial layer is CAM up to a positive factor.
 */
#include "../engine/err.h"
#include "../stages/attribution.h"
#include "../stages/cam_int.h"
#include "../stages/dn.h"
#include "../stages/heatmap.h"
#include "check_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define B 4
#define W 12

/* A ResNet-like block: conv, 1x1 reduce, 3x3, 1x1 expand, shortcut; then a
 * strided 1x1, the GAP head. */
static const char resnet_like[] =
	"[net]\nbatch=4\nsubdivisions=1\nwidth=12\nheight=12\nchannels=3\n"
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
	"[convolutional]\nbatch_normalize=1\nfilters=4\nsize=1\nstride=1\npad=0\nactivation=leaky\n"
	"[convolutional]\nbatch_normalize=1\nfilters=4\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=1\nstride=1\npad=0\nactivation=linear\n"
	"[shortcut]\nfrom=-4\nactivation=leaky\n"
	"[convolutional]\nbatch_normalize=1\nfilters=8\nsize=1\nstride=2\npad=0\nactivation=leaky\n"
	"[avgpool]\n[connected]\noutput=3\nactivation=linear\n[softmax]\n";

/* An FC head with dropout (as AlexNet and VGG have). */
static const char fc_dropout[] =
	"[net]\nbatch=4\nsubdivisions=1\nwidth=12\nheight=12\nchannels=3\n"
	"[convolutional]\nbatch_normalize=1\nfilters=6\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
	"[maxpool]\nsize=2\nstride=2\n"
	"[connected]\noutput=16\nactivation=leaky\n[dropout]\nprobability=.5\n"
	"[connected]\noutput=3\nactivation=linear\n[softmax]\n";

static const struct sul_dn_api *api_or_fail(void)
{
	struct sul_err err = SUL_ERR_INIT;
	const struct sul_dn_api *api;

	ck_assert_msg(access("/usr/lib/darknet/libdarknet.so", F_OK) == 0,
		      "libdarknet is not installed: run `make deps`");
	api = sul_dn_load(0, &err);
	ck_assert_msg(api != NULL, "%s", err.msg);
	return api;
}

/* A network without batchnorm: the training loss is a plain function of
 * the weights, so its finite differences are the gradient. */
static const char plain_net[] =
	"[net]\nbatch=4\nsubdivisions=1\nwidth=12\nheight=12\nchannels=3\n"
	"[convolutional]\nfilters=6\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
	"[convolutional]\nfilters=8\nsize=3\nstride=2\npad=1\nactivation=leaky\n"
	"[convolutional]\nfilters=8\nsize=1\nstride=1\npad=0\nactivation=linear\n"
	"[shortcut]\nfrom=-2\nactivation=leaky\n"
	"[maxpool]\nsize=2\nstride=2\n"
	"[connected]\noutput=10\nactivation=leaky\n"
	"[connected]\noutput=3\nactivation=linear\n[softmax]\n";

/* Opens text on backend `backend` (the test's loop index) and checks that
 * it is that backend which runs it. */
static struct sul_dn_net *open_net(const struct sul_dn_api *api, const char *text, int backend)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_open o;
	struct sul_dn_net *net = NULL;
	struct sul_dn_info info;
	char *dir = tu_tmpdir();

	memset(&o, 0, sizeof(o));
	o.cfg = tu_write(dir, "net.cfg", text);
	o.batch = B;
	o.seed = 11;
	o.threads = 2;
	o.gpu = -1;
	o.bn_momentum = 0.5f;
	o.backend = backend;
	ck_assert_msg(api->open(&o, &net, &err) == 0, "%s", err.msg);
	api->info(net, &info);
	ck_assert_msg(!strncmp(info.backend, backend == SUL_DN_ONEDNN ? "onednn" : "darknet", 6), "backend %d: %s",
		      backend, info.backend);
	return net;
}

static void fill_images(float *x, unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < (size_t)B * 3 * W * W; i++)
		x[i] = (float)rand() / (float)RAND_MAX;
}

/* A few training steps, so that batchnorm statistics and weights are not
 * their initial values. */
static void train_some(const struct sul_dn_api *api, struct sul_dn_net *net)
{
	struct sul_err err = SUL_ERR_INIT;
	float x[B * 3 * W * W], p[B * 3];
	int labels[B] = { 0, 1, 2, 1 }, s;

	for (s = 0; s < 5; s++) {
		fill_images(x, 100 + (unsigned)s);
		ck_assert_msg(api->train_step(net, x, labels, NULL, 0.05f, p, &err) == 0, "%s", err.msg);
	}
}

/* The score of image 0 for class c: logit or probability. */
static double score_of(const struct sul_dn_api *api, struct sul_dn_net *net, const float *x, int c, int mode)
{
	struct sul_err err = SUL_ERR_INIT;
	float out[B * 3];

	if (mode == SUL_DN_LOGIT)
		ck_assert_msg(api->logits(net, x, B, out, &err) == 0, "%s", err.msg);
	else
		ck_assert_msg(api->predict(net, x, B, out, &err) == 0, "%s", err.msg);
	return out[c];
}

/*
 * d score / d input from the backward pass against central differences, on
 * every 7th input value of image 0.  Leaky kinks make a few differences
 * cross a corner: most values must agree closely and the two gradient
 * vectors must be nearly parallel.
 */
static void check_input_gradient(const char *cfg, int mode, int backend)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, cfg, backend);
	struct sul_err err = SUL_ERR_INIT;
	static float x[B * 3 * W * W], acts[B * 3 * W * W], grads[B * 3 * W * W];
	const int n_in = 3 * W * W, c = 1;
	int target[B] = { c, c, c, c }, i, good = 0, total = 0;
	double dot = 0, nf = 0, ng = 0, gmax = 0;

	train_some(api, net);
	fill_images(x, 7);
	ck_assert_msg(api->gradients(net, x, B, -1, target, mode, acts, grads, NULL, &err) == 0, "%s", err.msg);
	ck_assert(memcmp(acts, x, sizeof(float) * n_in) == 0);
	for (i = 0; i < n_in; i++)
		if (fabs(grads[i]) > gmax)
			gmax = fabs(grads[i]);
	ck_assert_msg(gmax > 0, "the input gradient is all zero");
	for (i = 0; i < n_in; i += 7) {
		const float h = 2e-3f, keep = x[i];
		double up, down, fd;
		x[i] = keep + h;
		up = score_of(api, net, x, c, mode);
		x[i] = keep - h;
		down = score_of(api, net, x, c, mode);
		x[i] = keep;
		fd = (up - down) / (2.0 * h);
		dot += fd * grads[i];
		nf += fd * fd;
		ng += (double)grads[i] * grads[i];
		good += fabs(fd - grads[i]) <= 0.02 * gmax + 1e-5;
		total++;
	}
	ck_assert_msg(good >= total * 9 / 10, "only %d of %d input gradients agree with finite differences", good,
		      total);
	ck_assert_msg(dot / sqrt(nf * ng) > 0.995, "cosine(finite differences, backward) = %g", dot / sqrt(nf * ng));
	api->close(net);
	tu_cleanup();
}

START_TEST(fd_bottleneck_logit)
{
	check_input_gradient(resnet_like, SUL_DN_LOGIT, _i);
}
END_TEST

START_TEST(fd_bottleneck_softmax)
{
	check_input_gradient(resnet_like, SUL_DN_PROB, _i);
}
END_TEST

START_TEST(fd_dropout_head)
{
	check_input_gradient(fc_dropout, SUL_DN_LOGIT, _i);
}
END_TEST

/* The summed cross-entropy of a training-mode forward (loss_gradients also
 * runs the backward; its gradients are discarded here). */
static double train_loss(const struct sul_dn_api *api, struct sul_dn_net *net, const float *x, const int *labels)
{
	struct sul_err err = SUL_ERR_INIT;
	float p[B * 3];
	double s = 0;
	int b;

	ck_assert_msg(api->loss_gradients(net, x, labels, NULL, p, &err) == 0, "%s", err.msg);
	for (b = 0; b < B; b++)
		s -= log(p[b * 3 + labels[b]]);
	return s;
}

/*
 * d(loss)/d(weights and biases) of every convolutional and connected layer
 * against central differences of the summed cross-entropy, on every 5th
 * value.  loss_gradients() gives minus the gradient (Darknet's sign).  As
 * for the input, a step can cross a leaky kink or change a max pool's
 * choice: per layer, 90% must agree within the bound (of the layer's
 * largest) and the vectors must be nearly parallel.  With batchnorm the
 * bound is looser: Darknet's batchnorm backward, which both backends
 * follow, differentiates the biased variance with 1e-5 inside the square
 * root, while its forward divides by the unbiased one plus 1e-6 outside.
 */
static void check_loss_gradient(const char *cfg, double bound, int backend)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, cfg, backend);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_info info;
	static float x[B * 3 * W * W], g[4096], v[4096];
	const int labels[B] = { 0, 1, 2, 1 };
	float p[B * 3];
	int layer, which, checked = 0;

	train_some(api, net);
	fill_images(x, 9);
	api->info(net, &info);
	for (layer = 0; layer < info.nlayers; layer++) {
		struct sul_dn_layer l;
		api->layer(net, layer, &l);
		if (strcmp(l.type, "convolutional") && strcmp(l.type, "connected"))
			continue;
		for (which = SUL_DN_WEIGHTS; which <= SUL_DN_BIASES; which++) {
			const size_t n = which == SUL_DN_WEIGHTS ? (size_t)l.weights : (size_t)l.out_c;
			double gmax = 0;
			size_t i;
			ck_assert_uint_le(n, 4096);
			ck_assert_msg(api->loss_gradients(net, x, labels, NULL, p, &err) == 0, "%s", err.msg);
			ck_assert(api->param(net, layer, which == SUL_DN_WEIGHTS ? SUL_DN_WEIGHT_GRADS : SUL_DN_BIAS_GRADS,
					     g, n, 0, &err) == 0);
			ck_assert(api->param(net, layer, which, v, n, 0, &err) == 0);
			for (i = 0; i < n; i++)
				gmax = fmax(gmax, fabs(g[i]));
			ck_assert_msg(gmax > 0, "layer %d: all gradients zero", layer);
			{
				double dot = 0, nf = 0, ng = 0;
				int good = 0, total = 0;
				for (i = 0; i < n; i += 5) {
					const float keep = v[i], h = 5e-4f;
					double up, down, fd;
					v[i] = keep + h;
					ck_assert(api->param(net, layer, which, v, n, 1, &err) == 0);
					up = train_loss(api, net, x, labels);
					v[i] = keep - h;
					ck_assert(api->param(net, layer, which, v, n, 1, &err) == 0);
					down = train_loss(api, net, x, labels);
					v[i] = keep;
					ck_assert(api->param(net, layer, which, v, n, 1, &err) == 0);
					fd = -(up - down) / (2.0 * h);
					dot += fd * g[i];
					nf += fd * fd;
					ng += (double)g[i] * g[i];
					good += fabs(fd - g[i]) <= bound * gmax;
					total++;
				}
				ck_assert_msg(good >= total * 9 / 10 && dot / sqrt(nf * ng) > 0.99,
					      "layer %d %s: %d of %d agree with finite differences, cosine %g", layer,
					      which == SUL_DN_WEIGHTS ? "weights" : "biases", good, total, dot / sqrt(nf * ng));
				checked += total;
			}
		}
	}
	ck_assert_int_gt(checked, 100);
	api->close(net);
	tu_cleanup();
}

START_TEST(fd_loss_plain)
{
	check_loss_gradient(plain_net, 0.02, _i);
}
END_TEST

START_TEST(fd_loss_batchnorm)
{
	check_loss_gradient(resnet_like, 0.05, _i);
}
END_TEST

/* Grad-CAM at the GAP layer = ReLU(CAM) / (h w): the same normalized map. */
START_TEST(gradcam_equals_cam_on_gap)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, resnet_like, _i);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_info info;
	struct sul_dn_layer li;
	static float x[B * 3 * W * W], A[B * 8 * 36], G[B * 8 * 36], w[3 * 8];
	float cam[36], gc[36];
	int target[B] = { 2, 0, 1, 2 }, b, i, k;

	train_some(api, net);
	api->info(net, &info);
	ck_assert_int_eq(info.gap_layer, 5);
	ck_assert_int_eq(info.last_spatial, 5);
	api->layer(net, info.gap_layer, &li);
	ck_assert_int_eq(li.out_w * li.out_h * li.out_c, 36 * 8);
	fill_images(x, 3);
	ck_assert_msg(api->gradients(net, x, B, info.gap_layer, target, SUL_DN_LOGIT, A, G, NULL, &err) == 0, "%s",
		      err.msg);
	ck_assert_msg(api->cam_weights(net, w, &err) == 0, "%s", err.msg);
	for (b = 0; b < B; b++) {
		double cmax = 0;
		/* The gradient of a GAP head is W[c][k] / (h w) everywhere. */
		for (k = 0; k < 8; k++)
			for (i = 0; i < 36; i++)
				ck_assert_msg(fabs(G[(b * 8 + k) * 36 + i] - w[target[b] * 8 + k] / 36.0) < 1e-6,
					      "image %d channel %d: dy/dA %g, W/(hw) %g", b, k, G[(b * 8 + k) * 36 + i],
					      w[target[b] * 8 + k] / 36.0);
		sul_cam(A + (size_t)b * 8 * 36, w + target[b] * 8, 8, 6, 6, cam);
		sul_gradcam(A + (size_t)b * 8 * 36, G + (size_t)b * 8 * 36, 8, 6, 6, gc);
		for (i = 0; i < 36; i++)
			if (cam[i] > cmax)
				cmax = cam[i];
		for (i = 0; i < 36; i++) {
			double relu_cam = cam[i] > 0 ? cam[i] : 0;
			ck_assert_msg(fabs(gc[i] - relu_cam / 36.0) <= 1e-6 * (cmax + 1),
				      "image %d pixel %d: Grad-CAM %g, ReLU(CAM)/36 %g", b, i, gc[i], relu_cam / 36.0);
		}
	}
	api->close(net);
	tu_cleanup();
}
END_TEST

/* The backward pass for heatmaps leaves the model as it was: predictions
 * before and after are identical, and a non-GAP head has no CAM weights. */
START_TEST(gradients_leave_the_model_alone)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, fc_dropout, _i);
	struct sul_err err = SUL_ERR_INIT;
	static float x[B * 3 * W * W], A[B * 6 * 144], G[B * 6 * 144], w[64];
	float p1[B * 3], p2[B * 3];
	int target[B] = { 0, 1, 2, 0 };
	char d1[65], d2[65];
	struct sul_dn_info info;

	train_some(api, net);
	fill_images(x, 5);
	api->digest(net, d1);
	ck_assert(api->predict(net, x, B, p1, &err) == 0);
	api->info(net, &info);
	ck_assert_int_eq(info.gap_layer, -1);
	ck_assert_int_eq(info.last_spatial, 0);
	ck_assert_msg(api->gradients(net, x, B, 0, target, SUL_DN_LOGIT, A, G, NULL, &err) == 0, "%s", err.msg);
	ck_assert(api->predict(net, x, B, p2, &err) == 0);
	api->digest(net, d2);
	ck_assert_str_eq(d1, d2);
	ck_assert(memcmp(p1, p2, sizeof(p1)) == 0);
	ck_assert_int_eq(api->cam_weights(net, w, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "GAP"));
	api->close(net);
	tu_cleanup();
}
END_TEST

static void assert_logits_near(const float *a, const float *b, int n, const char *what)
{
	int i;

	for (i = 0; i < n; i++)
		ck_assert_msg(fabsf(a[i] - b[i]) <= 1e-5f * (1 + fabsf(b[i])), "%s: logit %d is %g, expected %g", what, i,
			      a[i], b[i]);
}

/*
 * forward_from() reruns the layers above a replaced output.  Unchanged
 * activations give the network's logits again (at a layer whose shortcut
 * reads a layer below it, too); zeroing channel k of a convolution without
 * batchnorm must equal zeroing that filter's weights and bias (leaky(0) =
 * 0), which a full forward computes independently; and it refuses to run
 * on outputs that no longer belong to the images.
 */
START_TEST(forward_from_reruns_the_head)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, plain_net, _i);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_layer li;
	static float x[B * 3 * W * W], A[B * 8 * 144], G[B * 8 * 144], wts[8 * 6 * 9], bias[8];
	float l0[B * 3], la[B * 3], lb[B * 3];
	int target[B] = { 0, 1, 2, 0 }, b, k = 3;
	const int plane = 36;

	train_some(api, net);
	fill_images(x, 9);
	api->layer(net, 1, &li);
	ck_assert_int_eq(li.out_c * li.out_h * li.out_w, 8 * plane);
	ck_assert_msg(api->logits(net, x, B, l0, &err) == 0, "%s", err.msg);
	ck_assert_msg(api->gradients(net, x, B, 1, target, SUL_DN_LOGIT, A, G, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(api->forward_from(net, B, 1, A, la, &err) == 0, "%s", err.msg);
	assert_logits_near(la, l0, B * 3, "unchanged activations");
	/* Again at the same layer: the layers below still hold the images'. */
	for (b = 0; b < B; b++)
		memset(A + ((size_t)b * 8 + k) * plane, 0, sizeof(float) * plane);
	ck_assert_msg(api->forward_from(net, B, 1, A, la, &err) == 0, "%s", err.msg);
	ck_assert_msg(fabsf(la[0] - l0[0]) > 1e-4f, "ablating channel %d changed nothing", k);
	ck_assert(api->param(net, 1, SUL_DN_WEIGHTS, wts, sizeof(wts) / sizeof(wts[0]), 0, &err) == 0);
	ck_assert(api->param(net, 1, SUL_DN_BIASES, bias, 8, 0, &err) == 0);
	memset(wts + (size_t)k * 6 * 9, 0, sizeof(float) * 6 * 9);
	bias[k] = 0;
	ck_assert(api->param(net, 1, SUL_DN_WEIGHTS, wts, sizeof(wts) / sizeof(wts[0]), 1, &err) == 0);
	ck_assert(api->param(net, 1, SUL_DN_BIASES, bias, 8, 1, &err) == 0);
	/* New weights: the stored outputs are stale. */
	ck_assert_int_eq(api->forward_from(net, B, 1, A, la, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "needs an inference pass"));
	ck_assert_msg(api->logits(net, x, B, lb, &err) == 0, "%s", err.msg);
	assert_logits_near(la, lb, B * 3, "channel zeroed in the activations vs in the weights");
	api->close(net);

	/* A bottleneck's middle layer: the shortcut above it reads layer 0. */
	net = open_net(api, resnet_like, _i);
	train_some(api, net);
	ck_assert_msg(api->logits(net, x, B, l0, &err) == 0, "%s", err.msg);
	api->layer(net, 2, &li);
	ck_assert_int_le(li.out_c * li.out_h * li.out_w, 8 * 144);
	ck_assert_msg(api->gradients(net, x, B, 2, target, SUL_DN_LOGIT, A, G, NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(api->forward_from(net, B, 2, A, la, &err) == 0, "%s", err.msg);
	assert_logits_near(la, l0, B * 3, "unchanged activations below a shortcut");
	ck_assert_int_eq(api->forward_from(net, B, 5, A, la, &err), -1);
	api->close(net);
	tu_cleanup();
}
END_TEST

/*
 * Score-CAM's and Ablation-CAM's maps as the `cam` kind assembles them
 * (cam_methods.c: batched masked passes, channels ablated through
 * forward_from, scores kept across targets) against the formulas computed
 * here one image and one channel at a time.  On a GAP head the ablated
 * logit falls by exactly W[t][c] mean(A_c), so Ablation-CAM is
 * ReLU(sum_c W[t][c] mean(A_c) A_c) / |y_t|.
 */
START_TEST(scorecam_and_ablationcam_as_the_kind_runs_them)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, resnet_like, _i);
	struct sul_err err = SUL_ERR_INIT;
	enum { K = 8, HW = 36, PL = W * W };
	static float x[B * 3 * PL], A[B * K * HW], G[B * K * HW], maps[B * HW], xm[B * 3 * PL];
	float wc[3 * K], logit[B * 3], probs[B * 3], mask[PL];
	double wts[K];
	int target[B] = { 2, 0, 1, 2 }, i, c, p, t;
	struct cam_run run;
	struct cam_work w;

	train_some(api, net);
	fill_images(x, 21);
	memset(&run, 0, sizeof(run));
	run.model.api = api;
	run.model.net = net;
	run.model.classes = 3;
	run.lc = K, run.lh = 6, run.lw = 6, run.size = W, run.batch = B;
	run.layer = run.cam_layer = 5;
	run.use[M_SCORECAM] = run.use[M_ABLATIONCAM] = 1;
	sul_cam_work_init(&run, &w);
	w.x = x, w.n = B, w.target = target;
	sul_cam_work_reset(&w, 1);
	ck_assert_msg(api->gradients(net, x, B, 5, target, SUL_DN_LOGIT, A, G, NULL, &err) == 0, "%s", err.msg);
	ck_assert(api->cam_weights(net, wc, &err) == 0);
	ck_assert(api->logits(net, x, B, logit, &err) == 0);
	for (t = 0; t < 2; t++) {
		/* The second round explains other classes from the same passes. */
		if (t) {
			for (i = 0; i < B; i++)
				target[i] = (target[i] + 1) % 3;
			sul_cam_work_reset(&w, 0);
		}
		ck_assert_msg(sul_cam_maps(&run, &w, M_ABLATIONCAM, maps, NULL, &err) == 0, "%s", err.msg);
		for (i = 0; i < B; i++) {
			const float *a = A + (size_t)i * K * HW;
			float ref[HW];
			for (c = 0; c < K; c++) {
				double mean = 0;
				for (p = 0; p < HW; p++)
					mean += a[c * HW + p];
				wts[c] = wc[target[i] * K + c] * mean / HW / fabs(logit[i * 3 + target[i]]);
			}
			sul_weighted_map(a, wts, K, 6, 6, ref);
			for (p = 0; p < HW; p++)
				ck_assert_msg(fabsf(maps[i * HW + p] - ref[p]) <= 1e-4f * (1 + fabsf(ref[p])),
					      "Ablation-CAM image %d pixel %d: %g, by the GAP formula %g", i, p,
					      maps[i * HW + p], ref[p]);
		}
		ck_assert_msg(sul_cam_maps(&run, &w, M_SCORECAM, maps, NULL, &err) == 0, "%s", err.msg);
		for (i = 0; i < B; i++) {
			const float *a = A + (size_t)i * K * HW;
			float ref[HW];
			for (c = 0; c < K; c++) {
				wts[c] = 0;
				if (!sul_scorecam_mask(a + c * HW, 6, 6, mask, W, W))
					continue;
				sul_cam_mask_image(x + (size_t)i * 3 * PL, mask, PL, xm);
				ck_assert(api->predict(net, xm, 1, probs, &err) == 0);
				wts[c] = probs[target[i]];
			}
			sul_weighted_map(a, wts, K, 6, 6, ref);
			for (p = 0; p < HW; p++)
				ck_assert_msg(fabsf(maps[i * HW + p] - ref[p]) <= 1e-4f * (1 + fabsf(ref[p])),
					      "Score-CAM image %d pixel %d: %g, one image at a time %g", i, p,
					      maps[i * HW + p], ref[p]);
		}
	}
	sul_cam_work_release(&w);
	api->close(net);
	tu_cleanup();
}
END_TEST

/* One rectifier, then a linear GAP head: guided backpropagation's rule
 * there drops exactly the channels whose head weight for the class is
 * negative. */
static const char relu_gap[] =
	"[net]\nbatch=4\nsubdivisions=1\nwidth=12\nheight=12\nchannels=3\n"
	"[convolutional]\nfilters=6\nsize=3\nstride=1\npad=1\nactivation=relu\n"
	"[avgpool]\n[connected]\noutput=3\nactivation=linear\n[softmax]\n";

/*
 * Guided backpropagation (score | SUL_DN_GUIDED).  With one ReLU layer
 * under a GAP head, the gradient reaching the ReLU is W[c][k] / (h w) per
 * channel; the guided rule keeps the positive ones, so the guided input
 * gradient must equal the ordinary gradient of the network with the
 * class's negative head weights set to 0 (computed by the plain backward
 * pass).  And on a deeper network (shortcut, max pool, leaky FC) both
 * backends give the same guided gradients for the same weights.
 */
START_TEST(guided_backprop_drops_negative_gradients)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, relu_gap, _i), *other;
	struct sul_err err = SUL_ERR_INIT;
	static float x[B * 3 * W * W], acts[B * 3 * W * W], gg[B * 3 * W * W], gr[B * 3 * W * W];
	float fc[3 * 6];
	int target[B] = { 1, 1, 1, 1 }, k, negative = 0;
	size_t i, n = (size_t)B * 3 * W * W;
	double diff = 0, scale = 0;
	struct sul_dn_open o;
	char *dir, cfg[4096], wpath[4200];

	train_some(api, net);
	fill_images(x, 13);
	ck_assert_msg(api->gradients(net, x, B, -1, target, SUL_DN_LOGIT | SUL_DN_GUIDED, acts, gg, NULL, &err) == 0,
		      "%s", err.msg);
	ck_assert_msg(api->gradients(net, x, B, -1, target, SUL_DN_LOGIT, acts, gr, NULL, &err) == 0, "%s", err.msg);
	for (i = 0; i < n; i++)
		diff += fabs(gg[i] - gr[i]);
	ck_assert(api->param(net, 2, SUL_DN_WEIGHTS, fc, 18, 0, &err) == 0);
	for (k = 0; k < 6; k++)
		if (fc[6 + k] < 0) {
			fc[6 + k] = 0;
			negative++;
		}
	ck_assert_msg(negative > 0 && diff > 0, "no negative head weight for class 1: the test shows nothing");
	ck_assert(api->param(net, 2, SUL_DN_WEIGHTS, fc, 18, 1, &err) == 0);
	ck_assert_msg(api->gradients(net, x, B, -1, target, SUL_DN_LOGIT, acts, gr, NULL, &err) == 0, "%s", err.msg);
	for (i = 0; i < n; i++) {
		scale = fabs(gr[i]) > scale ? fabs(gr[i]) : scale;
		ck_assert_msg(fabsf(gg[i] - gr[i]) <= 1e-5f * (1 + fabsf(gr[i])), "input %zu: guided %g, gradient without "
			      "the negative weights %g", i, gg[i], gr[i]);
	}
	ck_assert(scale > 0);
	api->close(net);

	/* The same weights on both backends. */
	net = open_net(api, plain_net, _i);
	train_some(api, net);
	dir = tu_tmpdir();
	memset(&o, 0, sizeof(o));
	snprintf(cfg, sizeof(cfg), "%s", tu_write(dir, "plain.cfg", plain_net));
	snprintf(wpath, sizeof(wpath), "%s/w.weights", dir);
	ck_assert(api->save(net, wpath, &err) == 0);
	o.cfg = cfg;
	o.weights = wpath;
	o.batch = B, o.seed = 11, o.threads = 2, o.gpu = -1, o.backend = !_i;
	ck_assert_msg(api->open(&o, &other, &err) == 0, "%s", err.msg);
	target[0] = 0, target[2] = 2;
	ck_assert(api->gradients(net, x, B, -1, target, SUL_DN_PROB | SUL_DN_GUIDED, acts, gg, NULL, &err) == 0);
	ck_assert(api->gradients(other, x, B, -1, target, SUL_DN_PROB | SUL_DN_GUIDED, acts, gr, NULL, &err) == 0);
	for (i = 0, scale = 0; i < n; i++)
		scale = fabs(gr[i]) > scale ? fabs(gr[i]) : scale;
	ck_assert(scale > 0);
	for (i = 0; i < n; i++)
		ck_assert_msg(fabsf(gg[i] - gr[i]) <= 1e-4f * (float)scale, "input %zu: guided %g on backend %d, %g on "
			      "the other", i, gg[i], _i, gr[i]);
	api->close(other);
	api->close(net);
	tu_cleanup();
}
END_TEST

/*
 * The pixel-space methods as the kind runs them (cam_methods.c):
 * Integrated Gradients satisfies completeness (the attributions sum to
 * F(x) - F(black)); SmoothGrad without noise is the gradient's magnitude
 * and with noise is deterministic per image id; occlusion equals the drops
 * computed one window at a time; Guided Grad-CAM is guided
 * backpropagation times the normalized, upsampled Grad-CAM map.
 */
START_TEST(pixel_attributions_as_the_kind_runs_them)
{
	const struct sul_dn_api *api = api_or_fail();
	struct sul_dn_net *net = open_net(api, resnet_like, _i);
	struct sul_err err = SUL_ERR_INIT;
	enum { PL = W * W };
	static float x[B * 3 * PL], acts[B * 3 * PL], g[B * 3 * PL], maps[B * PL], m2[B * PL], xo[3 * PL];
	float ref[PL], base[B * 3], lo[B * 3], cam[36], up[PL];
	double drop[64];
	int target[B] = { 2, 0, 1, 2 }, i, p, a, b, off[W], noff;
	size_t ids[B] = { 10, 11, 12, 13 };
	struct cam_run run;
	struct cam_work w;

	train_some(api, net);
	fill_images(x, 31);
	memset(&run, 0, sizeof(run));
	run.model.api = api, run.model.net = net, run.model.classes = 3;
	run.lc = 8, run.lh = 6, run.lw = 6, run.size = W, run.batch = B;
	run.layer = run.cam_layer = 5;
	run.use[M_INTGRAD] = run.use[M_SMOOTHGRAD] = run.use[M_OCCLUSION] = 1;
	run.use[M_GUIDEDBP] = run.use[M_GUIDEDGRADCAM] = 1;
	run.ig_steps = 128, run.smooth_n = 4, run.smooth_noise = 0, run.seed = 5;
	run.occ_patch = 4;
	run.occ_off = off;
	run.occ_n = noff = sul_occlusion_offsets(W, 4, 2, off);
	sul_cam_work_init(&run, &w);
	w.x = x, w.n = B, w.target = target, w.ids = ids;
	sul_cam_work_reset(&w, 1);

	ck_assert_msg(sul_cam_maps(&run, &w, M_INTGRAD, maps, NULL, &err) == 0, "%s", err.msg);
	for (i = 0; i < B; i++)
		ck_assert_msg(w.check[i] < 0.01, "image %d: Integrated Gradients' completeness error %g", i, w.check[i]);

	ck_assert_msg(sul_cam_maps(&run, &w, M_SMOOTHGRAD, maps, NULL, &err) == 0, "%s", err.msg);
	ck_assert(api->gradients(net, x, B, -1, target, SUL_DN_LOGIT, acts, g, NULL, &err) == 0);
	for (i = 0; i < B; i++) {
		sul_attr_magnitude(g + (size_t)i * 3 * PL, PL, ref);
		for (p = 0; p < PL; p++)
			ck_assert(fabsf(maps[i * PL + p] - ref[p]) <= 1e-5f * (1 + ref[p]));
	}
	run.smooth_noise = 0.2;
	ck_assert(sul_cam_maps(&run, &w, M_SMOOTHGRAD, maps, NULL, &err) == 0);
	ck_assert(sul_cam_maps(&run, &w, M_SMOOTHGRAD, m2, NULL, &err) == 0);
	ck_assert(memcmp(maps, m2, sizeof(maps)) == 0);
	ids[0] = 99;
	ck_assert(sul_cam_maps(&run, &w, M_SMOOTHGRAD, m2, NULL, &err) == 0);
	ck_assert(memcmp(maps, m2, sizeof(float) * PL) != 0);
	ck_assert(memcmp(maps + PL, m2 + PL, sizeof(float) * (B - 1) * PL) == 0);

	ck_assert_msg(sul_cam_maps(&run, &w, M_OCCLUSION, maps, NULL, &err) == 0, "%s", err.msg);
	ck_assert(api->logits(net, x, B, base, &err) == 0);
	for (i = 0; i < B; i++) {
		for (a = 0; a < noff; a++)
			for (b = 0; b < noff; b++) {
				int ch, y, xx;
				memcpy(xo, x + (size_t)i * 3 * PL, sizeof(xo));
				for (ch = 0; ch < 3; ch++)
					for (y = off[a]; y < off[a] + 4; y++)
						for (xx = off[b]; xx < off[b] + 4; xx++)
							xo[ch * PL + y * W + xx] = 0;
				ck_assert(api->logits(net, xo, 1, lo, &err) == 0);
				drop[a * noff + b] = base[i * 3 + target[i]] - lo[target[i]];
			}
		sul_occlusion_map(drop, off, noff, 4, W, ref);
		for (p = 0; p < PL; p++)
			ck_assert_msg(fabsf(maps[i * PL + p] - ref[p]) <= 1e-4f * (1 + fabsf(ref[p])),
				      "occlusion image %d pixel %d: %g, one window at a time %g", i, p, maps[i * PL + p], ref[p]);
	}

	ck_assert_msg(sul_cam_maps(&run, &w, M_GUIDEDGRADCAM, maps, NULL, &err) == 0, "%s", err.msg);
	ck_assert(sul_cam_maps(&run, &w, M_GUIDEDBP, m2, NULL, &err) == 0);
	ck_assert(api->gradients(net, x, B, 5, target, SUL_DN_LOGIT, acts, g, NULL, &err) == 0);
	for (i = 0; i < B; i++) {
		sul_gradcam(acts + (size_t)i * 8 * 36, g + (size_t)i * 8 * 36, 8, 6, 6, cam);
		sul_upsample_bilinear(cam, 6, 6, up, W, W);
		sul_minmax01(up, PL);
		for (p = 0; p < PL; p++)
			ck_assert(fabsf(maps[i * PL + p] - m2[i * PL + p] * up[p]) <= 1e-5f * (1 + m2[i * PL + p]));
	}
	sul_cam_work_release(&w);
	api->close(net);
	tu_cleanup();
}
END_TEST

SUL_SUITE(gradcam)
{
	Suite *s = suite_create("gradcam");
	TCase *tc = tcase_create("gradients");

	/* Loop index: SUL_DN_ONEDNN (0), SUL_DN_DARKNET (1). */
	tcase_add_loop_test(tc, fd_bottleneck_logit, 0, 2);
	tcase_add_loop_test(tc, fd_bottleneck_softmax, 0, 2);
	tcase_add_loop_test(tc, fd_dropout_head, 0, 2);
	tcase_add_loop_test(tc, fd_loss_plain, 0, 2);
	tcase_add_loop_test(tc, fd_loss_batchnorm, 0, 2);
	tcase_add_loop_test(tc, gradcam_equals_cam_on_gap, 0, 2);
	tcase_add_loop_test(tc, gradients_leave_the_model_alone, 0, 2);
	tcase_add_loop_test(tc, forward_from_reruns_the_head, 0, 2);
	tcase_add_loop_test(tc, scorecam_and_ablationcam_as_the_kind_runs_them, 0, 2);
	tcase_add_loop_test(tc, guided_backprop_drops_negative_gradients, 0, 2);
	tcase_add_loop_test(tc, pixel_attributions_as_the_kind_runs_them, 0, 2);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
