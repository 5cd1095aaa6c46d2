/*
 * blas.c - faster versions of Darknet's CPU math, replacing Darknet's own
 * by symbol interposition.  The one place in sulcus that does this.
 *
 * libdarknet calls gemm(), im2col_cpu() and the other functions below
 * through its PLT.  sulcus-darknet.so, loaded with RTLD_LOCAL, is first in
 * its own lookup scope and libdarknet is a dependency of it, so Darknet's
 * calls land here (stages/dnload.c).  Each definition keeps Darknet's exact
 * signature (darknet_internal.h) and, except gemm, Darknet's arithmetic
 * element by element: the same operations in the same order per output,
 * so results are bit-identical, only spread over threads (OpenMP, one
 * output channel or image plane per iteration, never splitting a sum) and
 * with the bounds checks hoisted out of the inner loops.  gemm goes to
 * OpenBLAS, whose summation order differs: its results match Darknet's to
 * float rounding (tests/check_darknet.c pins both).
 *
 * Deliberately not replaced: anything whose speed does not matter in our
 * profiles (axpy_cpu on small vectors, softmax, pooling).
 */
#include "darknet_internal.h"
#include "shim.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stddef.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* OpenBLAS and OpenMP thread counts; threads <= 0: every core. */
void sul_dn_set_threads(int threads)
{
	if (threads <= 0)
		threads = omp_get_num_procs();
	omp_set_num_threads(threads);
	openblas_set_num_threads(threads);
}

/* C = ALPHA op(A) op(B) + BETA C, row-major: Darknet's gemm() contract. */
EXPORT void gemm(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb,
		 float beta, float *c, int ldc)
{
	cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, alpha, a,
		    lda, b, ldb, beta, c, ldc);
}

/* Row col of the column matrix (channel c_im, kernel offset h_off, w_off). */
EXPORT void im2col_cpu(float *im, int channels, int height, int width, int ksize, int stride, int pad,
		       float *col)
{
	const int height_col = (height + 2 * pad - ksize) / stride + 1;
	const int width_col = (width + 2 * pad - ksize) / stride + 1;
	const int channels_col = channels * ksize * ksize;
	int c;

#pragma omp parallel for schedule(static) if (channels_col * height_col * width_col > 32768)
	for (c = 0; c < channels_col; ++c) {
		const int w_off = c % ksize, h_off = (c / ksize) % ksize, c_im = c / ksize / ksize;
		const float *plane = im + (size_t)c_im * height * width;
		float *out = col + (size_t)c * height_col * width_col;
		/* Output columns w whose input column w_off + w*stride - pad is inside. */
		int w_lo = 0, w_hi = width_col, h, w;

		while (w_lo < width_col && w_off + w_lo * stride - pad < 0)
			w_lo++;
		while (w_hi > w_lo && w_off + (w_hi - 1) * stride - pad >= width)
			w_hi--;
		for (h = 0; h < height_col; ++h) {
			const int row = h_off + h * stride - pad;
			float *o = out + (size_t)h * width_col;
			if (row < 0 || row >= height) {
				for (w = 0; w < width_col; ++w)
					o[w] = 0;
				continue;
			}
			const float *src = plane + (size_t)row * width + w_off - pad;
			for (w = 0; w < w_lo; ++w)
				o[w] = 0;
			if (stride == 1)
				for (w = w_lo; w < w_hi; ++w)
					o[w] = src[w];
			else
				for (w = w_lo; w < w_hi; ++w)
					o[w] = src[w * stride];
			for (w = w_hi; w < width_col; ++w)
				o[w] = 0;
		}
	}
}

/*
 * Adds the column matrix back into the image.  A pixel receives one value
 * per kernel offset of its channel, in increasing column-row order, each
 * added in double and rounded to float as Darknet does; one thread owns a
 * whole image channel, so that order is kept.
 */
EXPORT void col2im_cpu(float *col, int channels, int height, int width, int ksize, int stride, int pad, float *im)
{
	const int height_col = (height + 2 * pad - ksize) / stride + 1;
	const int width_col = (width + 2 * pad - ksize) / stride + 1;
	int c_im;

#pragma omp parallel for schedule(static) if (channels * ksize * ksize * height_col * width_col > 32768)
	for (c_im = 0; c_im < channels; ++c_im) {
		float *plane = im + (size_t)c_im * height * width;
		int k;
		for (k = 0; k < ksize * ksize; ++k) {
			const int c = c_im * ksize * ksize + k;
			const int w_off = k % ksize, h_off = k / ksize;
			const float *in = col + (size_t)c * height_col * width_col;
			int w_lo = 0, w_hi = width_col, h, w;

			while (w_lo < width_col && w_off + w_lo * stride - pad < 0)
				w_lo++;
			while (w_hi > w_lo && w_off + (w_hi - 1) * stride - pad >= width)
				w_hi--;
			for (h = 0; h < height_col; ++h) {
				const int row = h_off + h * stride - pad;
				if (row < 0 || row >= height)
					continue;
				float *dst = plane + (size_t)row * width + w_off - pad;
				const float *src = in + (size_t)h * width_col;
				for (w = w_lo; w < w_hi; ++w) {
					double val = src[w];
					dst[w * stride] += val;
				}
			}
		}
	}
}

/* Darknet's sum_array() as -Ofast compiled it: four interleaved partial sums
 * combined as (s0 + s2) + (s1 + s3), then the remainder in order. */
static inline float sum4(const float *a, int n)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0, s;
	int i = 0;

	if (n < 4) {
		s = 0;
		for (; i < n; i++)
			s += a[i];
		return s;
	}
	for (; i + 4 <= n; i += 4) {
		s0 += a[i];
		s1 += a[i + 1];
		s2 += a[i + 2];
		s3 += a[i + 3];
	}
	s = (s0 + s2) + (s1 + s3);
	for (; i < n; i++)
		s += a[i];
	return s;
}

EXPORT void add_bias(float *output, float *biases, int batch, int n, int size)
{
	int bi;

#pragma omp parallel for schedule(static) if ((long)batch * n * size > 65536)
	for (bi = 0; bi < batch * n; ++bi) {
		float *o = output + (size_t)bi * size, v = biases[bi % n];
		int j;
		for (j = 0; j < size; ++j)
			o[j] += v;
	}
}

EXPORT void scale_bias(float *output, float *scales, int batch, int n, int size)
{
	int bi;

#pragma omp parallel for schedule(static) if ((long)batch * n * size > 65536)
	for (bi = 0; bi < batch * n; ++bi) {
		float *o = output + (size_t)bi * size, v = scales[bi % n];
		int j;
		for (j = 0; j < size; ++j)
			o[j] *= v;
	}
}

/* Darknet: bias_updates[i] += sum_array(delta of image b, channel i), b ascending. */
EXPORT void backward_bias(float *bias_updates, float *delta, int batch, int n, int size)
{
	int i;

#pragma omp parallel for schedule(static) if ((long)batch * n * size > 65536)
	for (i = 0; i < n; ++i) {
		int b;
		for (b = 0; b < batch; ++b)
			bias_updates[i] += sum4(delta + (size_t)size * (i + b * n), size);
	}
}

/* One loop per activation, so that the common ones vectorize. */
EXPORT void activate_array(float *x, const int n, const ACTIVATION a)
{
	int i;

	switch (a) {
	case LINEAR:
		return;
	case RELU:
		/* -Ofast compiled x * (x > 0) as a select: +0 for -0 and NaN. */
#pragma omp parallel for simd schedule(static) if (n > 65536)
		for (i = 0; i < n; ++i)
			x[i] = x[i] > 0 ? x[i] : 0.0f;
		return;
	case LEAKY:
		/* Both sides computed, then selected: no branch to mispredict on
		 * signs that are random, and the loop vectorizes. */
#pragma omp parallel for simd schedule(static) if (n > 65536)
		for (i = 0; i < n; ++i) {
			const float v = x[i], l = (float)(.1 * v);
			x[i] = v > 0 ? v : l;
		}
		return;
	default:
#pragma omp parallel for schedule(static) if (n > 65536)
		for (i = 0; i < n; ++i)
			x[i] = activate(x[i], a);
	}
}

EXPORT void gradient_array(const float *x, const int n, const ACTIVATION a, float *delta)
{
	int i;

	switch (a) {
	case LINEAR:
		return;
	case RELU:
#pragma omp parallel for simd schedule(static) if (n > 65536)
		for (i = 0; i < n; ++i)
			delta[i] *= (x[i] > 0);
		return;
	case LEAKY:
		/* leaky_gradient() returns float: 0.1f, not 0.1 */
#pragma omp parallel for simd schedule(static) if (n > 65536)
		for (i = 0; i < n; ++i) {
			const float g = x[i] > 0 ? 1.0f : (float).1;
			delta[i] *= g;
		}
		return;
	default:
#pragma omp parallel for schedule(static) if (n > 65536)
		for (i = 0; i < n; ++i)
			delta[i] *= gradient(x[i], a);
	}
}

/* Darknet's copy and fill are strided scalar loops; the contiguous case is
 * memcpy / a plain store loop (the same values). */
EXPORT void copy_cpu(int n, float *x, int incx, float *y, int incy)
{
	int i;

	if (incx == 1 && incy == 1) {
		memcpy(y, x, sizeof(float) * (size_t)(n > 0 ? n : 0));
		return;
	}
	for (i = 0; i < n; ++i)
		y[i * incy] = x[i * incx];
}

EXPORT void fill_cpu(int n, float alpha, float *x, int incx)
{
	int i;

	if (incx == 1 && alpha == 0 && !signbit(alpha)) {
		memset(x, 0, sizeof(float) * (size_t)(n > 0 ? n : 0));
		return;
	}
	for (i = 0; i < n; ++i)
		x[i * incx] = alpha;
}

/* SGD's update_*_layer(): weight decay, the step and momentum are one
 * axpy or scal each over every parameter (138 million for VGG16's FC
 * head), which Darknet runs on one core.  Elementwise, so the same values
 * on any number of threads. */
EXPORT void axpy_cpu(int n, float alpha, float *x, int incx, float *y, int incy)
{
	int i;

	if (incx != 1 || incy != 1) {
		for (i = 0; i < n; ++i)
			y[i * incy] += alpha * x[i * incx];
		return;
	}
#pragma omp parallel for schedule(static) if (n > 65536)
	for (i = 0; i < n; ++i)
		y[i] += alpha * x[i];
}

EXPORT void scal_cpu(int n, float alpha, float *x, int incx)
{
	int i;

	if (incx != 1) {
		for (i = 0; i < n; ++i)
			x[i * incx] *= alpha;
		return;
	}
#pragma omp parallel for schedule(static) if (n > 65536)
	for (i = 0; i < n; ++i)
		x[i] *= alpha;
}

EXPORT void mean_cpu(float *x, int batch, int filters, int spatial, float *mean)
{
	float scale = 1. / (batch * spatial);
	int i;

#pragma omp parallel for schedule(static) if ((long)batch * filters * spatial > 65536)
	for (i = 0; i < filters; ++i) {
		int j, k;
		mean[i] = 0;
		for (j = 0; j < batch; ++j) {
			const float *p = x + (size_t)j * filters * spatial + (size_t)i * spatial;
			for (k = 0; k < spatial; ++k)
				mean[i] += p[k];
		}
		mean[i] *= scale;
	}
}

EXPORT void variance_cpu(float *x, float *mean, int batch, int filters, int spatial, float *variance)
{
	float scale = 1. / (batch * spatial - 1);
	int i;

#pragma omp parallel for schedule(static) if ((long)batch * filters * spatial > 65536)
	for (i = 0; i < filters; ++i) {
		float v = 0;
		int j, k;
		for (j = 0; j < batch; ++j) {
			const float *p = x + (size_t)j * filters * spatial + (size_t)i * spatial;
			for (k = 0; k < spatial; ++k) {
				/* Darknet: variance[i] += pow(x - mean, 2), in double. */
				double d = p[k] - mean[i];
				v += d * d;
			}
		}
		variance[i] = v * scale;
	}
}

EXPORT void normalize_cpu(float *x, float *mean, float *variance, int batch, int filters, int spatial)
{
	int bf;

#pragma omp parallel for schedule(static) if ((long)batch * filters * spatial > 65536)
	for (bf = 0; bf < batch * filters; ++bf) {
		const int f = bf % filters;
		const double den = sqrt(variance[f]) + .000001f;  /* Darknet recomputes it per element */
		float *p = x + (size_t)bf * spatial;
		int i;
		for (i = 0; i < spatial; ++i)
			p[i] = (p[i] - mean[f]) / den;
	}
}

EXPORT void backward_scale_cpu(float *x_norm, float *delta, int batch, int n, int size, float *scale_updates)
{
	int f;

#pragma omp parallel for schedule(static) if ((long)batch * n * size > 65536)
	for (f = 0; f < n; ++f) {
		float sum = 0;
		int b, i;
		for (b = 0; b < batch; ++b) {
			const size_t o = (size_t)size * (f + n * b);
			/* As -Ofast vectorized it: four partial sums per image. */
			i = 0;
			if (size >= 4) {
				float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
				for (; i + 4 <= size; i += 4) {
					s0 += delta[o + i] * x_norm[o + i];
					s1 += delta[o + i + 1] * x_norm[o + i + 1];
					s2 += delta[o + i + 2] * x_norm[o + i + 2];
					s3 += delta[o + i + 3] * x_norm[o + i + 3];
				}
				sum += (s0 + s2) + (s1 + s3);
			}
			for (; i < size; ++i)
				sum += delta[o + i] * x_norm[o + i];
		}
		scale_updates[f] += sum;
	}
}

EXPORT void mean_delta_cpu(float *delta, float *variance, int batch, int filters, int spatial, float *mean_delta)
{
	int i;

#pragma omp parallel for schedule(static) if ((long)batch * filters * spatial > 65536)
	for (i = 0; i < filters; ++i) {
		int j, k;
		mean_delta[i] = 0;
		for (j = 0; j < batch; ++j) {
			const float *p = delta + (size_t)j * filters * spatial + (size_t)i * spatial;
			for (k = 0; k < spatial; ++k)
				mean_delta[i] += p[k];
		}
		mean_delta[i] *= (-1. / sqrt(variance[i] + .00001f));
	}
}

EXPORT void variance_delta_cpu(float *x, float *delta, float *mean, float *variance, int batch, int filters,
			       int spatial, float *variance_delta)
{
	int i;

#pragma omp parallel for schedule(static) if ((long)batch * filters * spatial > 65536)
	for (i = 0; i < filters; ++i) {
		int j, k;
		variance_delta[i] = 0;
		for (j = 0; j < batch; ++j) {
			const size_t o = (size_t)j * filters * spatial + (size_t)i * spatial;
			for (k = 0; k < spatial; ++k)
				variance_delta[i] += delta[o + k] * (x[o + k] - mean[i]);
		}
		variance_delta[i] *= -.5 * pow(variance[i] + .00001f, (float)(-3. / 2.));
	}
}

EXPORT void normalize_delta_cpu(float *x, float *mean, float *variance, float *mean_delta, float *variance_delta,
				int batch, int filters, int spatial, float *delta)
{
	/* Darknet's expression, as -Ofast regrouped it. */
	const double inv2 = 2.0 * (1.0 / (spatial * batch));
	const float finv = 1.0f / (float)(spatial * batch);
	int jf;

#pragma omp parallel for schedule(static) if ((long)batch * filters * spatial > 65536)
	for (jf = 0; jf < batch * filters; ++jf) {
		const int f = jf % filters;
		const size_t o = (size_t)jf * spatial;
		const double sd = sqrt((double)(variance[f] + .00001f));
		const double md = (double)(mean_delta[f] * finv);
		int k;
		for (k = 0; k < spatial; ++k)
			delta[o + k] = (float)((double)(x[o + k] - mean[f]) * (double)variance_delta[f] * inv2
					       + ((double)delta[o + k] / sd + md));
	}
}
