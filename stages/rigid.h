/*
 * rigid.h - rigid (6 degrees of freedom) and affine (12) registration of
 * one volume to another by Mattes mutual information, and resampling.  Not
 * a kind: the `coregister` and `atlas` kinds and tests use it.
 *
 * Everything happens in world coordinates (each volume's ijk_to_xyz), so the
 * two volumes may have different grids, voxel sizes and orientations.  The
 * transform maps points of the fixed (reference) volume to the moving one:
 *
 *   x_moving = R (x_fixed - c) + c + t,   R = Rz(rz) Ry(ry) Rx(rx)
 *
 * with c the center of the fixed volume's grid.  The metric is Mattes et al.
 * (2003): a joint histogram with a zero-order window on the fixed intensity
 * and a cubic B-spline Parzen window on the moving one, whose analytic
 * derivative (with the exact derivative of the trilinear interpolant of the
 * moving image) gives the gradient.  Optimisation is regular-step gradient
 * ascent over a Gaussian pyramid, on random voxel samples drawn afresh each
 * iteration (seeded: deterministic), then a quasi-Newton (BFGS) polish on
 * a fixed, regular grid of about 60,000 masked voxels of the finest
 * level, so that the result is limited neither by sampling noise nor by the
 * zigzags of a fixed-step method.
 *
 * Affine registration runs the rigid optimisation (from the centres of mass
 * on each other), then the same with the 12 parameters of a general
 * matrix and translation, x_moving = M (x_fixed - c) + c + t.  Neither
 * does deformable registration or searches for a coarse initial alignment
 * (rigid assumes images of one session, within a few centimetres and ~20
 * degrees; affine a head and a template of similar extent), and neither
 * uses threads (the engine parallelises across stages).
 */
#ifndef SUL_RIGID_H
#define SUL_RIGID_H

#include <stdint.h>

#include "../engine/err.h"
#include "volume.h"

struct sul_rigid_opts {
	int bins;          /* histogram bins, >= 8 */
	int levels;        /* pyramid levels, >= 1: each halves the resolution */
	int iterations;    /* at most, per level */
	long samples;      /* fixed voxels per iteration; 0: all */
	uint64_t seed;
};

#define SUL_RIGID_OPTS_INIT { 32, 3, 200, 10000, 1 }

struct sul_rigid {
	double p[6];       /* rx, ry, rz (radians), tx, ty, tz (mm) */
	double center[3];  /* c, world mm */
	double mi;         /* mutual information at p, in nats, over the final polish's
			      regular grid (about 60,000 voxels) */
	int iterations;    /* taken, all levels together */
};

/* The identity about the center of fixed's grid. */
void sul_rigid_identity(struct sul_rigid *t, const struct sul_volume *fixed);

/* R of the transform's angles, row-major. */
void sul_rigid_matrix(const double p[6], double r[3][3]);

/* y = T(x), world mm. */
void sul_rigid_apply(const struct sul_rigid *t, const double x[3], double y[3]);

/*
 * Finds the transform that maximises the mutual information of fixed and
 * moving, starting from the identity.  The samples are fixed's nonzero
 * voxels.  Fails (SUL_ERR_INPUT) when either volume has no nonzero voxel
 * or is constant, and when the volumes do not overlap; the caller adds
 * the file names.  out is written only on success.
 */
int sul_rigid_register(const struct sul_volume *fixed, const struct sul_volume *moving,
		       const struct sul_rigid_opts *opts, struct sul_rigid *out, struct sul_err *err);

/* Mutual information (nats) of fixed's nonzero voxels with moving at t. */
double sul_rigid_mi(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_rigid *t,
		    int bins);

/* Resamples moving onto fixed's grid through t (trilinear; 0 outside
 * moving).  out gets fixed's geometry; the caller releases it. */
void sul_rigid_resample(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_rigid *t,
			struct sul_volume *out);

struct sul_affine {
	double a[3][3];    /* M, row-major */
	double t[3];       /* mm */
	double center[3];  /* c, world mm: the center of the fixed grid */
	double mi;         /* as sul_rigid's */
	int iterations;    /* the rigid and the affine passes together */
};

/*
 * Finds the affine transform that maximises the mutual information of
 * fixed and moving: rigid from the centres of mass on each other, then
 * affine.  Fails as sul_rigid_register does.
 */
int sul_affine_register(const struct sul_volume *fixed, const struct sul_volume *moving,
			const struct sul_rigid_opts *opts, struct sul_affine *out, struct sul_err *err);

/* Mutual information (nats) of fixed's nonzero voxels with moving at t. */
double sul_affine_mi(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_affine *t,
		     int bins);

/* y = T(x), world mm. */
void sul_affine_apply(const struct sul_affine *t, const double x[3], double y[3]);
void sul_affine_from_rigid(const struct sul_rigid *r, struct sul_affine *out);

/* Resamples moving onto fixed's grid through t: trilinear, or with nearest
 * the nearest voxel's value (labels); 0 outside moving. */
void sul_affine_resample(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_affine *t,
			 int nearest, struct sul_volume *out);

#endif
