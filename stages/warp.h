/*
 * warp.h - non-linear registration: an affine transform (rigid.h) refined
 * by a smooth displacement field, and what a warp is then used for:
 * applying it, inverting it, resampling through it, saving it.  Not a
 * kind: the `atlas` and `group_maps` kinds and tests use it.
 *
 * A warp maps fixed world points x to moving ones:
 *
 *   y = A(x) + d(x),   d(x) = sum over control points k of c_k B(t(x) - k)
 *
 * with A the affine, t(x) the position of x in control-point units (an
 * affine map of the fixed grid: control points every `spacing` mm along
 * each axis of the fixed volume, starting one spacing before its first
 * voxel), B the cubic B-spline in three dimensions (Rueckert et al. 1999)
 * and c_k a displacement in mm.  Registration maximises Mattes mutual
 * information as rigid.h does (same histogram, same pyramid), with the
 * exact gradient with respect to every c_k, by L-BFGS on a fixed regular
 * grid of fixed voxels, coarse to fine: each stage halves the spacing
 * (the field carried over exactly by B-spline subdivision) and works on
 * the next finer pyramid level, the last at opts.spacing_mm on the finest.
 * The objective is -MI + bending * mean squared second difference of the
 * coefficients along each axis: it damps wiggles between control points
 * and leaves gentle trends (and the affine) free.
 */
#ifndef SUL_WARP_H
#define SUL_WARP_H

#include <stdint.h>

#include "../engine/err.h"
#include "rigid.h"
#include "volume.h"

struct sul_warp_opts {
	double spacing_mm;  /* control point spacing of the last stage, > 0 */
	int stages;         /* >= 1: the first at spacing_mm * 2^(stages-1) */
	int iterations;     /* L-BFGS iterations per stage, at most */
	long samples;       /* fixed voxels of the last stage, at most (a regular grid); a quarter per coarser level */
	double bending;     /* weight of the smoothness term, >= 0 */
};

#define SUL_WARP_OPTS_INIT { 10.0, 3, 60, 300000, 0.003 }

struct sul_warp {
	struct sul_affine affine;
	int64_t n[3];           /* control points along each axis */
	double ctl_to_xyz[4][4];/* control index -> fixed world, mm */
	double xyz_to_ctl[3][4];/* its inverse */
	float *coef;            /* n[0] * n[1] * n[2] x 3 displacements (mm), point-major, x fastest; owned */
	double mi;              /* final mutual information (nats), as sul_affine's */
	double jac_min;         /* smallest det(dy/dx) / det(A) over the fixed volume's nonzero voxels */
	double folded;          /* fraction of those voxels where it is <= 0: the warp folds there */
	int iterations;         /* the affine's and every stage's */
};

/*
 * sul_affine_register, then the field.  Fails as it does; out is written
 * only on success and released with sul_warp_release.
 */
int sul_warp_register(const struct sul_volume *fixed, const struct sul_volume *moving,
		      const struct sul_rigid_opts *lin, const struct sul_warp_opts *opts, struct sul_warp *out,
		      struct sul_err *err);

/* The warp that is the affine alone, with a zero field on fixed's grid. */
void sul_warp_from_affine(const struct sul_affine *a, const struct sul_volume *fixed, double spacing_mm,
			  struct sul_warp *out);

/* y = A(x) + d(x), world mm. */
void sul_warp_apply(const struct sul_warp *w, const double x[3], double y[3]);

/*
 * The fixed point x with A(x) + d(x) = y, by fixed-point iteration
 * x <- A^-1 (y - d(x)) from A^-1 y.  Returns 0 when it converged (to 0.001
 * mm), -1 when it did not (a folding warp; x is the last iterate).
 */
int sul_warp_invert(const struct sul_warp *w, const double y[3], double x[3]);

/* Resamples moving onto fixed's grid through w: trilinear, or with
 * nearest the nearest voxel's value (labels); 0 outside moving. */
void sul_warp_resample(const struct sul_volume *fixed, const struct sul_volume *moving, const struct sul_warp *w,
		       int nearest, struct sul_volume *out);

/* Saves the field as three NIfTI volumes, prefix_x/y/z.nii.gz (the
 * control points' displacements in mm, each volume placed over the fixed
 * volume in world space: any viewer shows where and how far the warp
 * moves).  The affine is the caller's to save. */
int sul_warp_write(const char *prefix, const struct sul_warp *w, struct sul_err *err);

/* Reads what sul_warp_write wrote and sets the affine; fails naming the
 * file when one is missing or the three disagree. */
int sul_warp_read(const char *prefix, const struct sul_affine *a, struct sul_warp *w, struct sul_err *err);

void sul_warp_release(struct sul_warp *w);

#endif
