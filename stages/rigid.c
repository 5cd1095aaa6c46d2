/* rigid.c - rigid registration by Mattes mutual information (see rigid.h). */
#include "rigid.h"
#include "reg_int.h"
#include "../engine/strbuf.h"
#include "intensity.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* At most this many values are sorted to find the intensity percentiles
 * (the 0.1th then falls on the 131st of them). */
#define RANGE_SAMPLES (1 << 17)
/* Parameters of the largest model (affine: 9 linear, 3 translations). */
#define MAX_PARAMS 12



/* --- geometry ------------------------------------------------------------- */

static void matmul3(const double a[3][3], const double b[3][3], double out[3][3])
{
	int r, c;

	for (r = 0; r < 3; r++)
		for (c = 0; c < 3; c++)
			out[r][c] = a[r][0] * b[0][c] + a[r][1] * b[1][c] + a[r][2] * b[2][c];
}

/* R = Rz Ry Rx and, when d is not NULL, dR/drx, dR/dry, dR/drz. */
static void rotation(const double p[6], double r[3][3], double d[3][3][3])
{
	double cx = cos(p[0]), sx = sin(p[0]), cy = cos(p[1]), sy = sin(p[1]), cz = cos(p[2]), sz = sin(p[2]);
	const double rx[3][3] = { { 1, 0, 0 }, { 0, cx, -sx }, { 0, sx, cx } };
	const double ry[3][3] = { { cy, 0, sy }, { 0, 1, 0 }, { -sy, 0, cy } };
	const double rz[3][3] = { { cz, -sz, 0 }, { sz, cz, 0 }, { 0, 0, 1 } };
	const double drx[3][3] = { { 0, 0, 0 }, { 0, -sx, -cx }, { 0, cx, -sx } };
	const double dry[3][3] = { { -sy, 0, cy }, { 0, 0, 0 }, { -cy, 0, -sy } };
	const double drz[3][3] = { { -sz, -cz, 0 }, { cz, -sz, 0 }, { 0, 0, 0 } };
	double zy[3][3], t[3][3];

	matmul3(rz, ry, zy);
	matmul3(zy, rx, r);
	if (!d)
		return;
	matmul3(zy, drx, d[0]);
	matmul3(rz, dry, t);
	matmul3(t, rx, d[1]);
	matmul3(drz, ry, t);
	matmul3(t, rx, d[2]);
}

/*
 * The linear part of the transform and its derivative with respect to each
 * of the nlin parameters that act on it: rigid (nlin 3) the rotation of
 * the angles p[0..2]; affine (nlin 9) the matrix p[0..8] itself, row-major.
 * The translation follows in p[nlin..nlin+2].
 */
static void linear_part(const double *p, int nlin, double a[3][3], double d[9][3][3])
{
	int r, c;

	if (nlin == 3) {
		rotation(p, a, d);
		return;
	}
	memset(d, 0, 9 * sizeof(d[0]));
	for (r = 0; r < 3; r++)
		for (c = 0; c < 3; c++) {
			a[r][c] = p[3 * r + c];
			d[3 * r + c][r][c] = 1;
		}
}

void sul_rigid_matrix(const double p[6], double r[3][3])
{
	rotation(p, r, NULL);
}

static void grid_center(const struct sul_volume *v, double c[3])
{
	double ijk[3] = { (double)(v->nx - 1) / 2, (double)(v->ny - 1) / 2, (double)(v->nz - 1) / 2 };
	int a;

	for (a = 0; a < 3; a++)
		c[a] = v->ijk_to_xyz[a][0] * ijk[0] + v->ijk_to_xyz[a][1] * ijk[1] + v->ijk_to_xyz[a][2] * ijk[2]
		       + v->ijk_to_xyz[a][3];
}

void sul_rigid_identity(struct sul_rigid *t, const struct sul_volume *fixed)
{
	memset(t, 0, sizeof(*t));
	grid_center(fixed, t->center);
}

void sul_rigid_apply(const struct sul_rigid *t, const double x[3], double y[3])
{
	double r[3][3], d[3];
	int a;

	rotation(t->p, r, NULL);
	for (a = 0; a < 3; a++)
		d[a] = x[a] - t->center[a];
	for (a = 0; a < 3; a++)
		y[a] = r[a][0] * d[0] + r[a][1] * d[1] + r[a][2] * d[2] + t->center[a] + t->p[3 + a];
}

/* --- volumes -------------------------------------------------------------- */

static void copy_volume(const struct sul_volume *in, struct sul_volume *out)
{
	size_t n = (size_t)(in->nx * in->ny * in->nz);

	*out = *in;
	out->data = sul_xmalloc(n * sizeof(float));
	memcpy(out->data, in->data, n * sizeof(float));
}

/*
 * Along one axis: a Gaussian blur of sigma one voxel (7 taps, the border
 * voxel repeated), computed only at every other voxel, which is all the
 * next level keeps.  n is the input's size and becomes the output's.
 * Filtering along one axis commutes with keeping every other voxel along
 * another, so blurring and halving axis by axis gives the same numbers as
 * blurring the whole volume first, for a quarter of the work.
 */
static float *blur_halve(const float *in, int64_t n[3], int axis, const double w[7])
{
	const int64_t stride = axis == 0 ? 1 : axis == 1 ? n[0] : n[0] * n[1];
	const int64_t len = n[axis], half = (len + 1) / 2;
	const int64_t inner = axis == 0 ? 1 : stride, outer = n[0] * n[1] * n[2] / (len * inner);
	float *out = sul_xmalloc((size_t)(outer * half * inner) * sizeof(float));
	int64_t o, j, x;
	int k;

	/* The volume as outer x len x inner: axis is the middle index. */
	for (o = 0; o < outer; o++)
		for (j = 0; j < half; j++) {
			const float *src[7];
			float *dst = out + (o * half + j) * inner;
			for (k = -3; k <= 3; k++) {
				int64_t q = 2 * j + k < 0 ? 0 : 2 * j + k >= len ? len - 1 : 2 * j + k;
				src[k + 3] = in + (o * len + q) * inner;
			}
			for (x = 0; x < inner; x++) {
				double acc = 0;
				for (k = 0; k < 7; k++)
					acc += w[k] * src[k][x];
				dst[x] = (float)acc;
			}
		}
	n[axis] = half;
	return out;
}

/* The next coarser pyramid level: blurred and halved along the axes in
 * halve[] (see blur_halve).  out is allocated. */
static void shrink(const struct sul_volume *in, const int halve[3], struct sul_volume *out)
{
	int64_t n[3] = { in->nx, in->ny, in->nz };
	const float *cur = in->data;
	double w[7], sum = 0;
	int a, r, k;

	for (k = -3; k <= 3; k++)
		sum += w[k + 3] = exp(-0.5 * k * k);
	for (k = 0; k < 7; k++)
		w[k] /= sum;
	*out = *in;
	for (a = 0; a < 3; a++) {
		float *next;
		if (!halve[a])
			continue;
		next = blur_halve(cur, n, a, w);
		if (cur != in->data)
			free((float *)cur);
		cur = next;
		/* Voxel i of the new grid is voxel 2i of the old one. */
		out->pixdim[a] *= 2;
		for (r = 0; r < 3; r++)
			out->ijk_to_xyz[r][a] *= 2;
	}
	if (cur == in->data) {
		copy_volume(in, out);
		return;
	}
	out->nx = n[0];
	out->ny = n[1];
	out->nz = n[2];
	out->data = (float *)cur;
}

/* Which axes of v are long enough to halve (a level keeps >= 4 voxels). */
static void axes_to_halve(const struct sul_volume *v, int halve[3])
{
	halve[0] = v->nx >= 8;
	halve[1] = v->ny >= 8;
	halve[2] = v->nz >= 8;
}

/* Fills the derived fields of a level whose fix and mov are set. */
static void level_prepare(struct level *l)
{
	int64_t nf = l->fix.nx * l->fix.ny * l->fix.nz, i;
	int a, b;

	for (a = 0; a < 3; a++)
		for (b = 0; b < 4; b++)
			l->fix_a[a][b] = l->fix.ijk_to_xyz[a][b];
	sul_affine_inverse(l->mov.ijk_to_xyz, l->mov_inv);
	l->vox = cbrt(l->fix.pixdim[0] * l->fix.pixdim[1] * l->fix.pixdim[2]);
	l->mask = sul_xmalloc((size_t)nf * sizeof(uint32_t));
	l->nmask = 0;
	for (i = 0; i < nf; i++)
		if (l->fix.data[i] != 0)
			l->mask[l->nmask++] = (uint32_t)i;
}

static void level_release(struct level *l)
{
	if (!l->borrowed) {
		sul_volume_release(&l->fix);
		sul_volume_release(&l->mov);
	}
	free(l->mask);
	memset(l, 0, sizeof(*l));
}

/* The eight voxels around voxel coordinates u and u's place among them;
 * 0 when u is outside the grid. */
struct corners {
	double c000, c100, c010, c110, c001, c101, c011, c111;
	double f[3];
};

static int corners_at(const float *v, const int64_t n[3], const double u[3], struct corners *k)
{
	int64_t i0[3];
	int a;

	for (a = 0; a < 3; a++) {
		if (!(u[a] >= 0 && u[a] <= (double)(n[a] - 1)))
			return 0;
		i0[a] = (int64_t)u[a];
		if (i0[a] >= n[a] - 1)
			i0[a] = n[a] > 1 ? n[a] - 2 : 0;
		k->f[a] = u[a] - (double)i0[a];
	}
	{
		const int64_t sx = n[0] > 1 ? 1 : 0, sy = n[1] > 1 ? n[0] : 0, sz = n[2] > 1 ? n[0] * n[1] : 0;
		const float *p = v + (i0[2] * n[1] + i0[1]) * n[0] + i0[0];
		k->c000 = p[0];
		k->c100 = p[sx];
		k->c010 = p[sy];
		k->c110 = p[sx + sy];
		k->c001 = p[sz];
		k->c101 = p[sx + sz];
		k->c011 = p[sy + sz];
		k->c111 = p[sx + sy + sz];
	}
	return 1;
}

/* The trilinear interpolant at voxel coordinates u and its exact
 * derivative (voxel units); 0 when u is outside the grid.  The exact
 * derivative rather than central differences of the image: with a gradient
 * that is not the objective's, the optimiser stops where the two disagree
 * (0.05 mm off on unmoved images in the tests, against 0.006 mm). */
int reg_interp_grad(const float *v, const int64_t n[3], const double u[3], double out[4])
{
	struct corners k;

	if (!corners_at(v, n, u, &k))
		return 0;
	{
		const double *f = k.f;
		/* Along x first, then y, then z. */
		double c00 = k.c000 + f[0] * (k.c100 - k.c000), c10 = k.c010 + f[0] * (k.c110 - k.c010);
		double c01 = k.c001 + f[0] * (k.c101 - k.c001), c11 = k.c011 + f[0] * (k.c111 - k.c011);
		double c0 = c00 + f[1] * (c10 - c00), c1 = c01 + f[1] * (c11 - c01);
		double dx0 = (k.c100 - k.c000) + f[1] * ((k.c110 - k.c010) - (k.c100 - k.c000));
		double dx1 = (k.c101 - k.c001) + f[1] * ((k.c111 - k.c011) - (k.c101 - k.c001));
		out[0] = c0 + f[2] * (c1 - c0);
		out[1] = dx0 + f[2] * (dx1 - dx0);
		out[2] = (c10 - c00) + f[2] * ((c11 - c01) - (c10 - c00));
		out[3] = c1 - c0;
	}
	return 1;
}

/* The trilinear interpolant alone, with reg_interp_grad's arithmetic (so the
 * same numbers); 0 outside the grid.  Resampling needs no derivatives. */
double reg_interp_value(const float *v, const int64_t n[3], const double u[3])
{
	struct corners k;
	const double *f = k.f;
	double c00, c10, c01, c11, c0, c1;

	if (!corners_at(v, n, u, &k))
		return 0;
	c00 = k.c000 + f[0] * (k.c100 - k.c000);
	c10 = k.c010 + f[0] * (k.c110 - k.c010);
	c01 = k.c001 + f[0] * (k.c101 - k.c001);
	c11 = k.c011 + f[0] * (k.c111 - k.c011);
	c0 = c00 + f[1] * (c10 - c00);
	c1 = c01 + f[1] * (c11 - c01);
	return c0 + f[2] * (c1 - c0);
}

float reg_sample(const struct sul_volume *v, const int64_t n[3], const double u[3], int nearest)
{
	int64_t i, j, k;

	if (!nearest)
		return (float)reg_interp_value(v->data, n, u);
	i = (int64_t)floor(u[0] + 0.5);
	j = (int64_t)floor(u[1] + 0.5);
	k = (int64_t)floor(u[2] + 0.5);
	return i >= 0 && j >= 0 && k >= 0 && i < n[0] && j < n[1] && k < n[2] ? v->data[i + n[0] * (j + n[1] * k)] : 0.0f;
}

/* --- the metric ----------------------------------------------------------- */

/* The cubic B-spline and its derivative. */
double reg_bspline3(double u)
{
	double a = fabs(u);
	if (a < 1)
		return (4 - 6 * a * a + 3 * a * a * a) / 6;
	if (a < 2)
		return (2 - a) * (2 - a) * (2 - a) / 6;
	return 0;
}

double reg_bspline3_d(double u)
{
	double a = fabs(u);
	if (a < 1)
		return -2 * u + 1.5 * u * a;
	if (a < 2)
		return u > 0 ? -0.5 * (2 - a) * (2 - a) : 0.5 * (2 - a) * (2 - a);
	return 0;
}

static void metric_init(struct metric *m, int bins, const double frange[2], const double mrange[2])
{
	m->bins = bins;
	m->flo = frange[0];
	m->fbin = (frange[1] - frange[0]) / bins;
	m->mlo = mrange[0];
	m->mbin = (mrange[1] - mrange[0]) / (bins - 2 * PAD);
	m->joint = sul_xmalloc((size_t)(bins * bins) * sizeof(double));
	m->djoint = sul_xmalloc((size_t)(bins * bins * MAX_PARAMS) * sizeof(double));
	m->pm = sul_xmalloc((size_t)bins * sizeof(double));
	m->lr = sul_xmalloc((size_t)(bins * bins) * sizeof(double));
}

static void metric_release(struct metric *m)
{
	free(m->joint);
	free(m->djoint);
	free(m->pm);
	free(m->lr);
}

double reg_histogram_mi(const struct metric *m, size_t valid, double *lr)
{
	const int bins = m->bins;
	double mi_sum = 0;
	int f, k;

	for (k = 0; k < bins; k++) {
		m->pm[k] = 0;
		for (f = 0; f < bins; f++)
			m->pm[k] += m->joint[f * bins + k];
	}
	for (f = 0; f < bins; f++) {
		double pf = 0;
		for (k = 0; k < bins; k++)
			pf += m->joint[f * bins + k];
		for (k = 0; k < bins; k++) {
			double pj = m->joint[f * bins + k];
			if (pj <= 0)
				continue;
			mi_sum += pj * log(pj * (double)valid / (pf * m->pm[k]));
			if (lr)
				lr[f * bins + k] = log(pj / m->pm[k]);
		}
	}
	return mi_sum / (double)valid;
}

/*
 * Mutual information over the fixed voxels idx[0..n) with moving at p, and
 * (when grad is not NULL) its gradient with respect to p.  Returns the
 * number of samples that landed inside the moving volume.
 *
 * With a fixed window that does not depend on p, the fixed marginal is
 * constant and dMI/dp = sum over bins of dP(f,m)/dp * log(P(f,m) / Pm(m))
 * (Mattes 2003; ITK's MattesMutualInformationImageToImageMetricv4).
 */
static size_t evaluate(const struct level *l, const struct metric *m, int nlin, const double c[3], const double *p,
		       const uint32_t *idx, size_t n, double *mi, double *grad)
{
	const int bins = m->bins;
	const uint32_t nx = (uint32_t)l->fix.nx, ny = (uint32_t)l->fix.ny;
	const int64_t mn[3] = { l->mov.nx, l->mov.ny, l->mov.nz };
	const int np = nlin + 3;
	double r[3][3], dr[9][3][3], fa[3][4], u_map[3][4], e_map[9][3][4];
	size_t s, valid = 0;
	int a, b, f, k, q;

	linear_part(p, nlin, r, dr);
	/* Fixed voxel -> world, relative to the center: d = A ijk + (a - c). */
	for (a = 0; a < 3; a++) {
		for (q = 0; q < 3; q++)
			fa[a][q] = l->fix_a[a][q];
		fa[a][3] = l->fix_a[a][3] - c[a];
	}
	/* Folded into affine maps of the fixed voxel index, once per call:
	 * u = mov_inv (R d + c + t), the moving voxel; and per rotation angle b,
	 * mov_inv dR_b d, whose dot product with the moving image's gradient in
	 * voxel units is dM/d(angle b). */
	for (a = 0; a < 3; a++)
		for (q = 0; q < 4; q++) {
			double rd[3], acc = 0;
			int j;
			for (j = 0; j < 3; j++)
				rd[j] = r[j][0] * fa[0][q] + r[j][1] * fa[1][q] + r[j][2] * fa[2][q]
					+ (q == 3 ? c[j] + p[nlin + j] : 0);
			for (j = 0; j < 3; j++)
				acc += l->mov_inv[a][j] * rd[j];
			u_map[a][q] = acc + (q == 3 ? l->mov_inv[a][3] : 0);
			for (b = 0; b < nlin; b++) {
				double e = 0;
				for (j = 0; j < 3; j++)
					e += l->mov_inv[a][j]
					     * (dr[b][j][0] * fa[0][q] + dr[b][j][1] * fa[1][q] + dr[b][j][2] * fa[2][q]);
				e_map[b][a][q] = e;
			}
		}
	memset(m->joint, 0, (size_t)(bins * bins) * sizeof(double));
	if (grad)
		memset(m->djoint, 0, (size_t)(bins * bins * np) * sizeof(double));
	for (s = 0; s < n; s++) {
		const uint32_t v = idx[s], vy = v / nx;
		const double i = (double)(v - vy * nx), j = (double)(vy % ny), kz = (double)(vy / ny);
		double u[3], mv[4], term, w[4], dterm[MAX_PARAMS];
		int fb, k0, clamped = 0;

		for (a = 0; a < 3; a++)
			u[a] = u_map[a][0] * i + u_map[a][1] * j + u_map[a][2] * kz + u_map[a][3];
		if (!reg_interp_grad(l->mov.data, mn, u, mv))
			continue;
		valid++;
		fb = (int)floor((l->fix.data[v] - m->flo) / m->fbin);
		fb = fb < 0 ? 0 : fb >= bins ? bins - 1 : fb;
		term = (mv[0] - m->mlo) / m->mbin + PAD;
		/* Outside the range the intensity is clamped: no gradient there. */
		if (term < PAD || term > bins - PAD) {
			term = term < PAD ? PAD : bins - PAD;
			clamped = 1;
		}
		k0 = (int)floor(term);
		if (k0 > bins - PAD - 1)
			k0 = bins - PAD - 1;
		for (k = 0; k < 4; k++) {
			w[k] = reg_bspline3((double)(k0 - 1 + k) - term);
			m->joint[fb * bins + k0 - 1 + k] += w[k];
		}
		if (!grad || clamped)
			continue;
		/* dM/dp by the chain rule, mv[1..3] being dM/du (voxel units). */
		for (b = 0; b < nlin; b++) {
			double jd = 0;
			for (a = 0; a < 3; a++)
				jd += mv[1 + a] * (e_map[b][a][0] * i + e_map[b][a][1] * j + e_map[b][a][2] * kz + e_map[b][a][3]);
			dterm[b] = jd / m->mbin;
		}
		for (b = 0; b < 3; b++)
			dterm[nlin + b] = (l->mov_inv[0][b] * mv[1] + l->mov_inv[1][b] * mv[2] + l->mov_inv[2][b] * mv[3]) / m->mbin;
		for (k = 0; k < 4; k++) {
			double dw = -reg_bspline3_d((double)(k0 - 1 + k) - term);
			double *dj = m->djoint + (size_t)(fb * bins + k0 - 1 + k) * (size_t)np;
			for (b = 0; b < np; b++)
				dj[b] += dw * dterm[b];
		}
	}
	if (grad)
		memset(grad, 0, (size_t)np * sizeof(double));
	if (valid < MIN_VALID) {
		*mi = 0;
		return valid;
	}
	*mi = reg_histogram_mi(m, valid, grad ? m->lr : NULL);
	if (grad)
		for (f = 0; f < bins * bins; f++)
			if (m->joint[f] > 0)
				for (b = 0; b < np; b++)
					grad[b] += m->djoint[(size_t)f * (size_t)np + b] * m->lr[f];
	if (grad)
		for (b = 0; b < np; b++)
			grad[b] /= (double)valid;
	return valid;
}

/* --- the optimiser -------------------------------------------------------- */


struct optim {
	const struct level *l;
	const struct metric *m;
	const double *c;
	int nlin;          /* parameters of the linear part: 3 (rigid) or 9 (affine); the translation follows */
	double radius;     /* mm: one radian of rotation (one unit of a matrix entry) counts as this many mm of
			      translation */
	struct sul_rng *rng;
	uint32_t *draw;    /* scratch for random samples */
	long samples;      /* 0: every masked voxel */
	int iterations;
	double step, min_step;  /* mm */
	const uint32_t *polish_mask;  /* the voxels the final polish evaluates */
	size_t polish_n;
};

/*
 * Regular-step gradient ascent: a step of fixed length along the scaled
 * gradient, halved whenever the direction turns back (we overshot the
 * maximum), until it is below min_step.  Rotations are scaled by the radius
 * so that a step moves the far edge of the anatomy as much as a
 * translation of the same length.  Returns the iterations taken, or -1
 * when the volumes stop overlapping.
 */
static int ascend(const struct optim *o, double *p)
{
	const int np = o->nlin + 3;
	double prev[MAX_PARAMS] = { 0 }, step = o->step;
	int it;

	for (it = 0; it < o->iterations; it++) {
		const uint32_t *idx = o->l->mask;
		size_t n = o->l->nmask, s;
		double mi, g[MAX_PARAMS], norm = 0, dot = 0;
		int b;

		if (o->samples > 0 && (size_t)o->samples < o->l->nmask) {
			for (s = 0; s < (size_t)o->samples; s++)
				o->draw[s] = o->l->mask[sul_rng_below(o->rng, o->l->nmask)];
			idx = o->draw;
			n = (size_t)o->samples;
		}
		if (evaluate(o->l, o->m, o->nlin, o->c, p, idx, n, &mi, g) < MIN_VALID)
			return -1;
		for (b = 0; b < o->nlin; b++)
			g[b] /= o->radius;  /* d/dq for q = radius * angle */
		for (b = 0; b < np; b++) {
			norm += g[b] * g[b];
			dot += g[b] * prev[b];
		}
		if (norm == 0)
			break;
		if (dot < 0)
			step *= 0.5;
		if (step < o->min_step)
			break;
		norm = sqrt(norm);
		for (b = 0; b < np; b++) {
			double dq = step * g[b] / norm;
			p[b] += b < o->nlin ? dq / o->radius : dq;
			prev[b] = g[b];
		}
	}
	return it;
}

/* -MI and its gradient in the scaled parameters q (q = radius * angle for
 * the rotations); -1 when the volumes stop overlapping. */
static int neg_mi(const struct optim *o, const double *q, double *f, double *g)
{
	double p[MAX_PARAMS], mi;
	int b;

	for (b = 0; b < o->nlin + 3; b++)
		p[b] = b < o->nlin ? q[b] / o->radius : q[b];
	if (evaluate(o->l, o->m, o->nlin, o->c, p, o->polish_mask, o->polish_n, &mi, g) < MIN_VALID)
		return -1;
	*f = -mi;
	for (b = 0; b < o->nlin + 3; b++)
		g[b] = -(b < o->nlin ? g[b] / o->radius : g[b]);
	return 0;
}

/*
 * BFGS with a backtracking (Armijo) line search on a fixed voxel subsample:
 * the final polish.  Regular-step descent halves its step at every zigzag
 * across a valley of the metric and so stops short of the optimum along the
 * valley's floor (by ~0.1 degree on the synthetic head of the tests); a
 * quasi-Newton step follows the floor.  The first step has length o->step;
 * it stops when a step is shorter than o->min_step.  Returns the
 * iterations taken, or -1 when the volumes stop overlapping.
 */
static int polish(const struct optim *o, double *p)
{
	const int np = o->nlin + 3;
	double q[MAX_PARAMS], f, g[MAX_PARAMS], h[MAX_PARAMS][MAX_PARAMS], qn[MAX_PARAMS], fn, gn[MAX_PARAMS];
	double s[MAX_PARAMS], y[MAX_PARAMS], hy[MAX_PARAMS], d[MAX_PARAMS];
	int it, a, b;

	for (b = 0; b < np; b++)
		q[b] = b < o->nlin ? p[b] * o->radius : p[b];
	if (neg_mi(o, q, &f, g))
		return -1;
	for (it = 0; it < o->iterations; it++) {
		double slope = 0, alpha = 1, gnorm = 0, len = 0, sy = 0, yhy = 0;
		int accepted = 0;

		for (b = 0; b < np; b++)
			gnorm += g[b] * g[b];
		if (gnorm == 0)
			break;
		if (it == 0)
			for (a = 0; a < np; a++)
				for (b = 0; b < np; b++)
					h[a][b] = a == b ? o->step / sqrt(gnorm) : 0;
		for (a = 0; a < np; a++) {
			d[a] = 0;
			for (b = 0; b < np; b++)
				d[a] -= h[a][b] * g[b];
			slope += d[a] * g[a];
		}
		if (slope >= 0) {  /* not a descent direction: restart from steepest descent */
			for (a = 0; a < np; a++) {
				for (b = 0; b < np; b++)
					h[a][b] = a == b ? o->step / sqrt(gnorm) : 0;
				d[a] = -o->step * g[a] / sqrt(gnorm);
			}
			slope = -o->step * sqrt(gnorm);
		}
		while (!accepted) {
			len = 0;
			for (b = 0; b < np; b++) {
				qn[b] = q[b] + alpha * d[b];
				len += alpha * alpha * d[b] * d[b];
			}
			len = sqrt(len);
			if (len < o->min_step)
				break;
			if (neg_mi(o, qn, &fn, gn))
				return -1;
			if (fn <= f + 1e-4 * alpha * slope)
				accepted = 1;
			else
				alpha *= 0.5;
		}
		if (!accepted)
			break;
		for (b = 0; b < np; b++) {
			s[b] = qn[b] - q[b];
			y[b] = gn[b] - g[b];
			sy += s[b] * y[b];
		}
		if (sy > 1e-12) {
			for (a = 0; a < np; a++) {
				hy[a] = 0;
				for (b = 0; b < np; b++)
					hy[a] += h[a][b] * y[b];
				yhy += y[a] * hy[a];
			}
			for (a = 0; a < np; a++)
				for (b = 0; b < np; b++)
					h[a][b] += ((sy + yhy) * s[a] * s[b]) / (sy * sy) - (hy[a] * s[b] + s[a] * hy[b]) / sy;
		}
		memcpy(q, qn, (size_t)np * sizeof(q[0]));
		memcpy(g, gn, (size_t)np * sizeof(g[0]));
		f = fn;
		if (len < o->min_step)
			break;
	}
	for (b = 0; b < np; b++)
		p[b] = b < o->nlin ? q[b] / o->radius : q[b];
	return it;
}

/* Root mean square distance of the masked voxels from c: the lever arm of
 * a rotation. */
static double lever_radius(const struct level *l, const double c[3])
{
	double sum = 0;
	size_t s, step = 1 + l->nmask / 100000, n = 0;
	int a;

	for (s = 0; s < l->nmask; s += step, n++) {
		uint32_t v = l->mask[s];
		double ijk[3] = { (double)(v % l->fix.nx), (double)((v / l->fix.nx) % l->fix.ny),
				  (double)(v / l->fix.nx / l->fix.ny) };
		for (a = 0; a < 3; a++) {
			double x = l->fix_a[a][0] * ijk[0] + l->fix_a[a][1] * ijk[1] + l->fix_a[a][2] * ijk[2]
				   + l->fix_a[a][3] - c[a];
			sum += x * x;
		}
	}
	return n && sum > 0 ? sqrt(sum / (double)n) : 1;
}

static int check_volume(const struct sul_volume *v, const char *which, double range[2], struct sul_err *err)
{
	if (v->nx < 4 || v->ny < 4 || v->nz < 4)
		return sul_err_set(err, SUL_ERR_INPUT, "%s image: expected at least 4 voxels along each axis, got "
				   "%lldx%lldx%lld", which, (long long)v->nx, (long long)v->ny, (long long)v->nz);
	if ((uint64_t)(v->nx * v->ny * v->nz) > UINT32_MAX)
		return sul_err_set(err, SUL_ERR_INPUT, "%s image: too large (%lld voxels)", which,
				   (long long)(v->nx * v->ny * v->nz));
	if (sul_intensity_range(v, RANGE_SAMPLES, &range[0], &range[1]))
		return sul_err_set(err, SUL_ERR_INPUT, "%s image is empty: expected nonzero voxels of more than one "
				   "value", which);
	return 0;
}


void reg_setup_release(struct setup *su)
{
	int l;

	if (su->metric_ready)
		metric_release(&su->m);
	for (l = 0; l < su->nlev; l++)
		level_release(&su->lev[l]);
	free(su->lev);
	free(su->draw);
	free(su->polish_mask);
}

int reg_setup_init(struct setup *su, const struct sul_volume *fixed, const struct sul_volume *moving,
		      const struct sul_rigid_opts *opts, struct sul_err *err)
{
	double frange[2], mrange[2];
	int l;

	memset(su, 0, sizeof(*su));
	su->opts = opts;
	su->nlev = opts->levels < 1 ? 1 : opts->levels;
	su->lev = sul_xcalloc((size_t)su->nlev, sizeof(*su->lev));
	grid_center(fixed, su->center);
	if (check_volume(fixed, "reference", frange, err) || check_volume(moving, "moving", mrange, err))
		return -1;
	sul_rng_seed(&su->rng, opts->seed);
	/* The finest level is the inputs themselves, read only. */
	su->lev[0].fix = *fixed;
	su->lev[0].mov = *moving;
	su->lev[0].borrowed = 1;
	for (l = 1; l < su->nlev; l++) {
		int hf[3], hm[3];
		axes_to_halve(&su->lev[l - 1].fix, hf);
		axes_to_halve(&su->lev[l - 1].mov, hm);
		shrink(&su->lev[l - 1].fix, hf, &su->lev[l].fix);
		shrink(&su->lev[l - 1].mov, hm, &su->lev[l].mov);
	}
	for (l = 0; l < su->nlev; l++)
		level_prepare(&su->lev[l]);
	su->radius = lever_radius(&su->lev[0], su->center);
	metric_init(&su->m, opts->bins, frange, mrange);
	su->metric_ready = 1;
	if (opts->samples > 0)
		su->draw = sul_xmalloc((size_t)opts->samples * sizeof(uint32_t));
	return 0;
}

/*
 * The polish sees a regular grid of the fixed voxels, every step[a]-th
 * along axis a, at most about POLISH_VOXELS of them: fixed (so BFGS sees
 * one smooth objective) and spread over the whole anatomy.  A grid rather
 * than every n-th voxel in memory order: samples along a row share the
 * moving image's cache lines and the rows stream, where every n-th voxel
 * missed the cache each time (0.14 against 0.22 us a sample on 1 mm
 * heads).  On those heads (bench/preprocess.sh) 100,000 and 200,000
 * samples gave the residual that the images' noise sets, 0.04-0.07 mm, and
 * so does this grid of 60,000 (every 5th voxel); 47,000 (5, 5, 6) gave
 * 0.067 against 0.063.
 */
uint32_t *reg_grid_samples(const struct level *l, size_t max, size_t *n)
{
	const struct sul_volume *fx = &l->fix;
	const double ratio = (double)l->nmask / (double)max;
	int64_t g = (int64_t)floor(cbrt(ratio)), step[3], x, y, z;
	uint32_t *out;
	size_t k = 0;
	int a;

	if (g < 1)
		g = 1;
	step[0] = step[1] = step[2] = g;
	for (a = 2; a >= 0 && (double)(step[0] * step[1] * step[2]) < ratio; a--)
		step[a] = g + 1;  /* coarser along z first: rows stay dense */
	out = sul_xmalloc((size_t)(((fx->nx + step[0] - 1) / step[0]) * ((fx->ny + step[1] - 1) / step[1])
				   * ((fx->nz + step[2] - 1) / step[2]) + 1)
			  * sizeof(*out));
	for (z = 0; z < fx->nz; z += step[2])
		for (y = 0; y < fx->ny; y += step[1])
			for (x = 0; x < fx->nx; x += step[0]) {
				int64_t v = x + fx->nx * (y + fx->ny * z);
				if (fx->data[v] != 0)
					out[k++] = (uint32_t)v;
			}
	*n = k;
	return out;
}

static void build_polish_grid(struct setup *su)
{
	su->polish_mask = reg_grid_samples(&su->lev[0], POLISH_VOXELS, &su->polish_n);
}

/* One pass of a model (nlin 3: rigid; 9: affine) over the pyramid, coarse
 * to fine, then the polish; p is the start and the result.  Returns the
 * iterations taken, or -1 with err set when the volumes stop overlapping. */
static int pass(struct setup *su, int nlin, double *p, struct sul_err *err)
{
	const struct sul_rigid_opts *opts = su->opts;
	int l, taken = 0;

	for (l = su->nlev - 1; l >= 0; l--) {
		struct level *lv = &su->lev[l];
		int sampled = opts->samples > 0 && (size_t)opts->samples < lv->nmask;
		struct optim o = { lv, &su->m, su->center, nlin, su->radius, &su->rng, su->draw,
				   sampled ? opts->samples : 0, opts->iterations, lv->vox, 0.01 * lv->vox, NULL, 0 };
		int it;

		if (!lv->nmask)
			continue;  /* blurred away: not the finest level (checked) */
		it = ascend(&o, p);
		if (it >= 0 && l == 0) {
			if (!su->polish_mask)
				build_polish_grid(su);
			o.polish_mask = su->polish_mask;
			o.polish_n = su->polish_n;
			taken += it;
			o.step = 0.1 * lv->vox;
			o.min_step = 0.0005 * lv->vox;
			it = polish(&o, p);
		}
		if (it < 0)
			return sul_err_set(err, SUL_ERR_INPUT, "the images do not overlap: fewer than %d sampled reference "
					   "voxels map inside the moving image (are their origins in the same space?)",
					   MIN_VALID);
		taken += it;
	}
	return taken;
}

/* The MI at p on the polish's samples: over every voxel it differs in the
 * third decimal, and costs more than the whole polish. */
static double final_mi(struct setup *su, int nlin, const double *p)
{
	double mi = 0;

	if (su->polish_mask)
		evaluate(&su->lev[0], &su->m, nlin, su->center, p, su->polish_mask, su->polish_n, &mi, NULL);
	else
		evaluate(&su->lev[0], &su->m, nlin, su->center, p, su->lev[0].mask, su->lev[0].nmask, &mi, NULL);
	return mi;
}

int sul_rigid_register(const struct sul_volume *fixed, const struct sul_volume *moving,
		       const struct sul_rigid_opts *opts, struct sul_rigid *out, struct sul_err *err)
{
	struct setup su;
	struct sul_rigid res;
	int taken, ret = -1;

	sul_rigid_identity(&res, fixed);
	if (reg_setup_init(&su, fixed, moving, opts, err))
		goto out;
	taken = pass(&su, 3, res.p, err);
	if (taken < 0)
		goto out;
	res.iterations = taken;
	res.mi = final_mi(&su, 3, res.p);
	*out = res;
	ret = 0;
out:
	reg_setup_release(&su);
	return ret;
}

/* The intensity-weighted centre of v's positive voxels, world mm. */
static void centre_of_mass(const struct sul_volume *v, double c[3])
{
	double s = 0, acc[3] = { 0, 0, 0 };
	int64_t x, y, z;
	int a;

	for (z = 0; z < v->nz; z++)
		for (y = 0; y < v->ny; y++)
			for (x = 0; x < v->nx; x++) {
				double w = v->data[x + v->nx * (y + v->ny * z)];
				if (w <= 0)
					continue;
				for (a = 0; a < 3; a++)
					acc[a] += w * (v->ijk_to_xyz[a][0] * (double)x + v->ijk_to_xyz[a][1] * (double)y
						       + v->ijk_to_xyz[a][2] * (double)z + v->ijk_to_xyz[a][3]);
				s += w;
			}
	for (a = 0; a < 3; a++)
		c[a] = s > 0 ? acc[a] / s : 0;
}

int reg_affine_pass(struct setup *su, struct sul_affine *out, struct sul_err *err)
{
	double rigid[6] = { 0 }, p[12], r[3][3], cf[3], cm[3];
	int taken, more, a, b;

	/* Start with the centres of mass on each other: a template and a
	 * subject's scan need not share an origin. */
	centre_of_mass(&su->lev[0].fix, cf);
	centre_of_mass(&su->lev[0].mov, cm);
	for (a = 0; a < 3; a++)
		rigid[3 + a] = cm[a] - cf[a];
	taken = pass(su, 3, rigid, err);
	if (taken < 0)
		return -1;
	sul_rigid_matrix(rigid, r);
	for (a = 0; a < 3; a++) {
		for (b = 0; b < 3; b++)
			p[3 * a + b] = r[a][b];
		p[9 + a] = rigid[3 + a];
	}
	more = pass(su, 9, p, err);
	if (more < 0)
		return -1;
	for (a = 0; a < 3; a++) {
		for (b = 0; b < 3; b++)
			out->a[a][b] = p[3 * a + b];
		out->t[a] = p[9 + a];
		out->center[a] = su->center[a];
	}
	out->iterations = taken + more;
	out->mi = final_mi(su, 9, p);
	return 0;
}

int sul_affine_register(const struct sul_volume *fixed, const struct sul_volume *moving,
			const struct sul_rigid_opts *opts, struct sul_affine *out, struct sul_err *err)
{
	struct setup su;
	int ret = -1;

	if (!reg_setup_init(&su, fixed, moving, opts, err))
		ret = reg_affine_pass(&su, out, err);
	reg_setup_release(&su);
	return ret;
}

void sul_affine_apply(const struct sul_affine *t, const double x[3], double y[3])
{
	double d[3];
	int a;

	for (a = 0; a < 3; a++)
		d[a] = x[a] - t->center[a];
	for (a = 0; a < 3; a++)
		y[a] = t->a[a][0] * d[0] + t->a[a][1] * d[1] + t->a[a][2] * d[2] + t->center[a] + t->t[a];
}

void sul_affine_from_rigid(const struct sul_rigid *r, struct sul_affine *out)
{
	int a;

	memset(out, 0, sizeof(*out));
	sul_rigid_matrix(r->p, out->a);
	for (a = 0; a < 3; a++) {
		out->t[a] = r->p[3 + a];
		out->center[a] = r->center[a];
	}
	out->mi = r->mi;
	out->iterations = r->iterations;
}

/* MI over every nonzero voxel of fixed, model nlin at p about center c. */
static double model_mi(const struct sul_volume *fixed, const struct sul_volume *moving, int nlin, const double *c,
		       const double *p, int bins)
{
	double frange[2], mrange[2], mi = 0;
	struct level l;
	struct metric m;

	if (sul_intensity_range(fixed, RANGE_SAMPLES, &frange[0], &frange[1])
	    || sul_intensity_range(moving, RANGE_SAMPLES, &mrange[0], &mrange[1]))
		return 0;
	memset(&l, 0, sizeof(l));
	l.fix = *fixed;
	l.mov = *moving;
	l.borrowed = 1;
	level_prepare(&l);
	metric_init(&m, bins, frange, mrange);
	evaluate(&l, &m, nlin, c, p, l.mask, l.nmask, &mi, NULL);
	metric_release(&m);
	level_release(&l);
	return mi;
}

double sul_affine_mi(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_affine *t,
		     int bins)
{
	double p[12];
	int a, b;

	for (a = 0; a < 3; a++) {
		for (b = 0; b < 3; b++)
			p[3 * a + b] = t->a[a][b];
		p[9 + a] = t->t[a];
	}
	return model_mi(fixed, moving, 9, t->center, p, bins);
}

double sul_rigid_mi(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_rigid *t,
		    int bins)
{
	return model_mi(fixed, moving, 3, t->center, t->p, bins);
}

void sul_affine_resample(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_affine *t,
			 int nearest, struct sul_volume *out)
{
	const int64_t n[3] = { moving->nx, moving->ny, moving->nz };
	double inv[3][4], k[3][4];
	int64_t x, y, z;
	int a, b;

	/* ijk_moving = inv (M (A ijk_fixed + a - c) + c + t): one affine map. */
	sul_affine_inverse(moving->ijk_to_xyz, inv);
	for (a = 0; a < 3; a++) {
		const double(*r)[3] = t->a;
		double rt[4], off;
		for (b = 0; b < 4; b++)
			rt[b] = r[a][0] * fixed->ijk_to_xyz[0][b] + r[a][1] * fixed->ijk_to_xyz[1][b]
				+ r[a][2] * fixed->ijk_to_xyz[2][b];
		off = t->center[a] + t->t[a] - (r[a][0] * t->center[0] + r[a][1] * t->center[1] + r[a][2] * t->center[2]);
		rt[3] += off;
		for (b = 0; b < 4; b++)
			k[a][b] = rt[b];
	}
	{
		double kk[3][4];
		for (a = 0; a < 3; a++)
			for (b = 0; b < 4; b++)
				kk[a][b] = inv[a][0] * k[0][b] + inv[a][1] * k[1][b] + inv[a][2] * k[2][b]
					   + (b == 3 ? inv[a][3] : 0);
		memcpy(k, kk, sizeof(k));
	}
	sul_volume_like(out, fixed);
	for (z = 0; z < fixed->nz; z++)
		for (y = 0; y < fixed->ny; y++) {
			float *row = out->data + (z * fixed->ny + y) * fixed->nx;
			double u0[3];
			for (a = 0; a < 3; a++)
				u0[a] = k[a][1] * (double)y + k[a][2] * (double)z + k[a][3];
			for (x = 0; x < fixed->nx; x++) {
				double u[3];
				for (a = 0; a < 3; a++)
					u[a] = u0[a] + k[a][0] * (double)x;
				row[x] = reg_sample(moving, n, u, nearest);
			}
		}
}

void sul_rigid_resample(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_rigid *t,
			struct sul_volume *out)
{
	struct sul_affine a;

	sul_affine_from_rigid(t, &a);
	sul_affine_resample(fixed, moving, &a, 0, out);
}
