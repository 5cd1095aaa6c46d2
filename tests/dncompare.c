/*
 * dncompare.c - two ways of computing a Darknet network, on the same
 * weights and inputs, must agree (tests/t6005-onednn-compare.sh,
 * tests/t8001-gpu-build.sh, tests/t8002-gpu-compare.sh).
 *
 * usage: dncompare --backends BATCH CFG...
 *        dncompare [--device N] BATCH CFG...
 *
 * --backends: the oneDNN backend of sulcus-darknet.so against Darknet's
 * own layers (the reference), in one process.  Otherwise: the CUDA build
 * on device N against the CPU build's reference backend.
 *
 * For each Darknet cfg (whose [net] batch is BATCH): the reference trains
 * a few steps and saves; both open those weights, and then:
 *   - the weights read back are the file's (digest equal);
 *   - probabilities, logits (relative above 1) and, with --backends, the
 *     activations of the last spatial layer (relative to their largest)
 *     within TOL;
 *   - Grad-CAM and Grad-CAM++ maps at the last spatial layer, and the
 *     input gradient, within 1e-3 of their maximum;
 *   - CAM weights (GAP heads) equal;
 *   - with --backends, the gradients of the training loss with respect to
 *     every layer's weights and biases within 1e-3 of each layer's largest;
 *   - three training steps from the same weights, with per-image loss
 *     weights, then precise batchnorm statistics: probabilities within
 *     TRAIN_TOL (two float implementations drift apart while training);
 *   - with --backends, the same three steps again give bit-identical
 *     weights (determinism for a seed);
 *   - weights saved by the second, read by the reference: digest equal.
 * TOL is 1e-4 with --backends, 1e-3 for the GPU; TRAIN_TOL 1e-2.
 *
 * Kinks.  A ReLU or leaky unit whose input is within float rounding of 0,
 * or a max pool whose two largest inputs are, can take the other branch in
 * the other implementation; every gradient below it then differs in the
 * (image, position) columns it reaches, by up to its share of the total.
 * On deep ReLU / max-pool networks a few such units per batch are the
 * rule: bisected on resnet50 and VGG19, each difference sits in one
 * column under one unit whose pre-activation is ~1e-6 of the largest.  So
 * a gradient that misses 1e-3 of its maximum somewhere passes when its
 * relative L2 difference is within 1e-2 (printed "ok~" with both figures).
 * --device -1 opens the CUDA build's network on the CPU: its CPU paths,
 * compiled with darknet.h's GPU structs, against the CPU build.  That runs
 * anywhere, so CI checks the CUDA build's layout on every run.
 *
 * Prints one line per figure.  Exit 0: all agree; 1: a check failed or
 * something could not run; 77: no CUDA device (the tests report a skip).
 */
#include "../engine/err.h"
#include "../engine/strbuf.h"
#include "../stages/dn.h"
#include "../stages/heatmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *cfg, const char *what, double value, double bound)
{
	printf("%-4s %-32s %-28s %.3g (bound %.3g)\n", ok ? "ok" : "FAIL", cfg, what, value, bound);
	if (!ok)
		failures++;
}

static void die(const char *what, const struct sul_err *err)
{
	fprintf(stderr, "dncompare: %s: %s\n", what, err->msg);
	exit(1);
}

static double max_abs_diff(const float *a, const float *b, size_t n)
{
	double d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (fabs((double)a[i] - b[i]) > d)
			d = fabs((double)a[i] - b[i]);
	return d;
}

static double max_abs(const float *a, size_t n)
{
	double m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		if (fabs((double)a[i]) > m)
			m = fabs((double)a[i]);
	return m;
}

/* Largest difference relative to the CPU map's largest value. */
static double rel_diff(const float *cpu, const float *gpu, size_t n)
{
	double m = max_abs(cpu, n);
	return max_abs_diff(cpu, gpu, n) / (m > 0 ? m : 1);
}

/* |a - b| / |a| in the L2 norm. */
static double l2_rel(const float *a, const float *b, size_t n)
{
	double na = 0, nd = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		na += (double)a[i] * a[i];
		nd += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	}
	return na > 0 ? sqrt(nd / na) : sqrt(nd);
}

/*
 * A gradient: within 1e-3 of scale (its largest value, or floor when that
 * is larger: a sum that cancels to nearly 0, such as the bias gradient of
 * a layer that a batchnorm follows, is compared at the scale of its
 * terms), or (see Kinks) 1e-2 in L2.
 */
static void check_grad(const char *cfg, const char *what, const float *a, const float *b, size_t n, double floor)
{
	const double m = fmax(max_abs(a, n), floor), e = max_abs_diff(a, b, n) / (m > 0 ? m : 1);
	const double l2 = l2_rel(a, b, n);

	if (e <= 1e-3) {
		check(1, cfg, what, e, 1e-3);
		return;
	}
	printf("%-4s %-32s %-28s %.3g (bound 0.001); L2 %.3g (bound 0.01)\n", l2 <= 1e-2 ? "ok~" : "FAIL", cfg, what,
	       e, l2);
	if (l2 > 1e-2)
		failures++;
}

static void fill_images(float *x, size_t n, unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < n; i++)
		x[i] = (float)rand() / (float)RAND_MAX;
}

/* One way of computing: a build, a device, a backend. */
struct side {
	const struct sul_dn_api *api;
	int gpu;
	int backend;
};

static struct sul_dn_net *open_net(const struct side *sd, const char *cfg, const char *weights, int batch)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_open o;
	struct sul_dn_net *net = NULL;

	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.weights = weights;
	o.batch = batch;
	o.seed = 5;
	o.threads = 0;
	o.gpu = sd->gpu;
	o.bn_momentum = 0.1f;
	o.backend = sd->backend;
	if (sd->api->open(&o, &net, &err))
		die(cfg, &err);
	return net;
}

static void train(const struct side *sd, struct sul_dn_net *net, int steps, int batch, size_t isize, int classes,
		  float *probs)
{
	struct sul_err err = SUL_ERR_INIT;
	float *x = sul_xmalloc(sizeof(float) * isize * batch);
	float *w = sul_xmalloc(sizeof(float) * batch);
	int *labels = sul_xmalloc(sizeof(int) * batch);
	int s, b;

	for (b = 0; b < batch; b++) {
		labels[b] = b % classes;
		w[b] = b % 2 ? 1.5f : 0.75f;
	}
	for (s = 0; s < steps; s++) {
		fill_images(x, isize * batch, 100 + (unsigned)s);
		srand(500 + (unsigned)s);  /* dropout masks */
		if (sd->api->train_step(net, x, labels, w, 0.02f, probs, &err))
			die("train_step", &err);
	}
	free(x);
	free(w);
	free(labels);
}

static void heatmaps(const struct side *sd, struct sul_dn_net *net, const float *x, int n, int layer,
		     const int *target, float *acts, float *gc, float *gcpp, float *input_grad)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_layer l;
	struct sul_dn_info info;
	size_t per, isize;
	float *G, *I;
	int b;

	sd->api->info(net, &info);
	sd->api->layer(net, layer, &l);
	per = (size_t)l.out_c * l.out_h * l.out_w;
	G = sul_xmalloc(sizeof(float) * per * n);
	if (sd->api->gradients(net, x, n, layer, target, SUL_DN_LOGIT, acts, G, NULL, &err))
		die("gradients", &err);
	for (b = 0; b < n; b++) {
		const size_t hw = (size_t)l.out_h * l.out_w;
		sul_gradcam(acts + b * per, G + b * per, l.out_c, l.out_h, l.out_w, gc + b * hw);
		sul_gradcampp(acts + b * per, G + b * per, l.out_c, l.out_h, l.out_w, gcpp + b * hw);
	}
	free(G);
	isize = (size_t)info.w * info.h * info.c;
	I = sul_xmalloc(sizeof(float) * isize * n);
	if (sd->api->gradients(net, x, n, -1, target, SUL_DN_LOGIT, I, input_grad, NULL, &err))
		die("input gradients", &err);
	free(I);
}

static void bn_precise(const struct side *sd, struct sul_dn_net *net, int batch, size_t isize)
{
	struct sul_err err = SUL_ERR_INIT;
	float *x = sul_xmalloc(sizeof(float) * isize * batch);
	int i;

	for (i = 0; i < 2; i++) {
		fill_images(x, isize * batch, 300 + (unsigned)i);
		if (sd->api->bn_add(net, x, i == 0, &err))
			die("bn_add", &err);
	}
	sd->api->bn_finish(net);
	free(x);
}

/* Every parameter layer's array `which`, one check per layer; the floor of
 * the scale is 1e-2 of the network's largest. */
static void check_params(const struct side *ra, struct sul_dn_net *a, const struct side *rb, struct sul_dn_net *b,
			 int which, const char *cfg, const char *what)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_info info;
	float **pa, **pb;
	size_t *n;
	double most = 0;
	int i;

	ra->api->info(a, &info);
	pa = sul_xcalloc((size_t)info.nlayers, sizeof(float *));
	pb = sul_xcalloc((size_t)info.nlayers, sizeof(float *));
	n = sul_xcalloc((size_t)info.nlayers, sizeof(size_t));
	for (i = 0; i < info.nlayers; i++) {
		struct sul_dn_layer l;
		ra->api->layer(a, i, &l);
		if (strcmp(l.type, "convolutional") && strcmp(l.type, "connected"))
			continue;
		n[i] = which == SUL_DN_WEIGHT_GRADS ? (size_t)l.weights : (size_t)l.out_c;
		pa[i] = sul_xmalloc(sizeof(float) * n[i]);
		pb[i] = sul_xmalloc(sizeof(float) * n[i]);
		if (ra->api->param(a, i, which, pa[i], n[i], 0, &err) || rb->api->param(b, i, which, pb[i], n[i], 0, &err))
			die("param", &err);
		most = fmax(most, max_abs(pa[i], n[i]));
	}
	for (i = 0; i < info.nlayers; i++) {
		char label[64];
		if (!pa[i])
			continue;
		snprintf(label, sizeof(label), "d(loss)/d(%s) layer %d", what, i);
		check_grad(cfg, label, pa[i], pb[i], n[i], 1e-2 * most);
		free(pa[i]);
		free(pb[i]);
	}
	free(pa);
	free(pb);
	free(n);
}

static void loss_gradients(const struct side *sd, struct sul_dn_net *net, int batch, size_t isize, int classes)
{
	struct sul_err err = SUL_ERR_INIT;
	float *x = sul_xmalloc(sizeof(float) * isize * batch), *p = sul_xmalloc(sizeof(float) * batch * classes);
	int *labels = sul_xmalloc(sizeof(int) * batch), b;

	for (b = 0; b < batch; b++)
		labels[b] = (b + 1) % classes;
	fill_images(x, isize * batch, 400);
	srand(600);
	if (sd->api->loss_gradients(net, x, labels, NULL, p, &err))
		die("loss_gradients", &err);
	free(x);
	free(p);
	free(labels);
}

static void compare(const struct side *ref, const struct side *oth, int backends, const char *cfg, int batch,
		    const char *tmp)
{
	const double tol = backends ? 1e-4 : 1e-3, train_tol = 1e-2;
	struct sul_err err = SUL_ERR_INIT;
	char *w0 = sul_xasprintf("%s/start.weights", tmp), *w1 = sul_xasprintf("%s/other.weights", tmp);
	char d_ref[65], d_oth[65];
	struct sul_dn_info info, oinfo;
	struct sul_dn_layer l;
	struct sul_dn_net *a, *g;
	size_t isize, hw, per, k;
	float *x, *pa, *pg, *ga, *gg, *ppa, *ppg, *ia, *ig, *aa, *ag;
	int *target, b, j;

	a = open_net(ref, cfg, NULL, batch);
	ref->api->info(a, &info);
	isize = (size_t)info.w * info.h * info.c;
	k = (size_t)info.classes;
	pa = sul_xmalloc(sizeof(float) * batch * k);
	pg = sul_xmalloc(sizeof(float) * batch * k);
	train(ref, a, 4, batch, isize, info.classes, pa);
	if (ref->api->save(a, w0, &err))
		die(w0, &err);
	g = open_net(oth, cfg, w0, batch);
	oth->api->info(g, &oinfo);
	printf("%s: %s against %s\n", cfg, oinfo.backend, info.backend);

	ref->api->digest(a, d_ref);
	oth->api->digest(g, d_oth);
	check(!strcmp(d_ref, d_oth), cfg, "loaded weights (digest)", strcmp(d_ref, d_oth) != 0, 0);

	x = sul_xmalloc(sizeof(float) * isize * batch);
	fill_images(x, isize * batch, 200);
	if (ref->api->predict(a, x, batch, pa, &err) || oth->api->predict(g, x, batch, pg, &err))
		die("predict", &err);
	check(max_abs_diff(pa, pg, batch * k) <= tol, cfg, "probabilities", max_abs_diff(pa, pg, batch * k), tol);
	if (ref->api->logits(a, x, batch, pa, &err) || oth->api->logits(g, x, batch, pg, &err))
		die("logits", &err);
	{
		double m = max_abs(pa, batch * k);
		double d = max_abs_diff(pa, pg, batch * k) / (m > 1 ? m : 1);
		check(d <= tol, cfg, "logits (relative above 1)", d, tol);
	}

	/* Heatmaps for each image's predicted class. */
	target = sul_xmalloc(sizeof(int) * batch);
	if (ref->api->predict(a, x, batch, pa, &err))
		die("predict", &err);
	for (b = 0; b < batch; b++) {
		target[b] = 0;
		for (j = 1; j < (int)k; j++)
			if (pa[b * k + j] > pa[b * k + target[b]])
				target[b] = j;
	}
	ref->api->layer(a, info.last_spatial, &l);
	hw = (size_t)l.out_h * l.out_w;
	per = (size_t)l.out_c * hw;
	ga = sul_xmalloc(sizeof(float) * hw * batch);
	gg = sul_xmalloc(sizeof(float) * hw * batch);
	ppa = sul_xmalloc(sizeof(float) * hw * batch);
	ppg = sul_xmalloc(sizeof(float) * hw * batch);
	ia = sul_xmalloc(sizeof(float) * isize * batch);
	ig = sul_xmalloc(sizeof(float) * isize * batch);
	aa = sul_xmalloc(sizeof(float) * per * batch);
	ag = sul_xmalloc(sizeof(float) * per * batch);
	heatmaps(ref, a, x, batch, info.last_spatial, target, aa, ga, ppa, ia);
	heatmaps(oth, g, x, batch, info.last_spatial, target, ag, gg, ppg, ig);
	if (backends)
		check(rel_diff(aa, ag, per * batch) <= tol, cfg, "last spatial layer (of max)", rel_diff(aa, ag, per * batch),
		      tol);
	check(rel_diff(ga, gg, hw * batch) <= 1e-3, cfg, "Grad-CAM maps (of max)", rel_diff(ga, gg, hw * batch), 1e-3);
	check(rel_diff(ppa, ppg, hw * batch) <= 1e-3, cfg, "Grad-CAM++ maps (of max)", rel_diff(ppa, ppg, hw * batch),
	      1e-3);
	if (backends)
		check_grad(cfg, "input gradient (of max)", ia, ig, isize * batch, 0);
	else
		check(rel_diff(ia, ig, isize * batch) <= 1e-3, cfg, "input gradient (of max)",
		      rel_diff(ia, ig, isize * batch), 1e-3);
	if (info.gap_layer >= 0) {
		struct sul_dn_layer gl;
		size_t nw;
		float *wa, *wg;
		ref->api->layer(a, info.gap_layer, &gl);
		nw = k * (size_t)gl.out_c;
		wa = sul_xmalloc(sizeof(float) * nw);
		wg = sul_xmalloc(sizeof(float) * nw);
		if (ref->api->cam_weights(a, wa, &err) || oth->api->cam_weights(g, wg, &err))
			die("cam_weights", &err);
		check(!memcmp(wa, wg, sizeof(float) * nw), cfg, "CAM weights (equal)", max_abs_diff(wa, wg, nw), 0);
		free(wa);
		free(wg);
	}
	if (backends) {
		loss_gradients(ref, a, batch, isize, info.classes);
		loss_gradients(oth, g, batch, isize, info.classes);
		check_params(ref, a, oth, g, SUL_DN_WEIGHT_GRADS, cfg, "weights");
		check_params(ref, a, oth, g, SUL_DN_BIAS_GRADS, cfg, "biases");
	}

	/* Training from the same weights and optimizer state: both afresh. */
	ref->api->close(a);
	a = open_net(ref, cfg, w0, batch);
	train(ref, a, 3, batch, isize, info.classes, pa);
	oth->api->close(g);
	g = open_net(oth, cfg, w0, batch);
	train(oth, g, 3, batch, isize, info.classes, pg);
	check(max_abs_diff(pa, pg, batch * k) <= train_tol, cfg, "training-mode probabilities",
	      max_abs_diff(pa, pg, batch * k), train_tol);
	if (backends) {
		struct sul_dn_net *again = open_net(oth, cfg, w0, batch);
		char d_again[65];
		float *pg2 = sul_xmalloc(sizeof(float) * batch * k);
		train(oth, again, 3, batch, isize, info.classes, pg2);
		oth->api->digest(g, d_oth);
		oth->api->digest(again, d_again);
		check(!strcmp(d_oth, d_again), cfg, "trained twice (digest)", strcmp(d_oth, d_again) != 0, 0);
		oth->api->close(again);
		free(pg2);
	}
	bn_precise(ref, a, batch, isize);
	bn_precise(oth, g, batch, isize);
	if (ref->api->predict(a, x, batch, pa, &err) || oth->api->predict(g, x, batch, pg, &err))
		die("predict", &err);
	check(max_abs_diff(pa, pg, batch * k) <= train_tol, cfg, "probabilities after training",
	      max_abs_diff(pa, pg, batch * k), train_tol);

	/* What the other trained, saved and read back by the reference. */
	if (oth->api->save(g, w1, &err))
		die(w1, &err);
	ref->api->close(a);
	a = open_net(ref, cfg, w1, batch);
	ref->api->digest(a, d_ref);
	oth->api->digest(g, d_oth);
	check(!strcmp(d_ref, d_oth), cfg, "saved weights (digest)", strcmp(d_ref, d_oth) != 0, 0);
	if (ref->api->predict(a, x, batch, pa, &err) || oth->api->predict(g, x, batch, pg, &err))
		die("predict", &err);
	check(max_abs_diff(pa, pg, batch * k) <= tol, cfg, "probabilities, saved weights", max_abs_diff(pa, pg, batch * k),
	      tol);

	ref->api->close(a);
	oth->api->close(g);
	unlink(w0);
	unlink(w1);
	free(w0);
	free(w1);
	free(x);
	free(pa);
	free(pg);
	free(ga);
	free(gg);
	free(ppa);
	free(ppg);
	free(ia);
	free(ig);
	free(aa);
	free(ag);
	free(target);
}

int main(int argc, char **argv)
{
	struct sul_err err = SUL_ERR_INIT;
	struct side ref = { NULL, -1, SUL_DN_DARKNET }, oth = { NULL, 0, SUL_DN_DARKNET };
	char why[256] = "", tmp[] = "/tmp/dncompare.XXXXXX";
	int backends = 0, batch, i = 1;

	if (argc > 1 && !strcmp(argv[1], "--backends")) {
		backends = 1;
		i = 2;
	} else if (argc > 2 && !strcmp(argv[1], "--device")) {
		oth.gpu = (int)strtol(argv[2], NULL, 10);
		i = 3;
	}
	if (argc - i < 2 || (batch = (int)strtol(argv[i], NULL, 10)) < 1) {
		fprintf(stderr, "usage: dncompare --backends BATCH CFG...\n       dncompare [--device N] BATCH CFG...\n");
		return 1;
	}
	ref.api = sul_dn_load(0, &err);
	if (!ref.api)
		die("CPU build", &err);
	if (backends) {
		oth.api = ref.api;
		oth.gpu = -1;
		oth.backend = SUL_DN_ONEDNN;
	} else {
		oth.api = sul_dn_load(1, &err);
		if (!oth.api)
			die("CUDA build", &err);
		printf("CPU build: %s; CUDA build: %s\n", ref.api->build, oth.api->build);
		if (oth.gpu >= 0 && oth.api->devices(why, sizeof(why)) <= oth.gpu) {
			printf("SKIP: no CUDA device %d here (%s)\n", oth.gpu, why[0] ? why : "fewer devices");
			return 77;
		}
	}
	if (!mkdtemp(tmp)) {
		perror("dncompare: mkdtemp");
		return 1;
	}
	for (i++; i < argc; i++)
		compare(&ref, &oth, backends, argv[i], batch, tmp);
	rmdir(tmp);
	printf("%s\n", failures ? "dncompare: FAILED" : backends ? "dncompare: the two backends agree"
								   : "dncompare: the two builds agree");
	return failures ? 1 : 0;
}
