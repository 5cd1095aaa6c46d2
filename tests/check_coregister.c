/*
 * check_coregister.c - rigid registration (stages/rigid.c) on a synthetic
 * head with a known motion, and the `coregister` kind run directly.
 *
 * The phantom is analytic (smooth-edged ellipsoids), so the moving image is
 * the phantom evaluated through the inverse of the true transform on its own
 * grid: no resampling error is baked into the truth.  Its T2 contrast is a
 * non-monotonic remapping of the T1 one, which correlation cannot align.
 */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../stages/reg_int.h"
#include "../stages/rigid.h"
#include "../stages/tsv.h"
#include "../stages/volume.h"
#include "../stages/warp.h"

#include <math.h>
#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const struct sul_kind sul_kind_coregister;


enum { T1, T2, FLAIR };

struct blob {
	double c[3], a[3];
	double v[3];  /* T1, T2, FLAIR */
};

/* Painted in order: scalp, CSF, gray matter, white matter, ventricles, and
 * two off-center structures so that no rotation is a symmetry. */
static const struct blob blobs[] = {
	{ { 0, 0, 0 }, { 52, 56, 47 }, { 60, 50, 40 } },
	{ { 0, 0, 0 }, { 47, 51, 42 }, { 15, 95, 20 } },
	{ { 0, -2, 2 }, { 43, 47, 38 }, { 75, 70, 80 } },
	{ { 0, 0, 4 }, { 33, 38, 27 }, { 110, 40, 60 } },
	{ { -8, 4, 6 }, { 5, 14, 7 }, { 25, 120, 15 } },
	{ { 9, 3, 5 }, { 4, 12, 6 }, { 25, 120, 15 } },
	{ { 16, -22, -8 }, { 8, 6, 5 }, { 85, 60, 100 } },
	{ { -20, 18, 10 }, { 6, 9, 5 }, { 50, 90, 110 } },
};

static double phantom(const double x[3], int contrast)
{
	const double width = 1.5;  /* mm: edges a voxel or so wide */
	double v = 0;
	size_t b;

	for (b = 0; b < sizeof(blobs) / sizeof(blobs[0]); b++) {
		const struct blob *e = &blobs[b];
		double s = 0, mean_a = cbrt(e->a[0] * e->a[1] * e->a[2]), w;
		int a;
		for (a = 0; a < 3; a++)
			s += (x[a] - e->c[a]) * (x[a] - e->c[a]) / (e->a[a] * e->a[a]);
		s = sqrt(s);
		w = 0.5 * (1 - tanh((s - 1) * mean_a / width));
		if (b == 0 && w < 1e-3)
			return 0;  /* a true zero background, as after skull-stripping tools' padding */
		v = v * (1 - w) + e->v[contrast] * w;
	}
	return v;
}

/* An axis-aligned grid of n^3 voxels of size vox, centered on offset. */
static void make_grid(struct sul_volume *v, int64_t n, double vox, const double offset[3])
{
	int a;

	memset(v, 0, sizeof(*v));
	v->nx = v->ny = v->nz = n;
	v->data = sul_xcalloc((size_t)(n * n * n), sizeof(float));
	for (a = 0; a < 3; a++) {
		v->pixdim[a] = vox;
		v->ijk_to_xyz[a][a] = vox;
		v->ijk_to_xyz[a][3] = -(double)(n - 1) / 2 * vox + offset[a];
	}
	v->ijk_to_xyz[3][3] = 1;
	v->xform_code = NIFTI_XFORM_SCANNER_ANAT;
}

static void voxel_world(const struct sul_volume *v, int64_t i, double x[3])
{
	double ijk[3] = { (double)(i % v->nx), (double)((i / v->nx) % v->ny), (double)(i / v->nx / v->ny) };
	int a;

	for (a = 0; a < 3; a++)
		x[a] = v->ijk_to_xyz[a][0] * ijk[0] + v->ijk_to_xyz[a][1] * ijk[1] + v->ijk_to_xyz[a][2] * ijk[2]
		       + v->ijk_to_xyz[a][3];
}

/* v(y) = phantom(T^-1(y)): the anatomy moved by T (NULL: not moved). */
static void fill(struct sul_volume *v, int contrast, const struct sul_rigid *t)
{
	double r[3][3];
	int64_t i;

	if (t)
		sul_rigid_matrix(t->p, r);
	for (i = 0; i < v->nx * v->ny * v->nz; i++) {
		double y[3], x[3], d[3];
		int a;
		voxel_world(v, i, y);
		if (t) {
			for (a = 0; a < 3; a++)
				d[a] = y[a] - t->center[a] - t->p[3 + a];
			for (a = 0; a < 3; a++)  /* R^T d + c */
				x[a] = r[0][a] * d[0] + r[1][a] * d[1] + r[2][a] * d[2] + t->center[a];
		} else {
			memcpy(x, y, sizeof(x));
		}
		v->data[i] = (float)phantom(x, contrast);
	}
}

/* Mean |T_est(x) - T_true(x)| over the reference's nonzero voxels, mm. */
static double residual(const struct sul_volume *ref, const struct sul_rigid *est, const struct sul_rigid *truth)
{
	double sum = 0;
	int64_t i, n = 0;

	for (i = 0; i < ref->nx * ref->ny * ref->nz; i++) {
		double x[3], a[3], b[3];
		if (ref->data[i] == 0)
			continue;
		voxel_world(ref, i, x);
		sul_rigid_apply(est, x, a);
		sul_rigid_apply(truth, x, b);
		sum += sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) + (a[2] - b[2]) * (a[2] - b[2]));
		n++;
	}
	return sum / (double)n;
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const double no_offset[3] = { 0, 0, 0 };

/* Mean |a - b| over a's nonzero voxels. */
static double mean_abs_diff(const struct sul_volume *a, const struct sul_volume *b)
{
	double sum = 0;
	int64_t i, n = 0;

	for (i = 0; i < a->nx * a->ny * a->nz; i++)
		if (a->data[i] != 0) {
			sum += fabs(a->data[i] - b->data[i]);
			n++;
		}
	return sum / (double)n;
}

START_TEST(recovers_a_known_motion_across_grids)
{
	/* T1 on 2 mm voxels; T2 on 2.5 mm voxels with another origin, moved
	 * by 3-5 degrees about each axis and 2-4 mm along each. */
	const double offset[3] = { 1.3, -0.7, 0.9 };
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, t2, t2_on_t1, resampled, unmoved;
	struct sul_rigid truth, est;
	double t0, elapsed, res, err_est, err_none;

	make_grid(&t1, 64, 2.0, no_offset);
	fill(&t1, T1, NULL);
	make_grid(&t2, 52, 2.5, offset);
	sul_rigid_identity(&truth, &t1);
	truth.p[0] = 4 * M_PI / 180;
	truth.p[1] = -3 * M_PI / 180;
	truth.p[2] = 5 * M_PI / 180;
	truth.p[3] = 3;
	truth.p[4] = -2.5;
	truth.p[5] = 3.5;
	fill(&t2, T2, &truth);
	opts.samples = 4000;
	t0 = seconds();
	ck_assert_msg(sul_rigid_register(&t1, &t2, &opts, &est, &err) == 0, "%s", err.msg);
	elapsed = seconds() - t0;
	res = residual(&t1, &est, &truth);
	printf("coregister: 64^3 2 mm T1 <- 52^3 2.5 mm T2: residual %.4f mm (%.4f voxel), %.2f s, %d iterations, "
	       "MI %.4f, rotation %.3f %.3f %.3f deg, translation %.3f %.3f %.3f mm\n",
	       res, res / 2, elapsed, est.iterations, est.mi, est.p[0] * 180 / M_PI, est.p[1] * 180 / M_PI,
	       est.p[2] * 180 / M_PI, est.p[3], est.p[4], est.p[5]);
	fflush(stdout);
	ck_assert_msg(res < 0.1, "residual %.4f mm: expected below 0.1 mm at 2 mm voxels", res);
	ck_assert_double_gt(est.mi, sul_rigid_mi(&t1, &t2, &truth, 32) - 1e-3);

	/* Resampled through the estimate, the T2 lies on the T1's anatomy. */
	make_grid(&t2_on_t1, 64, 2.0, no_offset);
	fill(&t2_on_t1, T2, NULL);
	sul_rigid_resample(&t1, &t2, &est, &resampled);
	ck_assert_int_eq(resampled.nx, 64);
	ck_assert_double_eq(resampled.ijk_to_xyz[0][3], t1.ijk_to_xyz[0][3]);
	err_est = mean_abs_diff(&t2_on_t1, &resampled);
	sul_volume_release(&resampled);
	sul_rigid_identity(&est, &t1);
	sul_rigid_resample(&t1, &t2, &est, &unmoved);
	err_none = mean_abs_diff(&t2_on_t1, &unmoved);
	printf("coregister: resampled T2 vs true T2 on the T1 grid: mean |diff| %.3f (unregistered: %.3f)\n", err_est,
	       err_none);
	fflush(stdout);
	ck_assert_msg(err_est < 0.3 * err_none, "resampled error %.3f vs %.3f unregistered", err_est, err_none);
	sul_volume_release(&unmoved);
	sul_volume_release(&t2_on_t1);
	sul_volume_release(&t1);
	sul_volume_release(&t2);
}
END_TEST

/* v(y) = phantom(T^-1(y)) for an affine T: the anatomy scaled, sheared and moved. */
static void fill_affine(struct sul_volume *v, int contrast, const struct sul_affine *t)
{
	double inv[3][3], det;
	const double(*m)[3] = t->a;
	int64_t i;
	int a, b;

	det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
	      + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
	for (a = 0; a < 3; a++)
		for (b = 0; b < 3; b++) {
			/* The cofactor of m[b][a] over the determinant. */
			int r0 = (b + 1) % 3, r1 = (b + 2) % 3, c0 = (a + 1) % 3, c1 = (a + 2) % 3;
			inv[a][b] = (m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0]) / det;
		}
	for (i = 0; i < v->nx * v->ny * v->nz; i++) {
		double y[3], x[3], d[3];
		voxel_world(v, i, y);
		for (a = 0; a < 3; a++)
			d[a] = y[a] - t->center[a] - t->t[a];
		for (a = 0; a < 3; a++)
			x[a] = inv[a][0] * d[0] + inv[a][1] * d[1] + inv[a][2] * d[2] + t->center[a];
		v->data[i] = (float)phantom(x, contrast);
	}
}

/* An affine motion (scales of -6% to +9%, shear, rotation, translation),
 * across grids and contrasts: what a template differs from a head by. */
START_TEST(affine_recovers_scaling_and_shear)
{
	const double offset[3] = { 4.0, -3.0, 2.0 };
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, t2, lab, warped;
	struct sul_affine truth, est;
	double r[3][3], sum = 0, sum_none = 0, shape[3][3] = { { 1.09, 0.04, 0 }, { 0, 0.94, 0.05 }, { -0.03, 0, 1.03 } };
	int64_t i, n = 0, agree = 0, inside = 0;
	int a, b, c;

	make_grid(&t1, 64, 2.0, no_offset);
	fill(&t1, T1, NULL);
	make_grid(&t2, 56, 2.5, offset);
	memset(&truth, 0, sizeof(truth));
	{
		double p[6] = { 3 * M_PI / 180, -2 * M_PI / 180, 4 * M_PI / 180, 0, 0, 0 };
		sul_rigid_matrix(p, r);
	}
	for (a = 0; a < 3; a++)
		for (b = 0; b < 3; b++)
			for (c = 0; c < 3; c++)
				truth.a[a][b] += r[a][c] * shape[c][b];
	truth.t[0] = 4;
	truth.t[1] = -3;
	truth.t[2] = 2.5;
	for (a = 0; a < 3; a++)
		truth.center[a] = (t1.ijk_to_xyz[a][a] * 63) / 2 + t1.ijk_to_xyz[a][3];
	fill_affine(&t2, T2, &truth);
	opts.samples = 4000;
	ck_assert_msg(sul_affine_register(&t1, &t2, &opts, &est, &err) == 0, "%s", err.msg);
	for (i = 0; i < t1.nx * t1.ny * t1.nz; i++) {
		double x[3], ya[3], yb[3];
		if (t1.data[i] == 0)
			continue;
		voxel_world(&t1, i, x);
		sul_affine_apply(&est, x, ya);
		sul_affine_apply(&truth, x, yb);
		sum += sqrt((ya[0] - yb[0]) * (ya[0] - yb[0]) + (ya[1] - yb[1]) * (ya[1] - yb[1]) + (ya[2] - yb[2]) * (ya[2] - yb[2]));
		sum_none += sqrt((x[0] - yb[0]) * (x[0] - yb[0]) + (x[1] - yb[1]) * (x[1] - yb[1]) + (x[2] - yb[2]) * (x[2] - yb[2]));
		n++;
	}
	printf("affine: 64^3 2 mm <- 56^3 2.5 mm, scaled and sheared: residual %.3f mm (unregistered: %.3f), MI %.4f "
	       "(truth's %.4f), %d iterations\n", sum / (double)n, sum_none / (double)n, est.mi,
	       sul_affine_mi(&t1, &t2, &truth, 32), est.iterations);
	fflush(stdout);
	/* 0.52 mm: the MI of these images is higher (1.672) at a 1% smaller
	 * scale than at the truth (1.656), trilinear interpolation of the
	 * 2.5 mm image blurring its edges; a quarter of a voxel. */
	ck_assert_msg(sum / (double)n < 0.75, "affine residual %.3f mm: expected under 0.75 mm at 2-2.5 mm voxels",
		      sum / (double)n);
	ck_assert_msg(sum / (double)n < sum_none / (double)n / 10, "affine %.3f mm vs unregistered %.3f mm",
		      sum / (double)n, sum_none / (double)n);
	/* Labels go through nearest-neighbour resampling unchanged in kind. */
	make_grid(&lab, 56, 2.5, offset);
	for (i = 0; i < lab.nx * lab.ny * lab.nz; i++)
		lab.data[i] = t2.data[i] > 0 ? (float)(1 + (i % 3)) : 0;
	sul_affine_resample(&t1, &lab, &est, 1, &warped);
	for (i = 0; i < warped.nx * warped.ny * warped.nz; i++) {
		float v = warped.data[i];
		agree += v == 0 || v == 1 || v == 2 || v == 3;
		inside += v != 0;
	}
	ck_assert_int_eq(agree, warped.nx * warped.ny * warped.nz);
	ck_assert_int_gt(inside, 1000);
	sul_volume_release(&warped);
	sul_volume_release(&lab);
	sul_volume_release(&t1);
	sul_volume_release(&t2);
}
END_TEST

static double uniform01(uint64_t *lcg)
{
	*lcg = *lcg * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*lcg >> 11) / 9007199254740992.0;
}

/* Smooth random bumps, +-30%: a texture with no period that registration
 * could lock onto a period away. */
static double texture(const double x[3])
{
	static double c[200][4];
	static int ready;
	double s = 0;
	int k, a;

	if (!ready) {
		uint64_t lcg = 777;
		for (k = 0; k < 200; k++)
			for (a = 0; a < 4; a++)
				c[k][a] = uniform01(&lcg);
		ready = 1;
	}
	for (k = 0; k < 200; k++) {
		double r2 = 0;
		for (a = 0; a < 3; a++)
			r2 += (x[a] - (c[k][a] * 100 - 50)) * (x[a] - (c[k][a] * 100 - 50));
		if (r2 < 400)
			s += (c[k][3] - 0.5) * exp(-r2 / (2 * 5.0 * 5.0));
	}
	return s;
}

/* A known warp over v's grid: the identity affine and control points every
 * spacing mm moved by up to amp mm, smoothly (sines of 60-80 mm), or with
 * rough at random. */
static void known_warp(const struct sul_volume *v, double spacing, double amp, int rough, uint64_t seed,
		       struct sul_warp *w)
{
	struct sul_affine id;
	int64_t i;
	int a;

	memset(&id, 0, sizeof(id));
	for (a = 0; a < 3; a++)
		id.a[a][a] = 1;
	sul_warp_from_affine(&id, v, spacing, w);
	for (i = 0; i < w->n[0] * w->n[1] * w->n[2]; i++) {
		const double k[3] = { (double)(i % w->n[0]), (double)(i / w->n[0] % w->n[1]), (double)(i / w->n[0] / w->n[1]) };
		double p[3];
		for (a = 0; a < 3; a++)
			p[a] = w->ctl_to_xyz[a][0] * k[0] + w->ctl_to_xyz[a][1] * k[1] + w->ctl_to_xyz[a][2] * k[2]
			       + w->ctl_to_xyz[a][3];
		for (a = 0; a < 3; a++)
			w->coef[3 * i + a] = (float)(rough ? amp * (2 * uniform01(&seed) - 1)
						     : amp * sin(2 * M_PI * p[(a + 1) % 3] / (60 + 10 * a) + a));
	}
}

/*
 * v(y) = phantom(x) with a texture inside the tissues (so that a
 * deformation shows everywhere: the phantom's tissues are uniform), where
 * W(x) = y; W NULL: x = y.
 */
static void fill_warped(struct sul_volume *v, int contrast, const struct sul_warp *w)
{
	int64_t i;

	for (i = 0; i < v->nx * v->ny * v->nz; i++) {
		double y[3], x[3];
		voxel_world(v, i, y);
		if (!w || sul_warp_invert(w, y, x))
			memcpy(x, y, sizeof(x));
		v->data[i] = (float)(phantom(x, contrast) * (1 + texture(x)));
	}
}

START_TEST(warp_gradient_matches_finite_differences)
{
	const double offset[3] = { 1.0, -2.0, 1.5 };
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, t2;
	struct sul_warp truth, w;
	struct setup su;
	double *grad, f, worst = 0, gmax = 0;
	size_t np, i, k, checked = 0;

	make_grid(&t1, 48, 2.5, no_offset);
	fill_warped(&t1, T1, NULL);
	known_warp(&t1, 30.0, 3.0, 0, 5, &truth);
	make_grid(&t2, 44, 2.75, offset);
	fill_warped(&t2, T2, &truth);
	opts.levels = 1;
	ck_assert_msg(reg_setup_init(&su, &t1, &t2, &opts, &err) == 0, "%s", err.msg);
	known_warp(&t1, 20.0, 1.0, 1, 12345, &w);  /* a point somewhere: a random field of about a millimetre */
	np = (size_t)(w.n[0] * w.n[1] * w.n[2] * 3);
	grad = sul_xmalloc(np * sizeof(double));
	f = reg_warp_objective(&su, 0, &w.affine, &w, 30000, 0.05, grad);
	ck_assert(isfinite(f));
	for (i = 0; i < np; i++)
		gmax = fmax(gmax, fabs(grad[i]));
	/* Every coefficient with at least half the largest gradient, against central differences
	 * (h = 0.02 mm: the objective is smooth at that scale). */
	for (k = 0; k < np; k++) {
		const float keep = w.coef[k], h = 0.02f;
		double fp, fm, fd;
		if (fabs(grad[k]) < 0.5 * gmax)
			continue;
		w.coef[k] = keep + h;
		fp = reg_warp_objective(&su, 0, &w.affine, &w, 30000, 0.05, NULL);
		w.coef[k] = keep - h;
		fm = reg_warp_objective(&su, 0, &w.affine, &w, 30000, 0.05, NULL);
		w.coef[k] = keep;
		fd = (fp - fm) / (double)((keep + h) - (keep - h));
		worst = fmax(worst, fabs(fd - grad[k]) / gmax);
		checked++;
	}
	printf("warp gradient: %zu of %zu coefficients checked, worst |analytic - finite difference| %.4f of the "
	       "largest gradient\n", checked, np, worst);
	fflush(stdout);
	ck_assert_uint_gt(checked, 10);
	ck_assert_msg(worst < 0.03, "the warp's gradient is off by %.3f of its largest component", worst);
	free(grad);
	sul_warp_release(&w);
	sul_warp_release(&truth);
	reg_setup_release(&su);
	sul_volume_release(&t1);
	sul_volume_release(&t2);
}
END_TEST

/* Mean |a(x) - b(x)| over v's voxels brighter than min, mm. */
static double warp_distance(const struct sul_volume *v, float min, const struct sul_warp *a, const struct sul_affine *aa,
			    const struct sul_warp *b)
{
	double sum = 0;
	int64_t i, n = 0;

	for (i = 0; i < v->nx * v->ny * v->nz; i++) {
		double x[3], ya[3], yb[3];
		if (v->data[i] < min)
			continue;
		voxel_world(v, i, x);
		if (a)
			sul_warp_apply(a, x, ya);
		else
			sul_affine_apply(aa, x, ya);
		sul_warp_apply(b, x, yb);
		sum += sqrt((ya[0] - yb[0]) * (ya[0] - yb[0]) + (ya[1] - yb[1]) * (ya[1] - yb[1]) + (ya[2] - yb[2]) * (ya[2] - yb[2]));
		n++;
	}
	return sum / (double)n;
}

START_TEST(warp_recovers_a_known_deformation)
{
	const double offset[3] = { 2.0, -1.0, 3.0 };
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_warp_opts wo = SUL_WARP_OPTS_INIT;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, t2, lab, warped;
	struct sul_warp truth, w, back;
	struct sul_affine id;
	double res_w, res_a, res_none, worst_inv = 0;
	char dir[] = "/tmp/sulcus-warp-XXXXXX", *prefix;
	int64_t i, agree = 0;
	int a;

	make_grid(&t1, 64, 2.0, no_offset);
	fill_warped(&t1, T1, NULL);
	known_warp(&t1, 24.0, 4.0, 0, 7, &truth);
	make_grid(&t2, 60, 2.2, offset);
	fill_warped(&t2, T1, &truth);
	opts.samples = 4000;
	wo.spacing_mm = 12;
	wo.stages = 2;
	wo.samples = 60000;
	ck_assert_msg(sul_warp_register(&t1, &t2, &opts, &wo, &w, &err) == 0, "%s", err.msg);
	memset(&id, 0, sizeof(id));
	for (a = 0; a < 3; a++)
		id.a[a][a] = 1;
	res_w = warp_distance(&t1, 30, &w, NULL, &truth);
	res_a = warp_distance(&t1, 30, NULL, &w.affine, &truth);
	res_none = warp_distance(&t1, 30, NULL, &id, &truth);
	printf("warp: 64^3 2 mm <- 60^3 2.2 mm, a known warp of up to 4 mm: residual %.3f mm (affine alone %.3f, none "
	       "%.3f), MI %.4f, Jacobian min %.3f, %.4f folded, %d iterations\n", res_w, res_a, res_none, w.mi, w.jac_min,
	       w.folded, w.iterations);
	fflush(stdout);
	/* 0.73 mm against 2.18 for the affine: the rest is the metric's own
	 * bias at 2-2.2 mm voxels, as in the affine test (the MI through the
	 * estimate is higher than through the truth). */
	ck_assert_msg(res_w < 0.5 * res_a && res_w < 1.0, "warp residual %.3f mm, affine %.3f mm: expected under half the "
		      "affine's and half a voxel", res_w, res_a);
	ck_assert_msg(w.jac_min > 0 && w.folded == 0, "the warp folds: Jacobian min %.3f", w.jac_min);
	/* The inverse, and the warp written and read back. */
	for (i = 0; i < t1.nx * t1.ny * t1.nz; i += 97) {
		double x[3], y[3], xb[3], d = 0;
		voxel_world(&t1, i, x);
		sul_warp_apply(&w, x, y);
		ck_assert_int_eq(sul_warp_invert(&w, y, xb), 0);
		for (a = 0; a < 3; a++)
			d += (xb[a] - x[a]) * (xb[a] - x[a]);
		worst_inv = fmax(worst_inv, sqrt(d));
	}
	ck_assert_msg(worst_inv < 0.01, "inverse off by %.4f mm", worst_inv);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	prefix = sul_xasprintf("%s/warp", dir);
	ck_assert_msg(sul_warp_write(prefix, &w, &err) == 0, "%s", err.msg);
	ck_assert_msg(sul_warp_read(prefix, &w.affine, &back, &err) == 0, "%s", err.msg);
	ck_assert_msg(warp_distance(&t1, 0, &back, NULL, &w) < 1e-5, "the warp read back differs");
	/* Resampling (row by row) is the warp applied voxel by voxel. */
	sul_warp_resample(&t1, &t2, &w, 0, &warped);
	for (i = 0; i < t1.nx * t1.ny * t1.nz; i += 13) {
		const int64_t mn[3] = { t2.nx, t2.ny, t2.nz };
		double x[3], y[3], u[3], inv[3][4];
		voxel_world(&t1, i, x);
		sul_warp_apply(&w, x, y);
		sul_affine_inverse(t2.ijk_to_xyz, inv);
		for (a = 0; a < 3; a++)
			u[a] = inv[a][0] * y[0] + inv[a][1] * y[1] + inv[a][2] * y[2] + inv[a][3];
		ck_assert_msg(fabs(warped.data[i] - reg_interp_value(t2.data, mn, u)) < 1e-3, "voxel %lld: resampled %g, "
			      "applied %g", (long long)i, warped.data[i], reg_interp_value(t2.data, mn, u));
	}
	sul_volume_release(&warped);
	/* Labels go through unchanged in kind. */
	make_grid(&lab, 60, 2.2, offset);
	for (i = 0; i < lab.nx * lab.ny * lab.nz; i++)
		lab.data[i] = t2.data[i] > 0 ? (float)(1 + (i % 3)) : 0;
	sul_warp_resample(&t1, &lab, &w, 1, &warped);
	for (i = 0; i < warped.nx * warped.ny * warped.nz; i++) {
		float v = warped.data[i];
		agree += v == 0 || v == 1 || v == 2 || v == 3;
	}
	ck_assert_int_eq(agree, warped.nx * warped.ny * warped.nz);
	/* A missing field file is named. */
	{
		char *z = sul_xasprintf("%s_z.nii.gz", prefix);
		struct sul_warp none;
		ck_assert_int_eq(unlink(z), 0);
		ck_assert_int_eq(sul_warp_read(prefix, &w.affine, &none, &err), -1);
		ck_assert_msg(strstr(err.msg, z) != NULL, "%s", err.msg);
		free(z);
	}
	sul_rmtree(dir, &err);
	free(prefix);
	sul_warp_release(&truth);
	sul_warp_release(&w);
	sul_warp_release(&back);
	sul_volume_release(&warped);
	sul_volume_release(&lab);
	sul_volume_release(&t1);
	sul_volume_release(&t2);
}
END_TEST

START_TEST(unmoved_images_stay_put)
{
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, flair;
	struct sul_rigid truth, est;
	double res;

	make_grid(&t1, 48, 2.5, no_offset);
	fill(&t1, T1, NULL);
	make_grid(&flair, 48, 2.5, no_offset);
	fill(&flair, FLAIR, NULL);
	opts.samples = 3000;
	ck_assert_msg(sul_rigid_register(&t1, &flair, &opts, &est, &err) == 0, "%s", err.msg);
	sul_rigid_identity(&truth, &t1);
	res = residual(&t1, &est, &truth);
	printf("coregister: identity, 48^3 2.5 mm: residual %.5f mm\n", res);
	fflush(stdout);
	ck_assert_msg(res < 0.02, "residual %.5f mm: expected below 0.02 mm", res);
	sul_volume_release(&t1);
	sul_volume_release(&flair);
}
END_TEST

START_TEST(same_seed_same_transform)
{
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, t2;
	struct sul_rigid truth, a, b, c;

	make_grid(&t1, 40, 3.0, no_offset);
	fill(&t1, T1, NULL);
	make_grid(&t2, 40, 3.0, no_offset);
	sul_rigid_identity(&truth, &t1);
	truth.p[2] = 3 * M_PI / 180;
	truth.p[3] = 2;
	fill(&t2, T2, &truth);
	opts.samples = 1000;
	opts.levels = 2;
	ck_assert_int_eq(sul_rigid_register(&t1, &t2, &opts, &a, &err), 0);
	ck_assert_int_eq(sul_rigid_register(&t1, &t2, &opts, &b, &err), 0);
	ck_assert_int_eq(memcmp(a.p, b.p, sizeof(a.p)), 0);
	ck_assert_int_eq(a.iterations, b.iterations);
	/* The seed is used: another one takes another path. */
	opts.seed = 2;
	ck_assert_int_eq(sul_rigid_register(&t1, &t2, &opts, &c, &err), 0);
	ck_assert_int_ne(memcmp(a.p, c.p, sizeof(a.p)), 0);
	sul_volume_release(&t1);
	sul_volume_release(&t2);
}
END_TEST

START_TEST(empty_or_disjoint_images_fail)
{
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, zero, far;
	const double away[3] = { 500, 0, 0 };
	struct sul_rigid est;

	make_grid(&t1, 32, 4.0, no_offset);
	fill(&t1, T1, NULL);
	make_grid(&zero, 32, 4.0, no_offset);
	ck_assert_int_eq(sul_rigid_register(&t1, &zero, &opts, &est, &err), -1);
	ck_assert_str_eq(err.msg, "moving image is empty: expected nonzero voxels of more than one value");
	ck_assert_int_eq(sul_rigid_register(&zero, &t1, &opts, &est, &err), -1);
	ck_assert_str_eq(err.msg, "reference image is empty: expected nonzero voxels of more than one value");
	make_grid(&far, 32, 4.0, away);
	fill(&far, T2, NULL);
	for (int64_t i = 0; i < 32 * 32 * 32; i++)
		far.data[i] = (float)(i % 7);
	ck_assert_int_eq(sul_rigid_register(&t1, &far, &opts, &est, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "the images do not overlap"));
	sul_volume_release(&t1);
	sul_volume_release(&zero);
	sul_volume_release(&far);
}
END_TEST

/* --- the kind ---------------------------------------------------------------- */

struct run {
	struct sul_input inputs[1];
	struct sul_stage_ctx ctx;
};

/* The kind's parameters as the engine passes them (engine/schema.h). */
static void start_run(struct run *r, const char *in, const char *out, const char *moving)
{
	char moving_set[128];

	memset(r, 0, sizeof(*r));
	snprintf(moving_set, sizeof(moving_set), "moving=%s", moving);
	r->ctx.params = tu_params(&sul_kind_coregister, &r->ctx.nparams, "bins=32", "iterations=100", "levels=2",
				  moving_set, "reference=T1w", "samples=2000", "seed=1", "table=subjects.tsv", NULL);
	r->inputs[0].id = "ingest";
	r->inputs[0].dir = in;
	r->ctx.id = "coreg";
	r->ctx.out = out;
	r->ctx.workdir = in;
	r->ctx.inputs = r->inputs;
	r->ctx.ninputs = 1;
}

static void write_image(const char *dir, const char *sub, const char *mod, int contrast, const struct sul_rigid *t,
			double vox, int64_t n)
{
	struct sul_err err = SUL_ERR_INIT;
	char *anat = sul_xasprintf("%s/%s/anat", dir, sub);
	char *path = sul_xasprintf("%s/%s_%s.nii.gz", anat, sub, mod);
	struct sul_volume v;

	ck_assert_int_eq(sul_mkdirs(anat, &err), 0);
	make_grid(&v, n, vox, no_offset);
	fill(&v, contrast, t);
	ck_assert_int_eq(sul_volume_write(path, &v, SUL_VOL_INT16, &err), 0);
	sul_volume_release(&v);
	free(path);
	free(anat);
}

static char *in_dir;

/* Two subjects in ingest's layout: sub-01's T2 moved, sub-02's not. */
static void kind_setup(void)
{
	struct sul_rigid moved;
	struct sul_volume grid;

	in_dir = tu_tmpdir();
	make_grid(&grid, 40, 3.0, no_offset);
	sul_rigid_identity(&moved, &grid);
	sul_volume_release(&grid);
	moved.p[0] = 3 * M_PI / 180;
	moved.p[4] = 3;
	write_image(in_dir, "sub-01", "T1w", T1, NULL, 3.0, 40);
	write_image(in_dir, "sub-01", "T2w", T2, &moved, 3.5, 36);
	write_image(in_dir, "sub-01", "FLAIR", FLAIR, NULL, 3.0, 40);
	write_image(in_dir, "sub-02", "T1w", T1, NULL, 3.0, 40);
	write_image(in_dir, "sub-02", "T2w", T2, NULL, 3.0, 40);
	write_image(in_dir, "sub-02", "FLAIR", FLAIR, &moved, 3.0, 40);
	tu_write(in_dir, "subjects.tsv",
		 "subject\tgroup\tclass\tT1w\tT2w\tFLAIR\n"
		 "sub-01\tRRMS\t0\tsub-01/anat/sub-01_T1w.nii.gz\tsub-01/anat/sub-01_T2w.nii.gz\tsub-01/anat/sub-01_FLAIR.nii.gz\n"
		 "sub-02\tHC\t2\tsub-02/anat/sub-02_T1w.nii.gz\tsub-02/anat/sub-02_T2w.nii.gz\tsub-02/anat/sub-02_FLAIR.nii.gz\n");
}

static void kind_teardown(void)
{
	tu_cleanup();
}

static char *out_dir(const char *name)
{
	struct sul_err err = SUL_ERR_INIT;
	char *d = sul_xasprintf("%s/%s", in_dir, name);

	ck_assert_int_eq(sul_mkdirs(d, &err), 0);
	return d;
}

START_TEST(kind_writes_resampled_images_and_transforms)
{
	struct sul_err err = SUL_ERR_INIT;
	char *out = out_dir("out"), *path;
	struct sul_buf metrics = SUL_BUF_INIT, in_table = SUL_BUF_INIT, out_table = SUL_BUF_INIT;
	struct sul_volume ref, img;
	struct sul_tsv t;
	struct run r;
	size_t row, col;
	int a, b;

	start_run(&r, in_dir, out, "T2w,FLAIR");
	ck_assert_msg(sul_kind_coregister.run(&r.ctx, &err) == 0, "%s", err.msg);

	/* The same table, and every image it names on its T1w's grid. */
	path = sul_xasprintf("%s/subjects.tsv", out);
	ck_assert_int_eq(sul_read_file(path, &out_table, &err), 0);
	free(path);
	path = sul_xasprintf("%s/subjects.tsv", in_dir);
	ck_assert_int_eq(sul_read_file(path, &in_table, &err), 0);
	free(path);
	ck_assert_str_eq(out_table.buf, in_table.buf);
	path = sul_xasprintf("%s/subjects.tsv", out);
	ck_assert_int_eq(sul_tsv_read(path, &t, &err), 0);
	free(path);
	for (row = 1; row < t.nrows; row++) {
		path = sul_xasprintf("%s/%s", out, sul_tsv_at(&t, row, 3));
		ck_assert_msg(sul_volume_read(path, &ref, &err) == 0, "%s", err.msg);
		free(path);
		for (col = 4; col < 6; col++) {
			path = sul_xasprintf("%s/%s", out, sul_tsv_at(&t, row, col));
			ck_assert_msg(sul_volume_read(path, &img, &err) == 0, "%s", err.msg);
			free(path);
			ck_assert_int_eq(img.nx, ref.nx);
			ck_assert_int_eq(img.ny, ref.ny);
			ck_assert_int_eq(img.nz, ref.nz);
			for (a = 0; a < 4; a++)
				for (b = 0; b < 4; b++)
					ck_assert_double_eq_tol(img.ijk_to_xyz[a][b], ref.ijk_to_xyz[a][b], 1e-5);
			sul_volume_release(&img);
		}
		sul_volume_release(&ref);
	}
	sul_tsv_release(&t);

	/* One transform per subject and moving image; the moved ones found. */
	path = sul_xasprintf("%s/transforms.tsv", out);
	ck_assert_int_eq(sul_tsv_read(path, &t, &err), 0);
	free(path);
	ck_assert_uint_eq(t.nrows, 5);
	ck_assert_uint_eq(t.ncols, 12);
	ck_assert_str_eq(sul_tsv_at(&t, 0, 2), "rx_deg");
	ck_assert_str_eq(sul_tsv_at(&t, 1, 0), "sub-01");
	ck_assert_str_eq(sul_tsv_at(&t, 1, 1), "T2w");
	ck_assert_double_eq_tol(strtod(sul_tsv_at(&t, 1, 2), NULL), 3, 0.1);  /* rx of sub-01's T2w */
	ck_assert_double_eq_tol(strtod(sul_tsv_at(&t, 1, 6), NULL), 3, 0.1);  /* ty */
	ck_assert_double_eq_tol(strtod(sul_tsv_at(&t, 2, 2), NULL), 0, 0.1);  /* sub-01's FLAIR: not moved */
	ck_assert_str_eq(sul_tsv_at(&t, 4, 1), "FLAIR");
	ck_assert_double_eq_tol(strtod(sul_tsv_at(&t, 4, 6), NULL), 3, 0.1);
	ck_assert_double_gt(strtod(sul_tsv_at(&t, 4, 11), NULL), 0.3);        /* MI */
	sul_tsv_release(&t);

	path = sul_xasprintf("%s/metrics.tsv", out);
	ck_assert_int_eq(sul_read_file(path, &metrics, &err), 0);
	free(path);
	ck_assert_ptr_nonnull(strstr(metrics.buf, "mi_sub-01_T2w\t\t"));
	ck_assert_ptr_nonnull(strstr(metrics.buf, "mi_sub-02_FLAIR\t\t"));
	ck_assert_ptr_nonnull(strstr(metrics.buf, "rotation_deg_max\t\t"));
	ck_assert_ptr_nonnull(strstr(metrics.buf, "translation_mm_mean\t\t"));
	sul_buf_release(&metrics);
	sul_buf_release(&in_table);
	sul_buf_release(&out_table);
	free(out);
}
END_TEST

START_TEST(kind_errors_name_the_problem)
{
	struct sul_err err = SUL_ERR_INIT;
	char *out = out_dir("bad"), *out2 = out_dir("bad2"), *out3 = out_dir("bad3"), *img;
	char expect[4096];
	struct sul_volume zero;
	struct run r;

	start_run(&r, in_dir, out, "T2w,PD");
	ck_assert_int_eq(sul_kind_coregister.run(&r.ctx, &err), -1);
	snprintf(expect, sizeof(expect), "%s/subjects.tsv: parameter 'moving': expected columns of the table other "
		 "than the reference, got 'PD'", in_dir);
	ck_assert_str_eq(err.msg, expect);

	img = sul_xasprintf("%s/sub-02/anat/sub-02_T2w.nii.gz", in_dir);
	tu_write(in_dir, "sub-02/anat/sub-02_T2w.nii.gz", "not a nifti");
	start_run(&r, in_dir, out2, "T2w");
	ck_assert_int_eq(sul_kind_coregister.run(&r.ctx, &err), -1);
	snprintf(expect, sizeof(expect), "'%s': not a readable NIfTI image (corrupt or truncated?)", img);
	ck_assert_str_eq(err.msg, expect);

	make_grid(&zero, 40, 3.0, no_offset);
	ck_assert_int_eq(sul_volume_write(img, &zero, SUL_VOL_INT16, &err), 0);
	sul_volume_release(&zero);
	start_run(&r, in_dir, out3, "T2w");
	ck_assert_int_eq(sul_kind_coregister.run(&r.ctx, &err), -1);
	snprintf(expect, sizeof(expect), "subject 'sub-02': registering '%s' to '%s/sub-02/anat/sub-02_T1w.nii.gz': "
		 "moving image is empty: expected nonzero voxels of more than one value", img, in_dir);
	ck_assert_str_eq(err.msg, expect);
	free(img);
	free(out);
	free(out2);
	free(out3);
}
END_TEST

SUL_SUITE(coregister)
{
	Suite *s = suite_create("coregister");
	TCase *reg = tcase_create("rigid");
	TCase *kind = tcase_create("kind");

	tcase_set_timeout(reg, 120);
	tcase_add_test(reg, recovers_a_known_motion_across_grids);
	tcase_add_test(reg, unmoved_images_stay_put);
	tcase_add_test(reg, affine_recovers_scaling_and_shear);
	tcase_add_test(reg, same_seed_same_transform);
	tcase_add_test(reg, empty_or_disjoint_images_fail);
	tcase_add_test(reg, warp_gradient_matches_finite_differences);
	tcase_add_test(reg, warp_recovers_a_known_deformation);
	tcase_set_timeout(kind, 120);
	tcase_add_checked_fixture(kind, kind_setup, kind_teardown);
	tcase_add_test(kind, kind_writes_resampled_images_and_transforms);
	tcase_add_test(kind, kind_errors_name_the_problem);
	suite_add_tcase(s, reg);
	suite_add_tcase(s, kind);
	return s;
}
