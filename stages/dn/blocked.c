/*
 * blocked.c - batchnorm, activations and the residual add on channel-
 * blocked tensors (see blocked.h): the work around oneDNN's convolutions
 * that oneDNN does not do the way Darknet does.
 *
 * Every loop runs over whole channel blocks, so the b lanes of a block are
 * one vector: the helpers are inlined with b a constant (8, 16 or 1).
 * Batch statistics are summed in float over runs of 64 positions and in
 * double across runs, so they stay accurate on 112x112 maps.  Threads
 * split channel blocks (statistics) or images x blocks (elementwise), in
 * a fixed static schedule: results do not depend on timing.
 */
#include "blocked.h"

#include <math.h>
#include <omp.h>
#include <string.h>

#define INLINE static inline __attribute__((always_inline))
#define MAXB 16
#define RUN 64

size_t sul_blk_floats(const struct sul_blk *t)
{
	const size_t cb = (size_t)(t->c + t->b - 1) / t->b;

	return (size_t)t->n * cb * t->b * t->h * t->w;
}

int sul_blk_act_ok(ACTIVATION a)
{
	return a == LINEAR || a == RELU || a == LEAKY;
}

INLINE float act(float x, ACTIVATION a)
{
	if (a == LEAKY)
		return x > 0 ? x : .1f * x;
	if (a == RELU)
		return x > 0 ? x : 0;
	return x;
}

/* Darknet's gradient(): of the output y, which has the input's sign. */
INLINE float act_grad(float y, ACTIVATION a)
{
	if (a == LEAKY)
		return y > 0 ? 1 : .1f;
	if (a == RELU)
		return y > 0 ? 1 : 0;
	return 1;
}

static int blocks(const struct sul_blk *t)
{
	return (t->c + t->b - 1) / t->b;
}

/* Sums of one channel block over every image: s[j] = sum x, and with
 * mean given, q[j] = sum (x - mean)^2. */
INLINE void block_sums(const float *x, int n, size_t plane, size_t hw, const int b, const float *mean,
		       double *s)
{
	int i, j;

	for (j = 0; j < b; j++)
		s[j] = 0;
	for (i = 0; i < n; i++) {
		const float *p = x + (size_t)i * plane;
		size_t k0;
		for (k0 = 0; k0 < hw; k0 += RUN) {
			const size_t k1 = k0 + RUN < hw ? k0 + RUN : hw;
			float part[MAXB] = { 0 };
			size_t k;
			if (mean) {
				for (k = k0; k < k1; k++)
					for (j = 0; j < b; j++) {
						const float d = p[k * b + j] - mean[j];
						part[j] += d * d;
					}
			} else {
				for (k = k0; k < k1; k++)
					for (j = 0; j < b; j++)
						part[j] += p[k * b + j];
			}
			for (j = 0; j < b; j++)
				s[j] += part[j];
		}
	}
}

INLINE void bn_stats(const struct sul_blk *t, const float *x, layer *l, const int b)
{
	const int nb = blocks(t), c = t->c;
	const size_t hw = (size_t)t->h * t->w, plane = (size_t)nb * hw * b;
	const double m = (double)t->n * hw;
	int cb;

#pragma omp parallel for schedule(static)
	for (cb = 0; cb < nb; cb++) {
		const float *xb = x + (size_t)cb * hw * b;
		float mean[MAXB];
		double s[MAXB];
		int j;

		block_sums(xb, t->n, plane, hw, b, NULL, s);
		for (j = 0; j < b; j++)
			mean[j] = (float)(s[j] / m);
		block_sums(xb, t->n, plane, hw, b, mean, s);
		for (j = 0; j < b && cb * b + j < c; j++) {
			l->mean[cb * b + j] = mean[j];
			l->variance[cb * b + j] = (float)(s[j] / (m - 1));
		}
	}
}

INLINE void bn_apply(const struct sul_blk *t, const float *x, float *y, const layer *l, const int b)
{
	const int nb = blocks(t);
	const size_t hw = (size_t)t->h * t->w;
	int nc;

#pragma omp parallel for schedule(static)
	for (nc = 0; nc < t->n * nb; nc++) {
		const int cb = nc % nb;
		const float *p = x + (size_t)nc * hw * b;
		float *q = y + (size_t)nc * hw * b;
		float mean[MAXB] = { 0 }, k[MAXB] = { 0 }, bias[MAXB] = { 0 };
		size_t s;
		int j;

		for (j = 0; j < b && cb * b + j < t->c; j++) {
			const int ch = cb * b + j;
			mean[j] = l->mean[ch];
			k[j] = l->scales[ch] / (sqrtf(l->variance[ch]) + .000001f);
			bias[j] = l->biases[ch];
		}
		for (s = 0; s < hw; s++)
			for (j = 0; j < b; j++)
				q[s * b + j] = act((p[s * b + j] - mean[j]) * k[j] + bias[j], l->activation);
	}
}

void sul_blk_bn_forward(const struct sul_blk *t, const float *x, float *y, layer *l)
{
	int ch;

	switch (t->b) {
	case 16: bn_stats(t, x, l, 16); break;
	case 8: bn_stats(t, x, l, 8); break;
	default: bn_stats(t, x, l, 1); break;
	}
	/* Darknet's scal_cpu(.99) then axpy_cpu(.01). */
	for (ch = 0; ch < t->c; ch++) {
		l->rolling_mean[ch] *= .99f;
		l->rolling_mean[ch] += .01f * l->mean[ch];
		l->rolling_variance[ch] *= .99f;
		l->rolling_variance[ch] += .01f * l->variance[ch];
	}
	switch (t->b) {
	case 16: bn_apply(t, x, y, l, 16); break;
	case 8: bn_apply(t, x, y, l, 8); break;
	default: bn_apply(t, x, y, l, 1); break;
	}
}

/*
 * Darknet's backward_batchnorm_layer, per channel, with d = delta * act'(y):
 *   bias_updates += sum d,  scale_updates += sum d x_norm,
 *   delta = scale d / sqrt(var + 1e-5) + vd 2 (x - mean) / m + md / m,
 *   md = -scale sum d / sqrt(var + 1e-5),
 *   vd = -scale/2 sum d (x - mean) (var + 1e-5)^(-3/2).
 * One block's sums need all its images, so threads split blocks.
 */
INLINE void bn_backward(const struct sul_blk *t, const float *x, const float *y, float *delta, layer *l,
			const int b)
{
	const int nb = blocks(t);
	const size_t hw = (size_t)t->h * t->w, plane = (size_t)nb * hw * b;
	const double m = (double)t->n * hw;
	const ACTIVATION a = l->activation;
	int cb;

#pragma omp parallel for schedule(static)
	for (cb = 0; cb < nb; cb++) {
		float mean[MAXB] = { 0 }, ka[MAXB] = { 0 }, kb[MAXB] = { 0 }, kc[MAXB] = { 0 };
		double s1[MAXB] = { 0 }, s2[MAXB] = { 0 };
		int i, j;

		for (j = 0; j < b && cb * b + j < t->c; j++)
			mean[j] = l->mean[cb * b + j];
		for (i = 0; i < t->n; i++) {
			const size_t o = (size_t)i * plane + (size_t)cb * hw * b;
			const float *px = x + o, *py = y + o;
			float *pd = delta + o;
			size_t k0;
			for (k0 = 0; k0 < hw; k0 += RUN) {
				const size_t k1 = k0 + RUN < hw ? k0 + RUN : hw;
				float p1[MAXB] = { 0 }, p2[MAXB] = { 0 };
				size_t k;
				for (k = k0; k < k1; k++)
					for (j = 0; j < b; j++) {
						const float d = pd[k * b + j] * act_grad(py[k * b + j], a);
						pd[k * b + j] = d;
						p1[j] += d;
						p2[j] += d * (px[k * b + j] - mean[j]);
					}
				for (j = 0; j < b; j++) {
					s1[j] += p1[j];
					s2[j] += p2[j];
				}
			}
		}
		for (j = 0; j < b && cb * b + j < t->c; j++) {
			const int ch = cb * b + j;
			const double var = l->variance[ch], scale = l->scales[ch];
			const double md = -scale * s1[j] / sqrt(var + .00001);
			const double vd = -.5 * scale * s2[j] * pow(var + .00001, -1.5);
			l->bias_updates[ch] += (float)s1[j];
			l->scale_updates[ch] += (float)(s2[j] / (sqrtf(l->variance[ch]) + .000001f));
			ka[j] = (float)(scale / sqrt(var + .00001));
			kb[j] = (float)(vd * 2 / m);
			kc[j] = (float)(md / m);
		}
		for (i = 0; i < t->n; i++) {
			const size_t o = (size_t)i * plane + (size_t)cb * hw * b;
			const float *px = x + o;
			float *pd = delta + o;
			size_t k;
			for (k = 0; k < hw; k++)
				for (j = 0; j < b; j++)
					pd[k * b + j] = pd[k * b + j] * ka[j] + (px[k * b + j] - mean[j]) * kb[j] + kc[j];
		}
	}
}

void sul_blk_bn_backward(const struct sul_blk *t, const float *x, const float *y, float *delta, layer *l)
{
	switch (t->b) {
	case 16: bn_backward(t, x, y, delta, l, 16); break;
	case 8: bn_backward(t, x, y, delta, l, 8); break;
	default: bn_backward(t, x, y, delta, l, 1); break;
	}
}

void sul_blk_act_backward(const struct sul_blk *t, const float *y, float *delta, ACTIVATION a)
{
	const long n = (long)sul_blk_floats(t);
	long i;

	if (a == LINEAR)
		return;
#pragma omp parallel for schedule(static) if (n > 32768)
	for (i = 0; i < n; i++)
		delta[i] *= act_grad(y[i], a);
}

/* Offset of (n, c, h, w). */
static size_t at(const struct sul_blk *t, int n, int c, int h, int w)
{
	return ((((size_t)n * blocks(t) + c / t->b) * t->h + h) * t->w + w) * t->b + c % t->b;
}

/* Darknet's shortcut_cpu geometry: from's (h, w) read for y's positions. */
struct geometry {
	int stride, sample, minc, minh, minw;
};

static struct geometry geometry_of(const struct sul_blk *t, const struct sul_blk *f)
{
	struct geometry g;

	g.stride = f->w / t->w;
	g.sample = t->w / f->w;
	if (g.stride < 1)
		g.stride = 1;
	if (g.sample < 1)
		g.sample = 1;
	g.minw = f->w < t->w ? f->w : t->w;
	g.minh = f->h < t->h ? f->h : t->h;
	g.minc = f->c < t->c ? f->c : t->c;
	return g;
}

static int same_shape(const struct sul_blk *t, const struct sul_blk *f)
{
	return t->n == f->n && t->c == f->c && t->h == f->h && t->w == f->w && t->b == f->b;
}

void sul_blk_shortcut_forward(const struct sul_blk *t, const float *prev, const struct sul_blk *f,
			      const float *from, float alpha, float beta, ACTIVATION a, float *y)
{
	const long n = (long)sul_blk_floats(t);
	long i;

	if (same_shape(t, f)) {
#pragma omp parallel for schedule(static) if (n > 32768)
		for (i = 0; i < n; i++)
			y[i] = act(alpha * prev[i] + beta * from[i], a);
		return;
	}
	{
		const struct geometry g = geometry_of(t, f);
		int bn;

		if (y != prev)
			memcpy(y, prev, sizeof(float) * (size_t)n);
#pragma omp parallel for schedule(static)
		for (bn = 0; bn < t->n * g.minc; bn++) {
			const int b = bn / g.minc, k = bn % g.minc;
			int j, x;
			for (j = 0; j < g.minh; j++)
				for (x = 0; x < g.minw; x++) {
					float *o = y + at(t, b, k, j * g.sample, x * g.sample);
					*o = alpha * *o + beta * from[at(f, b, k, j * g.stride, x * g.stride)];
				}
		}
#pragma omp parallel for schedule(static) if (n > 32768)
		for (i = 0; i < n; i++)
			y[i] = act(y[i], a);
	}
}

void sul_blk_shortcut_backward(const struct sul_blk *t, const float *y, float *delta, const struct sul_blk *f,
			       float alpha, float beta, ACTIVATION a, float *prev_delta, int prev_set,
			       float *from_delta, int from_set)
{
	const long n = (long)sul_blk_floats(t);
	const int same = same_shape(t, f);
	long i;

	/* One pass for the common case: act', then both copies or sums. */
#pragma omp parallel for schedule(static) if (n > 32768)
	for (i = 0; i < n; i++) {
		const float d = delta[i] * act_grad(y[i], a);
		delta[i] = d;
		if (prev_delta)
			prev_delta[i] = prev_set ? prev_delta[i] + alpha * d : alpha * d;
		if (same && from_delta)
			from_delta[i] = from_set ? from_delta[i] + beta * d : beta * d;
	}
	if (!same && from_delta) {
		const struct geometry g = geometry_of(t, f);
		int bn;

		if (!from_set)
			memset(from_delta, 0, sizeof(float) * sul_blk_floats(f));
#pragma omp parallel for schedule(static)
		for (bn = 0; bn < t->n * g.minc; bn++) {
			const int b = bn / g.minc, k = bn % g.minc;
			int j, x;
			for (j = 0; j < g.minh; j++)
				for (x = 0; x < g.minw; x++)
					from_delta[at(f, b, k, j * g.stride, x * g.stride)] +=
						beta * delta[at(t, b, k, j * g.sample, x * g.sample)];
		}
	}
}

void sul_blk_add(float *y, const float *x, size_t n)
{
	long i;

#pragma omp parallel for schedule(static) if (n > 32768)
	for (i = 0; i < (long)n; i++)
		y[i] += x[i];
}
