/*
 * attribution.c - pixel-space attribution arithmetic; see attribution.h.
 */
#include "attribution.h"

#include "../engine/strbuf.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>

void sul_attr_magnitude(const float *g, size_t plane, float *map)
{
	size_t p;

	for (p = 0; p < plane; p++)
		map[p] = (float)(fabs((double)g[p]) + fabs((double)g[plane + p]) + fabs((double)g[2 * plane + p]));
}

double sul_attr_integrated(const float *x, const float *gmean, size_t plane, float *map)
{
	double total = 0;
	size_t p;
	int ch;

	for (p = 0; p < plane; p++) {
		double s = 0;
		for (ch = 0; ch < 3; ch++)
			s += (double)x[ch * plane + p] * gmean[ch * plane + p];
		total += s;
		map[p] = (float)(s > 0 ? s : 0);
	}
	return total;
}

double sul_attr_completeness(double sum, double fx, double f0)
{
	const double diff = fx - f0;

	return fabs(diff) < 1e-6 ? NAN : fabs(sum - diff) / fabs(diff);
}

int sul_occlusion_offsets(int size, int patch, int stride, int *off)
{
	int n = 0, o;

	assert(patch >= 1 && patch <= size && stride >= 1);
	for (o = 0; o + patch <= size; o += stride)
		off[n++] = o;
	if (off[n - 1] + patch < size)
		off[n++] = size - patch;
	return n;
}

void sul_occlusion_map(const double *drop, const int *off, int noff, int patch, int size, float *map)
{
	const size_t plane = (size_t)size * size;
	double *sum = sul_xcalloc(plane, sizeof(double));
	int *count = sul_xcalloc(plane, sizeof(int));
	int a, b, y, x;
	size_t p;

	for (a = 0; a < noff; a++)
		for (b = 0; b < noff; b++) {
			const double d = drop[a * noff + b];
			for (y = off[a]; y < off[a] + patch; y++)
				for (x = off[b]; x < off[b] + patch; x++) {
					sum[(size_t)y * size + x] += d;
					count[(size_t)y * size + x]++;
				}
		}
	for (p = 0; p < plane; p++)
		map[p] = (float)(count[p] ? sum[p] / count[p] : 0);
	free(sum);
	free(count);
}
