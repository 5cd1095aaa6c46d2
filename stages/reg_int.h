/*
 * reg_int.h - what the linear registration (rigid.c) shares with the
 * non-linear one (warp.c): the image pyramid, the Mattes histogram, the
 * trilinear interpolant and the affine pass that a warp starts from.
 * Nothing else includes it; the public interfaces are rigid.h and warp.h.
 */
#ifndef SUL_REG_INT_H
#define SUL_REG_INT_H

#include "rigid.h"
#include "rng.h"

#include <stddef.h>
#include <stdint.h>

/* The moving intensity's Parzen window reaches two bins either side. */
#define PAD 2
/* About the most voxels the final BFGS polish evaluates (see rigid.c's
 * build_polish_grid), and the final MI of every model with it. */
#define POLISH_VOXELS 60000
/* Fewer valid samples than this: the images do not overlap. */
#define MIN_VALID 16

/* One pyramid level of both volumes. */
struct level {
	struct sul_volume fix, mov;   /* owned, except the finest level's (the caller's) */
	int borrowed;
	double fix_a[3][4];           /* fixed ijk -> world */
	double mov_inv[3][4];         /* world -> moving ijk */
	uint32_t *mask;               /* fixed's nonzero voxels; owned */
	size_t nmask;
	double vox;                   /* fixed voxel size (geometric mean), mm */
};

/* The histogram's intensity mapping and its storage. */
struct metric {
	int bins;
	double flo, fbin;   /* fixed: bin = (v - flo) / fbin */
	double mlo, mbin;   /* moving: term = (v - mlo) / mbin + PAD */
	double *joint;      /* bins * bins counts, fixed-major */
	double *djoint;     /* bins * bins * np derivatives of the counts */
	double *pm;         /* bins: moving marginal counts */
	double *lr;         /* bins * bins: log(joint / moving marginal), where joint > 0 */
};

/* The pyramid, the metric and the samplers, prepared once for the passes
 * of one registration (rigid; affine; affine then a warp). */
struct setup {
	const struct sul_rigid_opts *opts;
	int nlev;
	struct level *lev;            /* lev[0] the finest: the inputs themselves */
	struct metric m;
	int metric_ready;
	struct sul_rng rng;
	uint32_t *draw;
	uint32_t *polish_mask;   /* built when the first pass reaches the finest level */
	size_t polish_n;
	double center[3], radius;
};

/* Builds the pyramid and the metric; fails as sul_rigid_register does.
 * reg_setup_release releases it, also after a failure. */
int reg_setup_init(struct setup *su, const struct sul_volume *fixed, const struct sul_volume *moving,
		   const struct sul_rigid_opts *opts, struct sul_err *err);
void reg_setup_release(struct setup *su);

/* sul_affine_register on a prepared setup. */
int reg_affine_pass(struct setup *su, struct sul_affine *out, struct sul_err *err);

/* The non-linear registration's objective (warp.c), -MI + bending *
 * roughness, at w on level lev of su over at most max_samples voxels, and
 * its gradient with respect to w->coef (3 per control point) when grad is
 * not NULL: for the tests, which check it against finite differences. */
struct sul_warp;
double reg_warp_objective(struct setup *su, int lev, const struct sul_affine *af, struct sul_warp *w,
			  size_t max_samples, double bending, double *grad);

/* A regular grid of l's masked fixed voxels, at most about max of them
 * (every step-th voxel along each axis); *n gets how many.  Allocated. */
uint32_t *reg_grid_samples(const struct level *l, size_t max, size_t *n);

/* The trilinear interpolant at voxel coordinates u and its exact
 * derivative along each axis (voxel units): out[0] value, out[1..3]
 * derivatives.  0 (and out untouched) when u is outside the grid. */
int reg_interp_grad(const float *v, const int64_t n[3], const double u[3], double out[4]);
/* The interpolant alone, the same numbers; 0 outside the grid. */
double reg_interp_value(const float *v, const int64_t n[3], const double u[3]);

/* The mutual information (nats) of m's joint histogram of valid samples
 * (also filling m->pm) and, when lr is not NULL, lr[f * bins + k] =
 * log(joint / pm[k]) where the joint is > 0: with a fixed-intensity window
 * that does not move, dMI/dp = sum over bins of djoint/dp * lr / valid
 * (Mattes 2003). */
double reg_histogram_mi(const struct metric *m, size_t valid, double *lr);

/* Resampling's value at voxel coordinates u of v (n its size): the
 * trilinear interpolant, or with nearest the nearest voxel's value
 * (labels); 0 outside v. */
float reg_sample(const struct sul_volume *v, const int64_t n[3], const double u[3], int nearest);

/* The cubic B-spline and its derivative. */
double reg_bspline3(double u);
double reg_bspline3_d(double u);

#endif
