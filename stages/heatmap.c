/*
 * heatmap.c - the gradient methods (CAM, Grad-CAM, Grad-CAM++, HiResCAM,
 * XGrad-CAM, LayerCAM) and the map operations; see heatmap.h for the
 * mathematics and the papers.  The gradient-free methods are in
 * heatmap_free.c.
 */
#include "heatmap.h"

#include "../engine/strbuf.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

/* Below this the Grad-CAM++ denominator 2 + S g counts as the pole. */
#define GRADCAMPP_MIN_DENOM 1e-12

/* map = sum_c wts[c] * A_c, ReLU'd if asked; the shared last step of every
 * method.  Accumulates one pixel over channels in double. */
static void combine(const float *A, const double *wts, int k, size_t n, int relu, float *map)
{
	size_t p;
	int c;

	for (p = 0; p < n; p++) {
		double s = 0;
		for (c = 0; c < k; c++)
			s += wts[c] * A[(size_t)c * n + p];
		map[p] = (float)(relu && !(s > 0) ? 0 : s);
	}
}

void sul_weighted_map(const float *A, const double *wts, int k, int h, int w, float *map)
{
	assert(k > 0 && h > 0 && w > 0);
	combine(A, wts, k, (size_t)h * (size_t)w, 1, map);
}

void sul_cam(const float *A, const float *wc, int k, int h, int w, float *map)
{
	size_t n = (size_t)h * (size_t)w, p;
	int c;

	assert(k > 0 && h > 0 && w > 0);
	for (p = 0; p < n; p++) {
		double s = 0;
		for (c = 0; c < k; c++)
			s += (double)wc[c] * A[(size_t)c * n + p];
		map[p] = (float)s;
	}
}

void sul_gradcam_weights(const float *G, int k, int h, int w, double *alpha)
{
	size_t n = (size_t)h * (size_t)w, p;
	int c;

	assert(k > 0 && h > 0 && w > 0);
	for (c = 0; c < k; c++) {
		const float *g = G + (size_t)c * n;
		double s = 0;
		for (p = 0; p < n; p++)
			s += g[p];
		alpha[c] = s / (double)n;
	}
}

void sul_gradcam(const float *A, const float *G, int k, int h, int w, float *map)
{
	double *alpha = sul_xmalloc((size_t)k * sizeof(*alpha));

	sul_gradcam_weights(G, k, h, w, alpha);
	combine(A, alpha, k, (size_t)h * (size_t)w, 1, map);
	free(alpha);
}

size_t sul_gradcampp_weights(const float *A, const float *G, int k, int h, int w, double *wts)
{
	size_t n = (size_t)h * (size_t)w, p, guarded = 0;
	int c;

	assert(k > 0 && h > 0 && w > 0);
	for (c = 0; c < k; c++) {
		const float *a = A + (size_t)c * n, *g = G + (size_t)c * n;
		double S = 0, wc = 0;
		for (p = 0; p < n; p++)
			S += a[p];
		for (p = 0; p < n; p++) {
			double denom;
			if (!(g[p] > 0))
				continue;  /* ReLU(g) = 0: no contribution whatever alpha is */
			denom = 2 + S * g[p];
			if (denom <= GRADCAMPP_MIN_DENOM) {
				guarded++;
				continue;
			}
			/* alpha_ij * ReLU(g_ij) with alpha = 1 / (2 + S g) */
			wc += g[p] / denom;
		}
		wts[c] = wc;
	}
	return guarded;
}

size_t sul_gradcampp(const float *A, const float *G, int k, int h, int w, float *map)
{
	double *wts = sul_xmalloc((size_t)k * sizeof(*wts));
	size_t guarded = sul_gradcampp_weights(A, G, k, h, w, wts);

	combine(A, wts, k, (size_t)h * (size_t)w, 1, map);
	free(wts);
	return guarded;
}

/* The two input samples and the weight of the second for output
 * coordinate dst along an axis of n input and N output pixels
 * (half-pixel centres, clamped to the edge as cv2.resize does). */
static void bilinear_tap(int dst, int n, int N, int *i0, int *i1, double *f)
{
	double src = ((double)dst + 0.5) * (double)n / (double)N - 0.5;
	int i;

	if (src <= 0) {
		*i0 = *i1 = 0;
		*f = 0;
		return;
	}
	i = (int)floor(src);
	if (i >= n - 1) {
		*i0 = *i1 = n - 1;
		*f = 0;
		return;
	}
	*i0 = i;
	*i1 = i + 1;
	*f = src - i;
}

/* ReLU(sum_c f(G_c) * A_c) position by position: f the identity
 * (HiResCAM) or ReLU (LayerCAM). */
static void elementwise(const float *A, const float *G, int k, int h, int w, int relu_grad, float *map)
{
	const size_t n = (size_t)h * (size_t)w;
	size_t p;
	int c;

	assert(k > 0 && h > 0 && w > 0);
	for (p = 0; p < n; p++) {
		double s = 0;
		for (c = 0; c < k; c++) {
			double g = G[(size_t)c * n + p];
			if (relu_grad && !(g > 0))
				continue;
			s += g * A[(size_t)c * n + p];
		}
		map[p] = (float)(s > 0 ? s : 0);
	}
}

void sul_hirescam(const float *A, const float *G, int k, int h, int w, float *map)
{
	elementwise(A, G, k, h, w, 0, map);
}

void sul_layercam(const float *A, const float *G, int k, int h, int w, float *map)
{
	elementwise(A, G, k, h, w, 1, map);
}

void sul_xgradcam_weights(const float *A, const float *G, int k, int h, int w, double *wts)
{
	const size_t n = (size_t)h * (size_t)w;
	size_t p;
	int c;

	assert(k > 0 && h > 0 && w > 0);
	for (c = 0; c < k; c++) {
		const float *a = A + (size_t)c * n, *g = G + (size_t)c * n;
		double sum = 0, ag = 0;
		for (p = 0; p < n; p++) {
			sum += a[p];
			ag += (double)a[p] * g[p];
		}
		wts[c] = fabs(sum) > 1e-12 ? ag / sum : 0;
	}
}

void sul_xgradcam(const float *A, const float *G, int k, int h, int w, float *map)
{
	double *wts = sul_xmalloc((size_t)k * sizeof(*wts));

	sul_xgradcam_weights(A, G, k, h, w, wts);
	combine(A, wts, k, (size_t)h * (size_t)w, 1, map);
	free(wts);
}

void sul_upsample_bilinear(const float *in, int h, int w, float *out, int H, int W)
{
	int y, x;

	assert(h > 0 && w > 0 && H > 0 && W > 0);
	for (y = 0; y < H; y++) {
		int y0, y1;
		double fy;
		const float *r0, *r1;

		bilinear_tap(y, h, H, &y0, &y1, &fy);
		r0 = in + (size_t)y0 * (size_t)w;
		r1 = in + (size_t)y1 * (size_t)w;
		for (x = 0; x < W; x++) {
			int x0, x1;
			double fx, top, bottom;

			bilinear_tap(x, w, W, &x0, &x1, &fx);
			top = (1 - fx) * r0[x0] + fx * r0[x1];
			bottom = (1 - fx) * r1[x0] + fx * r1[x1];
			out[(size_t)y * (size_t)W + (size_t)x] = (float)((1 - fy) * top + fy * bottom);
		}
	}
}

/* The share of input cell [i, i+1) inside output cell o's span
 * [o N / n, (o+1) N / n), in input units. */
static double overlap(int o, int n, int N, int i)
{
	double lo = (double)o * N / n, hi = (double)(o + 1) * N / n;
	double a = i > lo ? i : lo, b = i + 1 < hi ? i + 1 : hi;

	return b > a ? b - a : 0;
}

void sul_downsample_area(const float *in, int H, int W, float *out, int h, int w)
{
	int y, x, i, j;

	assert(h > 0 && w > 0 && H >= h && W >= w);
	for (y = 0; y < h; y++) {
		const int i0 = (int)((long)y * H / h), i1 = (int)(((long)(y + 1) * H + h - 1) / h);
		for (x = 0; x < w; x++) {
			const int j0 = (int)((long)x * W / w), j1 = (int)(((long)(x + 1) * W + w - 1) / w);
			double s = 0, area = 0;
			for (i = i0; i < i1 && i < H; i++) {
				const double fy = overlap(y, h, H, i);
				for (j = j0; j < j1 && j < W; j++) {
					const double f = fy * overlap(x, w, W, j);
					s += f * in[(size_t)i * W + j];
					area += f;
				}
			}
			out[(size_t)y * w + x] = (float)(s / area);
		}
	}
}

void sul_minmax01(float *m, size_t n)
{
	float lo, hi;
	double range;
	size_t i;

	if (!n)
		return;
	lo = hi = m[0];
	for (i = 1; i < n; i++) {
		lo = m[i] < lo ? m[i] : lo;
		hi = m[i] > hi ? m[i] : hi;
	}
	range = (double)hi - (double)lo;
	for (i = 0; i < n; i++)
		m[i] = range > 0 ? (float)(((double)m[i] - lo) / range) : 0.0f;
}
