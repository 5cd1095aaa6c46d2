/*
 * dncompare.c - the CUDA build of sulcus-darknet.so against the CPU build,
 * on the same weights and inputs (tests/t8001-gpu-build.sh,
 * tests/t8002-gpu-compare.sh).
 *
 * usage: dncompare [--device N] BATCH CFG...
 *
 * For each Darknet cfg (whose [net] batch is BATCH): the CPU build trains a
 * few steps and saves; the CUDA build opens those weights on device N and
 * both must then agree:
 *   - the weights read back from the device are the file's (digest equal);
 *   - probabilities within 1e-3, logits within 1e-3 (relative above 1);
 *   - Grad-CAM and Grad-CAM++ maps at the last spatial layer, and the
 *     input gradient, within 1e-3 of their maximum;
 *   - CAM weights (GAP heads) equal;
 *   - three training steps from the same weights, with per-image loss
 *     weights, then precise batchnorm statistics: probabilities within
 *     1e-2 (two float implementations drift apart while training);
 *   - weights saved from the device, read by the CPU build: digest equal.
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

static void fill_images(float *x, size_t n, unsigned seed)
{
	size_t i;

	srand(seed);
	for (i = 0; i < n; i++)
		x[i] = (float)rand() / (float)RAND_MAX;
}

static struct sul_dn_net *open_net(const struct sul_dn_api *api, const char *cfg, const char *weights, int batch,
				   int gpu)
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
	o.gpu = gpu;
	o.bn_momentum = 0.1f;
	if (api->open(&o, &net, &err))
		die(cfg, &err);
	return net;
}

static void train(const struct sul_dn_api *api, struct sul_dn_net *net, int steps, int batch, size_t isize,
		  int classes, float *probs)
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
		if (api->train_step(net, x, labels, w, 0.02f, probs, &err))
			die("train_step", &err);
	}
	free(x);
	free(w);
	free(labels);
}

static void heatmaps(const struct sul_dn_api *api, struct sul_dn_net *net, const float *x, int n, int layer,
		     const int *target, float *gc, float *gcpp, float *input_grad)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_layer l;
	struct sul_dn_info info;
	size_t per, isize;
	float *A, *G;
	int b;

	api->info(net, &info);
	api->layer(net, layer, &l);
	per = (size_t)l.out_c * l.out_h * l.out_w;
	A = sul_xmalloc(sizeof(float) * per * n);
	G = sul_xmalloc(sizeof(float) * per * n);
	if (api->gradients(net, x, n, layer, target, SUL_DN_LOGIT, A, G, NULL, &err))
		die("gradients", &err);
	for (b = 0; b < n; b++) {
		const size_t hw = (size_t)l.out_h * l.out_w;
		sul_gradcam(A + b * per, G + b * per, l.out_c, l.out_h, l.out_w, gc + b * hw);
		sul_gradcampp(A + b * per, G + b * per, l.out_c, l.out_h, l.out_w, gcpp + b * hw);
	}
	free(A);
	free(G);
	isize = (size_t)info.w * info.h * info.c;
	A = sul_xmalloc(sizeof(float) * isize * n);
	if (api->gradients(net, x, n, -1, target, SUL_DN_LOGIT, A, input_grad, NULL, &err))
		die("input gradients", &err);
	free(A);
}

static void bn_precise(const struct sul_dn_api *api, struct sul_dn_net *net, int batch, size_t isize)
{
	struct sul_err err = SUL_ERR_INIT;
	float *x = sul_xmalloc(sizeof(float) * isize * batch);
	int i;

	for (i = 0; i < 2; i++) {
		fill_images(x, isize * batch, 300 + (unsigned)i);
		if (api->bn_add(net, x, i == 0, &err))
			die("bn_add", &err);
	}
	api->bn_finish(net);
	free(x);
}

static void compare(const struct sul_dn_api *cpu, const struct sul_dn_api *gpu, int device, const char *cfg,
		    int batch, const char *tmp)
{
	struct sul_err err = SUL_ERR_INIT;
	char *w0 = sul_xasprintf("%s/start.weights", tmp), *w1 = sul_xasprintf("%s/gpu.weights", tmp);
	char d_cpu[65], d_gpu[65];
	struct sul_dn_info info;
	struct sul_dn_layer l;
	struct sul_dn_net *a, *g;
	size_t isize, hw, k;
	float *x, *pa, *pg, *ga, *gg, *ppa, *ppg, *ia, *ig;
	int *target, b, j;

	a = open_net(cpu, cfg, NULL, batch, -1);
	cpu->info(a, &info);
	isize = (size_t)info.w * info.h * info.c;
	k = (size_t)info.classes;
	pa = sul_xmalloc(sizeof(float) * batch * k);
	pg = sul_xmalloc(sizeof(float) * batch * k);
	train(cpu, a, 4, batch, isize, info.classes, pa);
	if (cpu->save(a, w0, &err))
		die(w0, &err);
	g = open_net(gpu, cfg, w0, batch, device);

	cpu->digest(a, d_cpu);
	gpu->digest(g, d_gpu);
	check(!strcmp(d_cpu, d_gpu), cfg, "loaded weights (digest)", strcmp(d_cpu, d_gpu) != 0, 0);

	x = sul_xmalloc(sizeof(float) * isize * batch);
	fill_images(x, isize * batch, 200);
	if (cpu->predict(a, x, batch, pa, &err) || gpu->predict(g, x, batch, pg, &err))
		die("predict", &err);
	check(max_abs_diff(pa, pg, batch * k) <= 1e-3, cfg, "probabilities", max_abs_diff(pa, pg, batch * k), 1e-3);
	if (cpu->logits(a, x, batch, pa, &err) || gpu->logits(g, x, batch, pg, &err))
		die("logits", &err);
	{
		double m = max_abs(pa, batch * k);
		double d = max_abs_diff(pa, pg, batch * k) / (m > 1 ? m : 1);
		check(d <= 1e-3, cfg, "logits (relative above 1)", d, 1e-3);
	}

	/* Heatmaps for each image's predicted class. */
	target = sul_xmalloc(sizeof(int) * batch);
	if (cpu->predict(a, x, batch, pa, &err))
		die("predict", &err);
	for (b = 0; b < batch; b++) {
		target[b] = 0;
		for (j = 1; j < (int)k; j++)
			if (pa[b * k + j] > pa[b * k + target[b]])
				target[b] = j;
	}
	cpu->layer(a, info.last_spatial, &l);
	hw = (size_t)l.out_h * l.out_w;
	ga = sul_xmalloc(sizeof(float) * hw * batch);
	gg = sul_xmalloc(sizeof(float) * hw * batch);
	ppa = sul_xmalloc(sizeof(float) * hw * batch);
	ppg = sul_xmalloc(sizeof(float) * hw * batch);
	ia = sul_xmalloc(sizeof(float) * isize * batch);
	ig = sul_xmalloc(sizeof(float) * isize * batch);
	heatmaps(cpu, a, x, batch, info.last_spatial, target, ga, ppa, ia);
	heatmaps(gpu, g, x, batch, info.last_spatial, target, gg, ppg, ig);
	check(rel_diff(ga, gg, hw * batch) <= 1e-3, cfg, "Grad-CAM maps (of max)", rel_diff(ga, gg, hw * batch), 1e-3);
	check(rel_diff(ppa, ppg, hw * batch) <= 1e-3, cfg, "Grad-CAM++ maps (of max)", rel_diff(ppa, ppg, hw * batch),
	      1e-3);
	check(rel_diff(ia, ig, isize * batch) <= 1e-3, cfg, "input gradient (of max)", rel_diff(ia, ig, isize * batch),
	      1e-3);
	if (info.gap_layer >= 0) {
		struct sul_dn_layer gl;
		size_t nw;
		float *wa, *wg;
		cpu->layer(a, info.gap_layer, &gl);
		nw = k * (size_t)gl.out_c;
		wa = sul_xmalloc(sizeof(float) * nw);
		wg = sul_xmalloc(sizeof(float) * nw);
		if (cpu->cam_weights(a, wa, &err) || gpu->cam_weights(g, wg, &err))
			die("cam_weights", &err);
		check(!memcmp(wa, wg, sizeof(float) * nw), cfg, "CAM weights (equal)", max_abs_diff(wa, wg, nw), 0);
		free(wa);
		free(wg);
	}

	/* Training from the same weights and optimizer state: both afresh
	 * (open() seeds rand(), which dropout masks come from). */
	cpu->close(a);
	a = open_net(cpu, cfg, w0, batch, -1);
	train(cpu, a, 3, batch, isize, info.classes, pa);
	gpu->close(g);
	g = open_net(gpu, cfg, w0, batch, device);
	train(gpu, g, 3, batch, isize, info.classes, pg);
	check(max_abs_diff(pa, pg, batch * k) <= 1e-2, cfg, "training-mode probabilities", max_abs_diff(pa, pg, batch * k),
	      1e-2);
	bn_precise(cpu, a, batch, isize);
	bn_precise(gpu, g, batch, isize);
	if (cpu->predict(a, x, batch, pa, &err) || gpu->predict(g, x, batch, pg, &err))
		die("predict", &err);
	check(max_abs_diff(pa, pg, batch * k) <= 1e-2, cfg, "probabilities after training", max_abs_diff(pa, pg, batch * k),
	      1e-2);

	/* What the device trained, saved and read back by the CPU build. */
	if (gpu->save(g, w1, &err))
		die(w1, &err);
	cpu->close(a);
	a = open_net(cpu, cfg, w1, batch, -1);
	cpu->digest(a, d_cpu);
	gpu->digest(g, d_gpu);
	check(!strcmp(d_cpu, d_gpu), cfg, "saved weights (digest)", strcmp(d_cpu, d_gpu) != 0, 0);
	if (cpu->predict(a, x, batch, pa, &err) || gpu->predict(g, x, batch, pg, &err))
		die("predict", &err);
	check(max_abs_diff(pa, pg, batch * k) <= 1e-3, cfg, "probabilities, saved weights", max_abs_diff(pa, pg, batch * k),
	      1e-3);

	cpu->close(a);
	gpu->close(g);
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
	free(target);
}

int main(int argc, char **argv)
{
	struct sul_err err = SUL_ERR_INIT;
	const struct sul_dn_api *cpu, *gpu;
	char why[256] = "", tmp[] = "/tmp/dncompare.XXXXXX";
	int device = 0, batch, i = 1;

	if (argc > 2 && !strcmp(argv[1], "--device")) {
		device = atoi(argv[2]);
		i = 3;
	}
	if (argc - i < 2 || (batch = atoi(argv[i])) < 1) {
		fprintf(stderr, "usage: dncompare [--device N] BATCH CFG...\n");
		return 1;
	}
	cpu = sul_dn_load(0, &err);
	if (!cpu)
		die("CPU build", &err);
	gpu = sul_dn_load(1, &err);
	if (!gpu)
		die("CUDA build", &err);
	printf("CPU build: %s; CUDA build: %s\n", cpu->build, gpu->build);
	if (device >= 0 && gpu->devices(why, sizeof(why)) <= device) {
		printf("SKIP: no CUDA device %d here (%s)\n", device, why[0] ? why : "fewer devices");
		return 77;
	}
	if (!mkdtemp(tmp)) {
		perror("dncompare: mkdtemp");
		return 1;
	}
	for (i++; i < argc; i++)
		compare(cpu, gpu, device, argv[i], batch, tmp);
	rmdir(tmp);
	printf("%s\n", failures ? "dncompare: FAILED" : "dncompare: the two builds agree");
	return failures ? 1 : 0;
}
