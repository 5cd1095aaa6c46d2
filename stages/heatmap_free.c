/*
 * heatmap_free.c - the arithmetic of the gradient-free class activation
 * maps: EigenCAM's principal component, Score-CAM's masks and Ablation-CAM's
 * weights.  The forward passes that Score-CAM and Ablation-CAM weigh
 * channels by are the `cam` kind's (cam_methods.c); see heatmap.h for the
 * mathematics and the papers.
 */
#include "heatmap.h"

#include "../engine/strbuf.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Power iteration stops when the vector moves less than this. */
#define EIGEN_TOL 1e-10
#define EIGEN_MAX_ITER 5000

/*
 * The unit eigenvector of the largest eigenvalue of the symmetric positive
 * semi-definite n x n matrix M (row-major), by power iteration from a fixed
 * start, and that eigenvalue.  0 when M is 0.
 */
static double top_eigenvector(const double *M, int n, double *u)
{
	double *v = sul_xmalloc(sizeof(double) * (size_t)n), lambda = 0, norm;
	unsigned seed = 12345;
	int it, i, j;

	/* A start with a component along every eigenvector, almost surely. */
	for (i = 0, norm = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		u[i] = 1 + (double)(seed >> 16 & 0x7fff) / 32768.0;
		norm += u[i] * u[i];
	}
	for (i = 0; i < n; i++)
		u[i] /= sqrt(norm);
	for (it = 0; it < EIGEN_MAX_ITER; it++) {
		double moved = 0;
		for (i = 0, norm = 0; i < n; i++) {
			double s = 0;
			for (j = 0; j < n; j++)
				s += M[(size_t)i * n + j] * u[j];
			v[i] = s;
			norm += s * s;
		}
		norm = sqrt(norm);
		if (!(norm > 0)) {
			lambda = 0;
			break;
		}
		lambda = norm;  /* |M u| -> the eigenvalue as u converges */
		for (i = 0; i < n; i++) {
			const double d = v[i] / norm - u[i];
			moved += d * d;
			u[i] = v[i] / norm;
		}
		if (moved < EIGEN_TOL * EIGEN_TOL)
			break;
	}
	free(v);
	return lambda;
}

void sul_eigencam(const float *A, int k, int h, int w, float *map)
{
	const int n = h * w, small = n <= k ? n : k;
	double *xc = sul_xmalloc(sizeof(double) * (size_t)n * k);  /* centred, position-major: xc[p * k + c] */
	double *M = sul_xcalloc((size_t)small * small, sizeof(double)), *u = sul_xmalloc(sizeof(double) * small);
	double *v = sul_xmalloc(sizeof(double) * (size_t)k), lambda, vsum = 0;
	int p, q, c;

	assert(k > 0 && h > 0 && w > 0);
	for (c = 0; c < k; c++) {
		double mean = 0;
		for (p = 0; p < n; p++)
			mean += A[(size_t)c * n + p];
		mean /= n;
		for (p = 0; p < n; p++)
			xc[(size_t)p * k + c] = A[(size_t)c * n + p] - mean;
	}
	/* The first right singular vector v of Xc (n x k) from the smaller of
	 * its two Gram matrices. */
	if (n <= k) {
		for (p = 0; p < n; p++)
			for (q = p; q < n; q++) {
				double s = 0;
				for (c = 0; c < k; c++)
					s += xc[(size_t)p * k + c] * xc[(size_t)q * k + c];
				M[(size_t)p * n + q] = M[(size_t)q * n + p] = s;
			}
		lambda = top_eigenvector(M, n, u);
		/* v = Xc^T u / sigma */
		for (c = 0; c < k; c++) {
			double s = 0;
			for (p = 0; p < n; p++)
				s += xc[(size_t)p * k + c] * u[p];
			v[c] = lambda > 0 ? s / sqrt(lambda) : 0;
		}
	} else {
		for (p = 0; p < n; p++)
			for (c = 0; c < k; c++)
				for (q = c; q < k; q++)
					M[(size_t)c * k + q] += xc[(size_t)p * k + c] * xc[(size_t)p * k + q];
		for (c = 0; c < k; c++)
			for (q = 0; q < c; q++)
				M[(size_t)c * k + q] = M[(size_t)q * k + c];
		lambda = top_eigenvector(M, k, v);
	}
	for (c = 0; c < k; c++)
		vsum += v[c];
	for (p = 0; p < n; p++) {
		double s = 0;
		for (c = 0; c < k; c++)
			s += xc[(size_t)p * k + c] * v[c];
		if (vsum < 0)
			s = -s;
		map[p] = (float)(lambda > 0 && s > 0 ? s : 0);
	}
	free(xc);
	free(M);
	free(u);
	free(v);
}

int sul_scorecam_mask(const float *Ac, int h, int w, float *mask, int H, int W)
{
	const size_t n = (size_t)H * W;
	size_t i;

	sul_upsample_bilinear(Ac, h, w, mask, H, W);
	for (i = 1; i < n; i++)
		if (mask[i] != mask[0])
			break;
	if (i == n)
		return 0;
	sul_minmax01(mask, n);
	return 1;
}

void sul_ablationcam_weights(double y, const float *y_ablated, int k, double *wts)
{
	const double scale = fabs(y) > 1e-12 ? fabs(y) : 1;
	int c;

	for (c = 0; c < k; c++)
		wts[c] = (y - y_ablated[c]) / scale;
}
