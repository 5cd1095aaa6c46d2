/* warp.c - B-spline refinement of an affine registration (see warp.h). */
#include "warp.h"
#include "../engine/strbuf.h"
#include "reg_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Pairs of steps L-BFGS remembers. */
#define LBFGS_M 6
/* sul_warp_invert: converged when an iteration moves x less (mm). */
#define INVERT_TOL 1e-3
#define INVERT_ITERATIONS 50
/* Voxels the Jacobian check evaluates, at most (a regular grid). */
#define JACOBIAN_VOXELS 200000

/* --- the field ------------------------------------------------------------ */

/* The 4 x 4 x 4 control points around a point: the first one's index and
 * the weights (and their derivatives, per control unit) along each axis. */
struct support {
	int64_t base;
	double w[3][4];
};

/*
 * Where t (control units) falls.  Beyond the grid the field keeps its
 * edge value: t is clamped to [1, n - 2), where every point has its four
 * control points on each axis.
 */
static void support_at(const int64_t n[3], const double t[3], struct support *s, double dw[3][4])
{
	int64_t i0[3];
	int a;

	for (a = 0; a < 3; a++) {
		double u = t[a], hi = (double)n[a] - 2 - 1e-9, f;
		int64_t fl;
		u = u < 1 ? 1 : u > hi ? hi : u;
		fl = (int64_t)floor(u);
		f = u - (double)fl;
		i0[a] = fl - 1;
		s->w[a][0] = (1 - f) * (1 - f) * (1 - f) / 6;
		s->w[a][1] = (3 * f * f * f - 6 * f * f + 4) / 6;
		s->w[a][2] = (-3 * f * f * f + 3 * f * f + 3 * f + 1) / 6;
		s->w[a][3] = f * f * f / 6;
		if (dw) {
			dw[a][0] = -(1 - f) * (1 - f) / 2;
			dw[a][1] = (3 * f * f - 4 * f) / 2;
			dw[a][2] = (-3 * f * f + 2 * f + 1) / 2;
			dw[a][3] = f * f / 2;
		}
	}
	s->base = i0[0] + n[0] * (i0[1] + n[1] * i0[2]);
}

/* The displacement (mm) at a support.  The 4 control points along x of
 * each (y, z) row are 12 consecutive floats, summed 12 wide (so that the
 * compiler can vectorise it): the inner loop of the registration. */
static void displacement(const int64_t n[3], const float *coef, const struct support *s, double d[3])
{
	double acc[12] = { 0 }, wx[12];
	int b, c, j;

	for (j = 0; j < 12; j++)
		wx[j] = s->w[0][j / 3];
	for (c = 0; c < 4; c++)
		for (b = 0; b < 4; b++) {
			const double wyz = s->w[1][b] * s->w[2][c];
			const float *p = coef + 3 * (s->base + n[0] * (b + n[1] * c));
			for (j = 0; j < 12; j++)
				acc[j] += wyz * wx[j] * p[j];
		}
	for (j = 0; j < 3; j++)
		d[j] = acc[j] + acc[3 + j] + acc[6 + j] + acc[9 + j];
}

/* dd_i / dt_a at a support (mm per control unit). */
static void displacement_grad(const int64_t n[3], const float *coef, const struct support *s, const double dw[3][4],
			      double g[3][3])
{
	int a, b, c, i;

	memset(g, 0, 9 * sizeof(double));
	for (c = 0; c < 4; c++)
		for (b = 0; b < 4; b++) {
			const float *p = coef + 3 * (s->base + n[0] * (b + n[1] * c));
			for (a = 0; a < 4; a++) {
				const double dx = dw[0][a] * s->w[1][b] * s->w[2][c];
				const double dy = s->w[0][a] * dw[1][b] * s->w[2][c];
				const double dz = s->w[0][a] * s->w[1][b] * dw[2][c];
				for (i = 0; i < 3; i++) {
					g[i][0] += dx * p[3 * a + i];
					g[i][1] += dy * p[3 * a + i];
					g[i][2] += dz * p[3 * a + i];
				}
			}
		}
}

static void map_point(const double m[3][4], const double x[3], double y[3])
{
	int a;

	for (a = 0; a < 3; a++)
		y[a] = m[a][0] * x[0] + m[a][1] * x[1] + m[a][2] * x[2] + m[a][3];
}

/* The control grid of spacing_mm over fixed's grid (coefficients zero). */
static void grid_init(struct sul_warp *w, const struct sul_volume *fixed, double spacing_mm)
{
	const int64_t nv[3] = { fixed->nx, fixed->ny, fixed->nz };
	int a, b;

	for (a = 0; a < 3; a++) {
		double s = spacing_mm / fixed->pixdim[a];
		w->n[a] = (int64_t)floor((double)(nv[a] - 1) / s) + 4;
		/* control index k sits on fixed voxel (k - 1) s */
		for (b = 0; b < 3; b++)
			w->ctl_to_xyz[b][a] = fixed->ijk_to_xyz[b][a] * s;
	}
	for (b = 0; b < 3; b++)
		w->ctl_to_xyz[b][3] = fixed->ijk_to_xyz[b][3] - w->ctl_to_xyz[b][0] - w->ctl_to_xyz[b][1] - w->ctl_to_xyz[b][2];
	w->ctl_to_xyz[3][0] = w->ctl_to_xyz[3][1] = w->ctl_to_xyz[3][2] = 0;
	w->ctl_to_xyz[3][3] = 1;
	sul_affine_inverse(w->ctl_to_xyz, w->xyz_to_ctl);
	free(w->coef);
	w->coef = sul_xcalloc((size_t)(w->n[0] * w->n[1] * w->n[2] * 3), sizeof(float));
}

void sul_warp_from_affine(const struct sul_affine *a, const struct sul_volume *fixed, double spacing_mm,
			  struct sul_warp *out)
{
	memset(out, 0, sizeof(*out));
	out->affine = *a;
	out->mi = a->mi;
	out->iterations = a->iterations;
	out->jac_min = 1;
	grid_init(out, fixed, spacing_mm);
}

void sul_warp_release(struct sul_warp *w)
{
	free(w->coef);
	w->coef = NULL;
}

void sul_warp_apply(const struct sul_warp *w, const double x[3], double y[3])
{
	struct support s;
	double t[3], d[3];
	int a;

	map_point(w->xyz_to_ctl, x, t);
	support_at(w->n, t, &s, NULL);
	displacement(w->n, w->coef, &s, d);
	sul_affine_apply(&w->affine, x, y);
	for (a = 0; a < 3; a++)
		y[a] += d[a];
}

/* M^-1 of the affine, and the point it maps back: x = M^-1 (y - c - t) + c. */
static void affine_inverse(const struct sul_affine *af, double inv[3][3])
{
	const double(*m)[3] = af->a;
	double det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
		     + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
	int r, c;

	for (r = 0; r < 3; r++)
		for (c = 0; c < 3; c++) {
			/* the cofactor of m[c][r] */
			int r1 = (c + 1) % 3, r2 = (c + 2) % 3, c1 = (r + 1) % 3, c2 = (r + 2) % 3;
			inv[r][c] = (m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]) / det;
		}
}

int sul_warp_invert(const struct sul_warp *w, const double y[3], double x[3])
{
	const struct sul_affine *af = &w->affine;
	double inv[3][3], q[3], t[3], d[3];
	struct support s;
	int it, a;

	affine_inverse(af, inv);
	d[0] = d[1] = d[2] = 0;
	for (it = 0; it < INVERT_ITERATIONS; it++) {
		double moved = 0;
		for (a = 0; a < 3; a++)
			q[a] = y[a] - d[a] - af->center[a] - af->t[a];
		for (a = 0; a < 3; a++) {
			double nx = inv[a][0] * q[0] + inv[a][1] * q[1] + inv[a][2] * q[2] + af->center[a];
			if (it)
				moved += (nx - x[a]) * (nx - x[a]);
			x[a] = nx;
		}
		if (it && moved < INVERT_TOL * INVERT_TOL)
			return 0;
		map_point(w->xyz_to_ctl, x, t);
		support_at(w->n, t, &s, NULL);
		displacement(w->n, w->coef, &s, d);
	}
	return -1;
}

/*
 * The displacement at the voxels (0..nx-1, y, z) of a grid whose voxel ->
 * control map is tmap, into d (3 per voxel).  When the grid's rows run
 * along the control grid's x axis (a grid on the fixed volume's axes, as
 * resampling onto it is), the y and z weights are the same along the row:
 * the 16 control points of each x column are summed once per row, and a
 * voxel costs 4 terms instead of 64.
 */
static void row_displacements(const struct sul_warp *w, const double tmap[3][4], int64_t nx, int64_t y, int64_t z,
			      double *d)
{
	const int64_t *n = w->n;
	int64_t x;

	if (fabs(tmap[1][0]) < 1e-12 && fabs(tmap[2][0]) < 1e-12) {
		const double t0[3] = { tmap[0][1] * (double)y + tmap[0][2] * (double)z + tmap[0][3],
				       tmap[1][1] * (double)y + tmap[1][2] * (double)z + tmap[1][3],
				       tmap[2][1] * (double)y + tmap[2][2] * (double)z + tmap[2][3] };
		double *col = sul_xmalloc((size_t)(3 * n[0]) * sizeof(double));
		struct support s;
		int64_t k;
		int b, c;

		support_at(n, t0, &s, NULL);  /* its y and z weights and rows hold for the whole row */
		for (k = 0; k < n[0]; k++) {
			double acc[3] = { 0, 0, 0 };
			for (c = 0; c < 4; c++)
				for (b = 0; b < 4; b++) {
					const double wyz = s.w[1][b] * s.w[2][c];
					const float *p = w->coef + 3 * (s.base - s.base % n[0] + k + n[0] * (b + n[1] * c));
					acc[0] += wyz * p[0];
					acc[1] += wyz * p[1];
					acc[2] += wyz * p[2];
				}
			col[3 * k] = acc[0];
			col[3 * k + 1] = acc[1];
			col[3 * k + 2] = acc[2];
		}
		for (x = 0; x < nx; x++) {
			double t[3] = { tmap[0][0] * (double)x + t0[0], t0[1], t0[2] };
			struct support sx;
			int a;
			support_at(n, t, &sx, NULL);
			d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = 0;
			for (a = 0; a < 4; a++) {
				const double *q = col + 3 * (sx.base % n[0] + a);
				d[3 * x] += sx.w[0][a] * q[0];
				d[3 * x + 1] += sx.w[0][a] * q[1];
				d[3 * x + 2] += sx.w[0][a] * q[2];
			}
		}
		free(col);
		return;
	}
	for (x = 0; x < nx; x++) {
		const double ijk[3] = { (double)x, (double)y, (double)z };
		double t[3];
		struct support s;
		map_point(tmap, ijk, t);
		support_at(n, t, &s, NULL);
		displacement(n, w->coef, &s, d + 3 * x);
	}
}

void sul_warp_resample(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_warp *w,
		       int nearest, struct sul_volume *out)
{
	const int64_t n[3] = { moving->nx, moving->ny, moving->nz };
	double inv[3][4], tmap[3][4], *d = sul_xmalloc((size_t)(3 * fixed->nx) * sizeof(double));
	int64_t x, y, z;
	int a, q;

	sul_affine_inverse(moving->ijk_to_xyz, inv);
	for (a = 0; a < 3; a++)
		for (q = 0; q < 4; q++)
			tmap[a][q] = w->xyz_to_ctl[a][0] * fixed->ijk_to_xyz[0][q] + w->xyz_to_ctl[a][1] * fixed->ijk_to_xyz[1][q]
				     + w->xyz_to_ctl[a][2] * fixed->ijk_to_xyz[2][q] + (q == 3 ? w->xyz_to_ctl[a][3] : 0);
	sul_volume_like(out, fixed);
	for (z = 0; z < fixed->nz; z++)
		for (y = 0; y < fixed->ny; y++) {
			float *row = out->data + (z * fixed->ny + y) * fixed->nx;
			row_displacements(w, tmap, fixed->nx, y, z, d);
			for (x = 0; x < fixed->nx; x++) {
				const double ijk[3] = { (double)x, (double)y, (double)z };
				double p[3], q3[3], u[3];
				map_point((const double(*)[4])fixed->ijk_to_xyz, ijk, p);
				sul_affine_apply(&w->affine, p, q3);
				for (a = 0; a < 3; a++)
					q3[a] += d[3 * x + a];
				map_point(inv, q3, u);
				row[x] = reg_sample(moving, n, u, nearest);
			}
		}
	free(d);
}

/* --- saving ------------------------------------------------------------- */

int sul_warp_write(const char *prefix, const struct sul_warp *w, struct sul_err *err)
{
	const int64_t np = w->n[0] * w->n[1] * w->n[2];
	static const char axis[3] = { 'x', 'y', 'z' };
	struct sul_volume v;
	int a, r = 0;

	memset(&v, 0, sizeof(v));
	v.nx = w->n[0];
	v.ny = w->n[1];
	v.nz = w->n[2];
	memcpy(v.ijk_to_xyz, w->ctl_to_xyz, sizeof(v.ijk_to_xyz));
	for (a = 0; a < 3; a++)
		v.pixdim[a] = sqrt(w->ctl_to_xyz[0][a] * w->ctl_to_xyz[0][a] + w->ctl_to_xyz[1][a] * w->ctl_to_xyz[1][a]
				   + w->ctl_to_xyz[2][a] * w->ctl_to_xyz[2][a]);
	v.xform_code = 2;  /* NIFTI_XFORM_ALIGNED_ANAT: the fixed volume's space */
	v.data = sul_xmalloc((size_t)np * sizeof(float));
	for (a = 0; a < 3 && !r; a++) {
		char *path = sul_xasprintf("%s_%c.nii.gz", prefix, axis[a]);
		int64_t i;
		for (i = 0; i < np; i++)
			v.data[i] = w->coef[3 * i + a];
		r = sul_volume_write(path, &v, SUL_VOL_FLOAT32, err);
		free(path);
	}
	free(v.data);
	return r;
}

int sul_warp_read(const char *prefix, const struct sul_affine *af, struct sul_warp *w, struct sul_err *err)
{
	static const char axis[3] = { 'x', 'y', 'z' };
	struct sul_volume v[3];
	int a, b, r = -1;

	memset(v, 0, sizeof(v));
	memset(w, 0, sizeof(*w));
	for (a = 0; a < 3; a++) {
		char *path = sul_xasprintf("%s_%c.nii.gz", prefix, axis[a]);
		int bad = sul_volume_read(path, &v[a], err);
		if (!bad && a && (v[a].nx != v[0].nx || v[a].ny != v[0].ny || v[a].nz != v[0].nz))
			bad = sul_err_set(err, SUL_ERR_INPUT, "'%s': %lldx%lldx%lld control points, expected %lldx%lldx%lld as "
					  "in its _x volume", path, (long long)v[a].nx, (long long)v[a].ny,
					  (long long)v[a].nz, (long long)v[0].nx, (long long)v[0].ny, (long long)v[0].nz);
		if (!bad && (v[a].nx < 4 || v[a].ny < 4 || v[a].nz < 4))
			bad = sul_err_set(err, SUL_ERR_INPUT, "'%s': expected at least 4 control points along each axis", path);
		free(path);
		if (bad)
			goto out;
	}
	w->affine = *af;
	w->mi = af->mi;
	w->jac_min = 1;
	w->n[0] = v[0].nx;
	w->n[1] = v[0].ny;
	w->n[2] = v[0].nz;
	memcpy(w->ctl_to_xyz, v[0].ijk_to_xyz, sizeof(w->ctl_to_xyz));
	sul_affine_inverse(w->ctl_to_xyz, w->xyz_to_ctl);
	w->coef = sul_xmalloc((size_t)(w->n[0] * w->n[1] * w->n[2] * 3) * sizeof(float));
	for (b = 0; b < 3; b++) {
		int64_t i;
		for (i = 0; i < w->n[0] * w->n[1] * w->n[2]; i++)
			w->coef[3 * i + b] = v[b].data[i];
	}
	r = 0;
out:
	for (a = 0; a < 3; a++)
		sul_volume_release(&v[a]);
	return r;
}

/* --- registration --------------------------------------------------------- */

/* One sample of a stage's objective: what the gradient pass needs again. */
struct sample {
	struct support s;  /* fixed for the stage: computed once */
	double u0[3];      /* the moving voxel through the affine alone: also fixed */
	int fb0;           /* fixed bin: fixed */
	double dm[3];   /* dM/dd: the moving image's gradient, per mm of displacement */
	double term;    /* the moving intensity's place on the histogram's axis */
	int fb;         /* fixed bin; -1: the point fell outside the moving image */
	int clamped;    /* intensity outside the histogram's range: no gradient */
};

/* One coarse-to-fine stage. */
struct stage {
	const struct level *l;
	const struct metric *m;
	struct sul_warp *w;          /* its coefficients are the point evaluated */
	double t_map[3][4];          /* level voxel -> control units */
	double y_map[3][4];          /* level voxel -> moving voxel, through the affine */
	const uint32_t *idx;
	size_t ns;
	struct sample *smp;
	double bending;
};

/* Mean squared second difference of the coefficients along each axis; its
 * gradient is added to grad (scaled by weight) when not NULL. */
static double roughness(const struct sul_warp *w, double weight, double *grad)
{
	const int64_t *n = w->n, np = n[0] * n[1] * n[2];
	const int64_t stride[3] = { 1, n[0], n[0] * n[1] };
	double sum = 0;
	int64_t i;
	int a, c;

	for (i = 0; i < np; i++) {
		const int64_t ix[3] = { i % n[0], i / n[0] % n[1], i / n[0] / n[1] };
		for (a = 0; a < 3; a++) {
			int64_t s = stride[a];
			if (ix[a] == 0 || ix[a] == n[a] - 1)
				continue;
			for (c = 0; c < 3; c++) {
				double r = (double)w->coef[3 * (i - s) + c] - 2.0 * w->coef[3 * i + c] + w->coef[3 * (i + s) + c];
				sum += r * r;
				if (grad) {
					double g = 2 * weight * r / (double)np;
					grad[3 * (i - s) + c] += g;
					grad[3 * i + c] -= 2 * g;
					grad[3 * (i + s) + c] += g;
				}
			}
		}
	}
	return sum / (double)np;
}

/* -MI + bending * roughness at st->w's coefficients, and its gradient. */
static double objective(struct stage *st, double *grad)
{
	const struct level *l = st->l;
	const struct metric *m = st->m;
	const int bins = m->bins;
	const int64_t mn[3] = { l->mov.nx, l->mov.ny, l->mov.nz }, *n = st->w->n;
	size_t s, valid = 0;
	double mi;
	int a, k;

	memset(m->joint, 0, (size_t)(bins * bins) * sizeof(double));
	for (s = 0; s < st->ns; s++) {
		struct sample *p = &st->smp[s];
		double d[3], u[3], mv[4];
		int k0;

		displacement(n, st->w->coef, &p->s, d);
		for (a = 0; a < 3; a++)
			u[a] = p->u0[a] + l->mov_inv[a][0] * d[0] + l->mov_inv[a][1] * d[1] + l->mov_inv[a][2] * d[2];
		p->fb = -1;
		if (!reg_interp_grad(l->mov.data, mn, u, mv))
			continue;
		valid++;
		p->fb = p->fb0;
		p->term = (mv[0] - m->mlo) / m->mbin + PAD;
		p->clamped = 0;
		if (p->term < PAD || p->term > bins - PAD) {
			p->term = p->term < PAD ? PAD : bins - PAD;
			p->clamped = 1;
		}
		k0 = (int)floor(p->term);
		if (k0 > bins - PAD - 1)
			k0 = bins - PAD - 1;
		for (k = 0; k < 4; k++)
			m->joint[p->fb * bins + k0 - 1 + k] += reg_bspline3((double)(k0 - 1 + k) - p->term);
		for (a = 0; a < 3; a++)
			p->dm[a] = l->mov_inv[0][a] * mv[1] + l->mov_inv[1][a] * mv[2] + l->mov_inv[2][a] * mv[3];
	}
	if (grad)
		memset(grad, 0, (size_t)(n[0] * n[1] * n[2] * 3) * sizeof(double));
	if (valid < MIN_VALID)
		return NAN;
	mi = reg_histogram_mi(m, valid, grad ? m->lr : NULL);
	if (grad) {
		for (s = 0; s < st->ns; s++) {
			const struct sample *p = &st->smp[s];
			double dmi = 0, g[3], gw[12];
			int k0, b, c, j;
			if (p->fb < 0 || p->clamped)
				continue;
			k0 = (int)floor(p->term);
			if (k0 > bins - PAD - 1)
				k0 = bins - PAD - 1;
			/* dMI/dM of this sample, then along the field through dM/dd */
			for (k = 0; k < 4; k++) {
				int bin = p->fb * bins + k0 - 1 + k;
				if (m->joint[bin] > 0)
					dmi -= reg_bspline3_d((double)(k0 - 1 + k) - p->term) * m->lr[bin];
			}
			dmi /= m->mbin * (double)valid;
			for (a = 0; a < 3; a++)
				g[a] = -dmi * p->dm[a];  /* the objective is -MI */
			for (j = 0; j < 12; j++)
				gw[j] = p->s.w[0][j / 3] * g[j % 3];
			for (c = 0; c < 4; c++)
				for (b = 0; b < 4; b++) {
					const double wyz = p->s.w[1][b] * p->s.w[2][c];
					double *q = grad + 3 * (p->s.base + n[0] * (b + n[1] * c));
					for (j = 0; j < 12; j++)
						q[j] += wyz * gw[j];
				}
		}
	}
	return -mi + (st->bending > 0 ? st->bending * roughness(st->w, st->bending, grad) : 0);
}

/* What does not change while a stage runs: each sample's control points
 * and weights, its point through the affine, its fixed bin. */
static void stage_samples(struct stage *st, size_t max)
{
	const struct level *l = st->l;
	const struct metric *m = st->m;
	const uint32_t nx = (uint32_t)l->fix.nx, ny = (uint32_t)l->fix.ny;
	size_t s;

	st->idx = reg_grid_samples(l, max, &st->ns);
	st->smp = sul_xmalloc((st->ns + 1) * sizeof(*st->smp));
	for (s = 0; s < st->ns; s++) {
		struct sample *p = &st->smp[s];
		const uint32_t v = st->idx[s], vy = v / nx;
		const double ijk[3] = { (double)(v - vy * nx), (double)(vy % ny), (double)(vy / ny) };
		double t[3];
		int fb;
		map_point(st->t_map, ijk, t);
		support_at(st->w->n, t, &p->s, NULL);
		map_point(st->y_map, ijk, p->u0);
		fb = (int)floor((l->fix.data[v] - m->flo) / m->fbin);
		p->fb0 = fb < 0 ? 0 : fb >= m->bins ? m->bins - 1 : fb;
	}
}

static void stage_release(struct stage *st)
{
	free((void *)st->idx);
	free(st->smp);
}

/* Sets the coefficients to x and evaluates. */
static double objective_at(struct stage *st, const double *x, size_t np, double *grad)
{
	size_t i;

	for (i = 0; i < np; i++)
		st->w->coef[i] = (float)x[i];
	return objective(st, grad);
}

/*
 * L-BFGS (Nocedal's two-loop recursion) with a backtracking Armijo line
 * search.  The first step moves no coefficient more than first_mm; it
 * stops after `iterations`, when the line search cannot decrease the
 * objective with a step that moves anything by min_mm, or when three
 * iterations in a row gain less than 1e-7.  Returns the iterations taken,
 * or -1 when the images stop overlapping.
 */
static int lbfgs(struct stage *st, int iterations, double first_mm, double min_mm)
{
	const size_t np = (size_t)(st->w->n[0] * st->w->n[1] * st->w->n[2] * 3);
	double *x = sul_xmalloc(np * sizeof(double)), *g = sul_xmalloc(np * sizeof(double));
	double *xn = sul_xmalloc(np * sizeof(double)), *gn = sul_xmalloc(np * sizeof(double));
	double *d = sul_xmalloc(np * sizeof(double)), *S = sul_xmalloc(LBFGS_M * np * sizeof(double));
	double *Y = sul_xmalloc(LBFGS_M * np * sizeof(double)), rho[LBFGS_M], alpha_k[LBFGS_M], f, fn;
	int it, stalled = 0, stored = 0, head = 0, ret = -1;
	size_t i;

	for (i = 0; i < np; i++)
		x[i] = st->w->coef[i];
	f = objective_at(st, x, np, g);
	if (isnan(f))
		goto out;
	for (it = 0; it < iterations; it++) {
		double slope = 0, dmax = 0, alpha = 1, gamma = 1;
		int j, accepted = 0;

		/* d = -H g */
		for (i = 0; i < np; i++)
			d[i] = -g[i];
		for (j = 0; j < stored; j++) {
			int q = (head - 1 - j + LBFGS_M) % LBFGS_M;
			double a = 0;
			for (i = 0; i < np; i++)
				a += S[q * np + i] * d[i];
			alpha_k[q] = a * rho[q];
			for (i = 0; i < np; i++)
				d[i] -= alpha_k[q] * Y[q * np + i];
		}
		if (stored) {
			int q = (head - 1 + LBFGS_M) % LBFGS_M;
			double sy = 0, yy = 0;
			for (i = 0; i < np; i++) {
				sy += S[q * np + i] * Y[q * np + i];
				yy += Y[q * np + i] * Y[q * np + i];
			}
			gamma = sy / yy;
		}
		for (i = 0; i < np; i++)
			d[i] *= gamma;
		for (j = stored - 1; j >= 0; j--) {
			int q = (head - 1 - j + LBFGS_M) % LBFGS_M;
			double b = 0;
			for (i = 0; i < np; i++)
				b += Y[q * np + i] * d[i];
			b *= rho[q];
			for (i = 0; i < np; i++)
				d[i] += S[q * np + i] * (alpha_k[q] - b);
		}
		for (i = 0; i < np; i++) {
			slope += d[i] * g[i];
			dmax = fmax(dmax, fabs(d[i]));
		}
		if (dmax == 0)
			break;
		if (slope >= 0 || !stored) {  /* steepest descent, scaled */
			slope = 0;
			for (i = 0; i < np; i++) {
				d[i] = -g[i];
				slope -= g[i] * g[i];
			}
			dmax = 0;
			for (i = 0; i < np; i++)
				dmax = fmax(dmax, fabs(d[i]));
			alpha = first_mm / dmax;
			stored = 0;
		}
		while (!accepted && alpha * dmax >= min_mm) {
			for (i = 0; i < np; i++)
				xn[i] = x[i] + alpha * d[i];
			fn = objective_at(st, xn, np, gn);
			if (isnan(fn))
				goto out;
			if (fn <= f + 1e-4 * alpha * slope)
				accepted = 1;
			else
				alpha *= 0.5;
		}
		if (!accepted)
			break;
		{
			double sy = 0;
			for (i = 0; i < np; i++) {
				S[head * np + i] = xn[i] - x[i];
				Y[head * np + i] = gn[i] - g[i];
				sy += S[head * np + i] * Y[head * np + i];
			}
			if (sy > 1e-12) {
				rho[head] = 1 / sy;
				head = (head + 1) % LBFGS_M;
				stored += stored < LBFGS_M;
			}
		}
		stalled = f - fn < 1e-7 ? stalled + 1 : 0;
		memcpy(x, xn, np * sizeof(double));
		memcpy(g, gn, np * sizeof(double));
		f = fn;
		if (stalled >= 3) {
			it++;
			break;
		}
	}
	for (i = 0; i < np; i++)
		st->w->coef[i] = (float)x[i];
	ret = it;
out:
	free(x);
	free(g);
	free(xn);
	free(gn);
	free(d);
	free(S);
	free(Y);
	return ret;
}

/* Halves the control spacing of w over fixed's grid: uniform cubic
 * B-spline subdivision, exact inside the fixed volume. */
static void subdivide(struct sul_warp *w, const struct sul_volume *fixed, double spacing_mm)
{
	int64_t old_n[3] = { w->n[0], w->n[1], w->n[2] }, cur[3];
	float *cur_coef = w->coef;
	int a;

	w->coef = NULL;
	grid_init(w, fixed, spacing_mm);
	memcpy(cur, old_n, sizeof(cur));
	/* One axis at a time: cur is the current array's size. */
	for (a = 0; a < 3; a++) {
		int64_t nn[3] = { cur[0], cur[1], cur[2] }, i, len;
		float *next;
		nn[a] = w->n[a];
		len = nn[0] * nn[1] * nn[2];
		next = sul_xcalloc((size_t)(len * 3), sizeof(float));
		for (i = 0; i < len; i++) {
			int64_t ix[3] = { i % nn[0], i / nn[0] % nn[1], i / nn[0] / nn[1] };
			int64_t jn = ix[a], k = (jn + 1) / 2, c;
			const double wt_odd[3] = { 0.125, 0.75, 0.125 }, wt_even[2] = { 0.5, 0.5 };
			for (c = 0; c < 3; c++) {
				double acc = 0;
				int q;
				if (jn % 2) {
					for (q = 0; q < 3; q++) {
						int64_t src[3] = { ix[0], ix[1], ix[2] };
						src[a] = k - 1 + q;
						if (src[a] >= 0 && src[a] < cur[a])
							acc += wt_odd[q] * cur_coef[3 * (src[0] + cur[0] * (src[1] + cur[1] * src[2])) + c];
					}
				} else {
					k = jn / 2;
					for (q = 0; q < 2; q++) {
						int64_t src[3] = { ix[0], ix[1], ix[2] };
						src[a] = k + q;
						if (src[a] >= 0 && src[a] < cur[a])
							acc += wt_even[q] * cur_coef[3 * (src[0] + cur[0] * (src[1] + cur[1] * src[2])) + c];
					}
				}
				next[3 * i + c] = (float)acc;
			}
		}
		free(cur_coef);
		cur_coef = next;
		cur[a] = nn[a];
	}
	free(w->coef);
	w->coef = cur_coef;
}

/* The smallest det(dy/dx) / det(A) over a grid of fixed's nonzero voxels,
 * and the fraction that is <= 0. */
static void jacobian_check(const struct level *l0, struct sul_warp *w)
{
	size_t n, i, folded = 0;
	uint32_t *idx = reg_grid_samples(l0, JACOBIAN_VOXELS, &n);
	const double(*m)[3] = w->affine.a;
	const double det_a = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1])
			     - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
			     + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
	double jmin = INFINITY;

	for (i = 0; i < n; i++) {
		const uint32_t v = idx[i], nx = (uint32_t)l0->fix.nx, ny = (uint32_t)l0->fix.ny;
		const double ijk[3] = { (double)(v % nx), (double)(v / nx % ny), (double)(v / nx / ny) };
		double x[3], t[3], g[3][3], j[3][3], det, dw[3][4];
		struct support s;
		int r, c;

		map_point(l0->fix_a, ijk, x);
		map_point(w->xyz_to_ctl, x, t);
		support_at(w->n, t, &s, dw);
		displacement_grad(w->n, w->coef, &s, dw, g);
		/* dy/dx = M + (dd/dt)(dt/dx) */
		for (r = 0; r < 3; r++)
			for (c = 0; c < 3; c++)
				j[r][c] = m[r][c] + g[r][0] * w->xyz_to_ctl[0][c] + g[r][1] * w->xyz_to_ctl[1][c]
					  + g[r][2] * w->xyz_to_ctl[2][c];
		det = j[0][0] * (j[1][1] * j[2][2] - j[1][2] * j[2][1]) - j[0][1] * (j[1][0] * j[2][2] - j[1][2] * j[2][0])
		      + j[0][2] * (j[1][0] * j[2][1] - j[1][1] * j[2][0]);
		det /= det_a;
		jmin = fmin(jmin, det);
		folded += det <= 0;
	}
	w->jac_min = n ? jmin : 1;
	w->folded = n ? (double)folded / (double)n : 0;
	free(idx);
}

/* Composes the maps of one stage for level l. */
static void stage_maps(struct stage *st, const struct level *l, const struct sul_affine *af)
{
	double a2[3][4];
	int a, b, q;

	for (a = 0; a < 3; a++)
		for (q = 0; q < 4; q++) {
			/* level voxel -> control units: xyz_to_ctl . fix_a */
			st->t_map[a][q] = st->w->xyz_to_ctl[a][0] * l->fix_a[0][q] + st->w->xyz_to_ctl[a][1] * l->fix_a[1][q]
					  + st->w->xyz_to_ctl[a][2] * l->fix_a[2][q] + (q == 3 ? st->w->xyz_to_ctl[a][3] : 0);
			/* level voxel -> affine image in world: M (x - c) + c + t */
			a2[a][q] = af->a[a][0] * l->fix_a[0][q] + af->a[a][1] * l->fix_a[1][q] + af->a[a][2] * l->fix_a[2][q];
		}
	for (a = 0; a < 3; a++)
		a2[a][3] += af->center[a] + af->t[a]
			    - (af->a[a][0] * af->center[0] + af->a[a][1] * af->center[1] + af->a[a][2] * af->center[2]);
	for (a = 0; a < 3; a++)
		for (q = 0; q < 4; q++) {
			double acc = 0;
			for (b = 0; b < 3; b++)
				acc += l->mov_inv[a][b] * a2[b][q];
			st->y_map[a][q] = acc + (q == 3 ? l->mov_inv[a][3] : 0);
		}
}

/* A stage on level lev of su at w, over at most max regular samples. */
static void stage_init(struct stage *st, struct setup *su, int lev, const struct sul_affine *af, struct sul_warp *w,
		       double bending, size_t max)
{
	memset(st, 0, sizeof(*st));
	st->l = &su->lev[lev];
	st->m = &su->m;
	st->w = w;
	st->bending = bending;
	stage_maps(st, st->l, af);
	stage_samples(st, max);
}

double reg_warp_objective(struct setup *su, int lev, const struct sul_affine *af, struct sul_warp *w,
			  size_t max_samples, double bending, double *grad)
{
	struct stage st;
	double f;

	stage_init(&st, su, lev, af, w, bending, max_samples);
	f = objective(&st, grad);
	stage_release(&st);
	return f;
}

int sul_warp_register(const struct sul_volume *fixed, const struct sul_volume *moving,
		      const struct sul_rigid_opts *lin, const struct sul_warp_opts *opts, struct sul_warp *out,
		      struct sul_err *err)
{
	struct setup su;
	struct sul_affine af;
	struct sul_warp w;
	struct stage st;
	int stages = opts->stages < 1 ? 1 : opts->stages, s, ret = -1;

	memset(&w, 0, sizeof(w));
	if (reg_setup_init(&su, fixed, moving, lin, err) || reg_affine_pass(&su, &af, err))
		goto out;
	sul_warp_from_affine(&af, fixed, opts->spacing_mm * ldexp(1.0, stages - 1), &w);
	for (s = 0; s < stages; s++) {
		int lev = stages - 1 - s < su.nlev - 1 ? stages - 1 - s : su.nlev - 1, it;

		if (s)
			subdivide(&w, fixed, opts->spacing_mm * ldexp(1.0, stages - 1 - s));
		/* A coarser level has 8 times fewer voxels and a quarter of the samples
		 * does as well there (as many per control point as the next stage). */
		stage_init(&st, &su, lev, &af, &w, opts->bending,
			   opts->samples > 0 ? (size_t)opts->samples >> (2 * lev) : su.lev[lev].nmask);
		it = lbfgs(&st, opts->iterations, 0.5 * su.lev[lev].vox, 0.001 * su.lev[lev].vox);
		stage_release(&st);
		if (it < 0) {
			sul_err_set(err, SUL_ERR_INPUT, "the images stopped overlapping during the non-linear registration");
			goto out;
		}
		w.iterations += it;
	}
	/* The final MI on the affine's polish grid, comparable to its. */
	stage_init(&st, &su, 0, &af, &w, 0, POLISH_VOXELS);
	w.mi = -objective(&st, NULL);
	stage_release(&st);
	jacobian_check(&su.lev[0], &w);
	*out = w;
	memset(&w, 0, sizeof(w));
	ret = 0;
out:
	sul_warp_release(&w);
	reg_setup_release(&su);
	return ret;
}
