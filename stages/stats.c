/*
 * stats.c - statistics for evaluation and heatmap kinds; see stats.h.
 */
#include "stats.h"
#include "../engine/strbuf.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

static int cmp_score(const void *a, const void *b)
{
	double x = ((const struct sul_score *)a)->p, y = ((const struct sul_score *)b)->p;
	return (x > y) - (x < y);
}

int sul_argmax(const float *p, int k)
{
	int i, best = 0;

	for (i = 1; i < k; i++)
		if (p[i] > p[best])
			best = i;
	return best;
}

double sul_xent(double q)
{
	return -log(q > 1e-12 ? q : 1e-12);
}

double sul_auc(struct sul_score *s, size_t n)
{
	double rank_sum = 0;
	size_t i = 0, npos = 0;

	qsort(s, n, sizeof(*s), cmp_score);
	while (i < n) {
		size_t j = i, k;
		while (j < n && s[j].p == s[i].p)
			j++;
		/* Ranks i+1..j share their mean. */
		for (k = i; k < j; k++)
			if (s[k].pos)
				rank_sum += (double)(i + 1 + j) / 2.0;
		i = j;
	}
	for (i = 0; i < n; i++)
		npos += (size_t)s[i].pos;
	if (!npos || npos == n)
		return NAN;
	return (rank_sum - (double)npos * (npos + 1) / 2.0) / ((double)npos * (double)(n - npos));
}

/* --- heat on regions and masks ---------------------------------------------- */

size_t sul_region_stats(const float *heat, const unsigned char *labels, size_t n, int nregions,
			struct sul_region_stat *per_region, int *peak_region, int *top_share_region)
{
	size_t p, ignored = 0;
	double total = 0, hi = 0, lo = 0;
	int r, any = 0;

	assert(nregions >= 0);
	for (r = 0; r < nregions; r++) {
		struct sul_region_stat *st = &per_region[r];
		st->npix = 0;
		st->sum = 0;
		st->share = st->peak = st->mean = NAN;
	}
	*peak_region = *top_share_region = 0;
	for (p = 0; p < n; p++) {
		int l = labels[p];
		double v = isnan(heat[p]) ? 0 : heat[p];
		struct sul_region_stat *st;

		if (!l)
			continue;
		if (l > nregions) {
			ignored++;
			continue;
		}
		st = &per_region[l - 1];
		if (!st->npix || v > st->peak)
			st->peak = v;
		st->npix++;
		st->sum += v;
		total += v;
		if (!any || v > hi) {
			hi = v;
			*peak_region = l;
		}
		if (!any || v < lo)
			lo = v;
		any = 1;
	}
	if (hi == lo)
		*peak_region = 0;  /* flat: every labelled pixel is "the" peak */
	for (r = 0; r < nregions; r++) {
		struct sul_region_stat *st = &per_region[r];
		if (total != 0)
			st->share = st->sum / total;
		if (st->npix)
			st->mean = st->sum / (double)st->npix;
		if (total != 0 && (!*top_share_region || st->share > per_region[*top_share_region - 1].share))
			*top_share_region = r + 1;
	}
	return ignored;
}

int sul_pointing_game(const float *heat, const unsigned char *mask, int h, int w, double tol)
{
	size_t n = (size_t)h * (size_t)w, p, best = n;
	long by, bx;

	assert(h > 0 && w > 0);
	for (p = 0; p < n && !mask[p]; p++)
		;
	if (p == n)
		return -1;
	for (p = 0; p < n; p++)
		if (!isnan(heat[p]) && (best == n || heat[p] > heat[best]))
			best = p;
	if (best == n || !(tol >= 0))
		return 0;  /* no heat at all points nowhere */
	by = (long)(best / (size_t)w);
	bx = (long)(best % (size_t)w);
	for (p = 0; p < n; p++) {
		double dy = (double)((long)(p / (size_t)w) - by), dx = (double)((long)(p % (size_t)w) - bx);
		if (mask[p] && dy * dy + dx * dx <= tol * tol)
			return 1;
	}
	return 0;
}

double sul_mask_share(const float *heat, const unsigned char *mask, size_t n)
{
	double in = 0, total = 0;
	size_t p;

	for (p = 0; p < n; p++) {
		total += heat[p];
		if (mask[p])
			in += heat[p];
	}
	return total != 0 ? in / total : NAN;
}

double sul_mask_share_chance(const unsigned char *mask, const unsigned char *region, size_t n)
{
	size_t p, in = 0, all = 0;

	for (p = 0; p < n; p++)
		if (region[p]) {
			all++;
			in += mask[p] != 0;
		}
	return all ? (double)in / (double)all : NAN;
}

double sul_pointing_chance(const unsigned char *mask, const unsigned char *region, int h, int w, double tol)
{
	size_t n = (size_t)h * (size_t)w, p, near = 0, all = 0;
	unsigned char *hit = sul_xcalloc(n ? n : 1, 1);
	long r = tol >= 0 ? (long)floor(tol) : -1, dy, dx;

	assert(h > 0 && w > 0);
	/* Every pixel within tol of a mask pixel: a disc stamped at each one
	 * (lesions are small, so this is cheaper than a distance transform). */
	for (p = 0; p < n && r >= 0; p++) {
		long y = (long)(p / (size_t)w), x = (long)(p % (size_t)w);
		if (!mask[p])
			continue;
		for (dy = -r; dy <= r; dy++)
			for (dx = -r; dx <= r; dx++)
				if (y + dy >= 0 && y + dy < h && x + dx >= 0 && x + dx < w
				    && (double)(dy * dy + dx * dx) <= tol * tol)
					hit[(size_t)(y + dy) * (size_t)w + (size_t)(x + dx)] = 1;
	}
	for (p = 0; p < n; p++)
		if (region[p]) {
			all++;
			near += hit[p];
		}
	free(hit);
	return all ? (double)near / (double)all : NAN;
}

/* --- agreement between maps ------------------------------------------------- */

/* r from centred sums; rounding can push |r| a hair past 1. */
static double correlation(double sxy, double sxx, double syy)
{
	double r = sxy / sqrt(sxx * syy);

	if (r > 1)
		return 1;
	if (r < -1)
		return -1;
	return r;
}

double sul_pearson(const float *x, const float *y, size_t n)
{
	double mx = 0, my = 0, sxx = 0, syy = 0, sxy = 0;
	size_t i, cx = 1, cy = 1;

	if (n < 2)
		return NAN;
	/* No variance, r = 0/0: tested by comparison, which needs no argument
	 * about rounding in the sums. */
	for (i = 1; i < n; i++) {
		cx &= x[i] == x[0];
		cy &= y[i] == y[0];
	}
	if (cx || cy)
		return NAN;
	for (i = 0; i < n; i++) {
		mx += x[i];
		my += y[i];
	}
	mx /= (double)n;
	my /= (double)n;
	for (i = 0; i < n; i++) {
		double dx = x[i] - mx, dy = y[i] - my;
		sxx += dx * dx;
		syy += dy * dy;
		sxy += dx * dy;
	}
	return correlation(sxy, sxx, syy);
}

double sul_mean_pairwise_pearson(const float *const *maps, size_t m, size_t n)
{
	double sum = 0;
	size_t a, b, npairs = 0;

	for (a = 0; a < m; a++)
		for (b = a + 1; b < m; b++) {
			double r = sul_pearson(maps[a], maps[b], n);
			if (!isnan(r)) {
				sum += r;
				npairs++;
			}
		}
	return npairs ? sum / (double)npairs : NAN;
}

struct valued_index {
	double v;
	size_t i;
};

static int cmp_value(const void *a, const void *b)
{
	double x = ((const struct valued_index *)a)->v, y = ((const struct valued_index *)b)->v;
	return (x > y) - (x < y);
}

/* rank[i] = the 1-based rank of v[i], ties sharing their mean rank;
 * vi is scratch of n entries.  No NaN in v. */
static void average_ranks(const float *v, size_t n, struct valued_index *vi, double *rank)
{
	size_t i = 0, j, t;

	for (t = 0; t < n; t++) {
		vi[t].v = v[t];
		vi[t].i = t;
	}
	qsort(vi, n, sizeof(*vi), cmp_value);
	while (i < n) {
		for (j = i; j < n && vi[j].v == vi[i].v; j++)
			;
		for (t = i; t < j; t++)
			rank[vi[t].i] = (double)(i + 1 + j) / 2.0;
		i = j;
	}
}

double sul_spearman(const float *x, const float *y, size_t n)
{
	struct valued_index *vi;
	double *rx, *ry, mean, sxx = 0, syy = 0, sxy = 0, r = NAN;
	size_t i, cx = 1, cy = 1;

	if (n < 2)
		return NAN;
	for (i = 0; i < n; i++) {
		if (isnan(x[i]) || isnan(y[i]))
			return NAN;
		cx &= x[i] == x[0];
		cy &= y[i] == y[0];
	}
	if (cx || cy)
		return NAN;
	vi = sul_xmalloc(n * sizeof(*vi));
	rx = sul_xmalloc(2 * n * sizeof(*rx));
	ry = rx + n;
	average_ranks(x, n, vi, rx);
	average_ranks(y, n, vi, ry);
	/* Ranks 1..n average (n + 1) / 2 exactly, ties or not. */
	mean = ((double)n + 1) / 2;
	for (i = 0; i < n; i++) {
		double dx = rx[i] - mean, dy = ry[i] - mean;
		sxx += dx * dx;
		syy += dy * dy;
		sxy += dx * dy;
	}
	r = correlation(sxy, sxx, syy);
	free(vi);
	free(rx);
	return r;
}

/* --- tests of independence -------------------------------------------------- */

struct sul_chi2 sul_chi2_independence(const double *counts, int r, int c)
{
	struct sul_chi2 res = { 0, 0, NAN };
	double *rows, *cols, total = 0;
	int i, j, nr = 0, nc = 0;

	assert(r >= 0 && c >= 0);
	rows = sul_xcalloc((size_t)r + 1, sizeof(*rows));
	cols = sul_xcalloc((size_t)c + 1, sizeof(*cols));
	for (i = 0; i < r; i++)
		for (j = 0; j < c; j++) {
			double v = counts[(size_t)i * (size_t)c + (size_t)j];
			if (!(v >= 0)) {
				res.stat = NAN;
				goto out;
			}
			rows[i] += v;
			cols[j] += v;
			total += v;
		}
	for (i = 0; i < r; i++)
		nr += rows[i] > 0;
	for (j = 0; j < c; j++)
		nc += cols[j] > 0;
	if (nr < 2 || nc < 2)
		goto out;
	res.df = (nr - 1) * (nc - 1);
	for (i = 0; i < r; i++)
		for (j = 0; j < c; j++) {
			double e, d;
			if (!rows[i] || !cols[j])
				continue;
			e = rows[i] * cols[j] / total;
			d = counts[(size_t)i * (size_t)c + (size_t)j] - e;
			res.stat += d * d / e;
		}
	res.p = sul_gamma_q(res.df / 2.0, res.stat / 2.0);
out:
	free(rows);
	free(cols);
	return res;
}

/* Convergence of the incomplete gamma expansions: the last term (or factor)
 * changes the result by at most one rounding; iterations grow like
 * sqrt(a), so the cap is for pathological a. */
#define GAMMA_EPS DBL_EPSILON
#define GAMMA_ITMAX 1000000
#define GAMMA_TINY 1e-300

/* P(a, x) by its series, x < a + 1: lead * sum_n x^n / (a (a+1) ... (a+n)). */
static double gamma_p_series(double a, double x, double lead)
{
	double ap = a, term = 1 / a, sum = term;
	long i;

	for (i = 0; i < GAMMA_ITMAX; i++) {
		ap += 1;
		term *= x / ap;
		sum += term;
		if (fabs(term) <= fabs(sum) * GAMMA_EPS)
			break;
	}
	return sum * lead;
}

/* Q(a, x) by Legendre's continued fraction, x >= a + 1, evaluated with the
 * modified Lentz method (tiny values stand in for zero divisors). */
static double gamma_q_fraction(double a, double x, double lead)
{
	double b = x + 1 - a, c = 1 / GAMMA_TINY, d = 1 / b, f = d;
	long i;

	for (i = 1; i <= GAMMA_ITMAX; i++) {
		double an = -(double)i * ((double)i - a), delta;
		b += 2;
		d = an * d + b;
		if (fabs(d) < GAMMA_TINY)
			d = GAMMA_TINY;
		c = b + an / c;
		if (fabs(c) < GAMMA_TINY)
			c = GAMMA_TINY;
		d = 1 / d;
		delta = d * c;
		f *= delta;
		if (fabs(delta - 1) <= GAMMA_EPS)
			break;
	}
	return f * lead;
}

double sul_gamma_q(double a, double x)
{
	double lead;

	if (!(a > 0) || !(x >= 0) || isinf(a))
		return NAN;
	if (x == 0)
		return 1;
	if (isinf(x))
		return 0;
	/* x^a e^-x / Gamma(a), in logarithms so that large a does not overflow */
	lead = exp(a * log(x) - x - lgamma(a));
	return x < a + 1 ? 1 - gamma_p_series(a, x, lead) : gamma_q_fraction(a, x, lead);
}

/* --- faithfulness ----------------------------------------------------------- */

void sul_confidence_change(const double *Y, const double *O, size_t n, double *average_drop,
			   double *increase_in_confidence)
{
	double drop = 0;
	size_t i, up = 0;
	int undefined = 0;

	if (!n) {
		*average_drop = *increase_in_confidence = NAN;
		return;
	}
	for (i = 0; i < n; i++) {
		if (!(Y[i] > 0))
			undefined = 1;
		else if (Y[i] > O[i])
			drop += (Y[i] - O[i]) / Y[i];
		up += O[i] > Y[i];
	}
	*average_drop = undefined ? NAN : 100 * drop / (double)n;
	*increase_in_confidence = 100 * (double)up / (double)n;
}

struct heat_index {
	float v;
	size_t i;
};

/* Heat descending, NaN last, then index ascending: a total order, so qsort
 * (not stable itself) gives the one stable result. */
static int cmp_heat_desc(const void *pa, const void *pb)
{
	const struct heat_index *a = pa, *b = pb;
	int an = isnan(a->v), bn = isnan(b->v);

	if (an != bn)
		return an - bn;
	if (!an && a->v != b->v)
		return a->v < b->v ? 1 : -1;
	return (a->i > b->i) - (a->i < b->i);
}

void sul_pixel_order(const float *heat, size_t n, size_t *order)
{
	struct heat_index *hi = sul_xmalloc((n ? n : 1) * sizeof(*hi));
	size_t p;

	for (p = 0; p < n; p++) {
		hi[p].v = heat[p];
		hi[p].i = p;
	}
	qsort(hi, n, sizeof(*hi), cmp_heat_desc);
	for (p = 0; p < n; p++)
		order[p] = hi[p].i;
	free(hi);
}

double sul_curve_auc(const double *y, int nsteps)
{
	double s = 0;
	int i;

	if (nsteps < 1)
		return NAN;
	for (i = 0; i < nsteps; i++)
		s += (y[i] + y[i + 1]) / 2;
	return s / nsteps;
}
