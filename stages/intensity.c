/*
 * intensity.c - masks, ranges and mappings of a volume's intensities (see
 * intensity.h).
 */
#include "intensity.h"
#include "../engine/strbuf.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t nvox(const struct sul_volume *v)
{
	return (size_t)(v->nx * v->ny * v->nz);
}

/* --- masks ---------------------------------------------------------------- */

static int bin_of(float x, double lo, double hi)
{
	int b = (int)(((double)x - lo) / (hi - lo) * 256.0);
	return b < 0 ? 0 : b > 255 ? 255 : b;
}

void sul_intensity_otsu_mask(const struct sul_volume *v, uint8_t *mask)
{
	size_t i, n = nvox(v), hist[256] = { 0 };
	double lo = v->data[0], hi = v->data[0], sum = 0, sum0 = 0, w0 = 0, best = -1;
	int b, t = 255;

	for (i = 0; i < n; i++) {
		lo = v->data[i] < lo ? v->data[i] : lo;
		hi = v->data[i] > hi ? v->data[i] : hi;
	}
	if (hi <= lo) {
		memset(mask, 0, n);  /* a constant image has no brain to find */
		return;
	}
	for (i = 0; i < n; i++)
		hist[bin_of(v->data[i], lo, hi)]++;
	for (b = 0; b < 256; b++)
		sum += (double)b * (double)hist[b];
	/* Class 0 is bins 0..b; maximize w0 w1 (mu0 - mu1)^2, the first maximum. */
	for (b = 0; b < 255; b++) {
		double w1, between;
		w0 += (double)hist[b];
		sum0 += (double)b * (double)hist[b];
		w1 = (double)n - w0;
		if (w0 == 0 || w1 == 0)
			continue;
		between = w0 * w1 * pow(sum0 / w0 - (sum - sum0) / w1, 2);
		if (between > best) {
			best = between;
			t = b;
		}
	}
	for (i = 0; i < n; i++)
		mask[i] = bin_of(v->data[i], lo, hi) > t;
}

void sul_intensity_head_mask(const struct sul_volume *v, uint8_t *mask)
{
	size_t n = nvox(v), i, k = 0;
	float *pos = sul_xmalloc(n * sizeof(float)), p99;

	for (i = 0; i < n; i++)
		if (v->data[i] > 0)
			pos[k++] = v->data[i];
	memset(mask, 0, n);
	if (k) {
		qsort(pos, k, sizeof(float), sul_cmp_float);
		p99 = pos[(size_t)(0.99 * (double)(k - 1))];
		for (i = 0; i < n; i++)
			mask[i] = v->data[i] > 0.1f * p99;
	}
	free(pos);
}

/* --- ranges and mappings -------------------------------------------------- */

/*
 * The value that would be a[k] were a[0..n) sorted (Hoare's selection with
 * a median-of-three pivot).  Leaves a partitioned: a[0..k) <= a[k] <=
 * a[k+1..n), so a later, larger k can be selected in a[k..n).
 */
static float select_kth(float *a, size_t n, size_t k)
{
	size_t lo = 0, hi = n - 1;

	while (hi > lo) {
		size_t mid = lo + (hi - lo) / 2, i = lo, j = hi;
		float x, t;
		/* a[lo] <= a[mid] <= a[hi], then the median as the pivot. */
		if (a[mid] < a[lo]) { t = a[mid]; a[mid] = a[lo]; a[lo] = t; }
		if (a[hi] < a[lo]) { t = a[hi]; a[hi] = a[lo]; a[lo] = t; }
		if (a[hi] < a[mid]) { t = a[hi]; a[hi] = a[mid]; a[mid] = t; }
		x = a[mid];
		while (i <= j) {
			while (a[i] < x)
				i++;
			while (x < a[j])
				j--;
			if (i <= j) {
				t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				if (j == 0)
					break;
				j--;
			}
		}
		/* Now a[lo..j] <= x <= a[i..hi], and a[j+1..i-1] == x. */
		if (k <= j && j != (size_t)-1)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			return a[k];
	}
	return a[k];
}

int sul_intensity_range(const struct sul_volume *v, size_t max_samples, double *lo, double *hi)
{
	size_t n = nvox(v), nz = 0, stride, i, m = 0;
	float *vals;
	int zeros = 0;

	for (i = 0; i < n; i++)
		nz += v->data[i] != 0;
	if (!nz)
		return -1;
	stride = 1 + nz / max_samples;
	vals = sul_xmalloc((nz / stride + 1) * sizeof(float));
	for (i = 0, nz = 0; i < n; i++) {
		if (v->data[i] == 0)
			zeros = 1;
		else if (nz++ % stride == 0)
			vals[m++] = v->data[i];
	}
	{
		/* The two order statistics a sort would give, in linear time. */
		size_t klo = (size_t)((double)(m - 1) * 0.001), khi = (size_t)((double)(m - 1) * 0.999);
		*lo = select_kth(vals, m, klo);
		*hi = select_kth(vals + klo, m - klo, khi - klo);
		if (zeros && *lo > 0)
			*lo = 0;
		if (*hi <= *lo)  /* a few bright voxels on a constant: keep them */
			*hi = select_kth(vals + khi, m - khi, m - 1 - khi);
	}
	free(vals);
	return *hi > *lo ? 0 : -1;
}

/* How many of sorted[0..n) are <= x. */
static size_t count_le(const float *sorted, size_t n, float x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void sul_intensity_to_bytes(struct sul_volume *v, const uint8_t *brain, size_t nbrain, int equalize)
{
	size_t i, k = 0, n = nvox(v);
	float *vals = sul_xmalloc(nbrain * sizeof(*vals));

	for (i = 0; i < n; i++)
		if (brain[i])
			vals[k++] = v->data[i];
	qsort(vals, nbrain, sizeof(*vals), sul_cmp_float);
	if (equalize) {
		/* The lowest value maps to 1, the highest to 255. */
		size_t first = count_le(vals, nbrain, vals[0]);
		for (i = 0; i < n; i++) {
			if (!brain[i])
				v->data[i] = 0;
			else if (first == nbrain)
				v->data[i] = 128;
			else
				v->data[i] = (float)(1.0 + 254.0 * (double)(count_le(vals, nbrain, v->data[i]) - first)
							   / (double)(nbrain - first));
		}
	} else {
		double lo = vals[(size_t)(0.005 * (double)(nbrain - 1) + 0.5)];
		double hi = vals[(size_t)(0.995 * (double)(nbrain - 1) + 0.5)];
		for (i = 0; i < n; i++) {
			double x;
			if (!brain[i]) {
				v->data[i] = 0;
				continue;
			}
			x = hi > lo ? 1.0 + 254.0 * ((double)v->data[i] - lo) / (hi - lo) : 128.0;
			v->data[i] = (float)(x < 1 ? 1 : x > 255 ? 255 : x);
		}
	}
	free(vals);
}
