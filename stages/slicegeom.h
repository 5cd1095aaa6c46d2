/*
 * slicegeom.h - where the voxels of an axial slice land in a `slices` PNG,
 * and back.  Not a kind.
 *
 * The `slices` kind lays slice k of a volume out on the screen, pads it to
 * a square and resamples it to size x size pixels; a stage that computes
 * heatmaps on those PNGs needs the same mapping to take them back to
 * voxels.  Both use this module, so the two directions cannot drift apart.
 *
 * Three coordinate systems, all with pixel (voxel) centres at integers:
 *
 *  - voxel (i, j) of any slice k of the volume;
 *  - the plane (r, c): the slice on the screen, padded with zeros to a
 *    side x side square.  Radiological convention, from the volume's
 *    ijk_to_xyz: anterior (+y) at the top, the subject's right (+x) on the
 *    image's left.  Of i and j, the axis closer to x runs along the
 *    columns, and each is flipped as needed.  Pixels are voxels:
 *    anisotropic in-plane voxels are not corrected.
 *  - the PNG (row, col), size x size, (0, 0) the centre of the top-left
 *    pixel.  It covers the same square as the plane, edges on edges:
 *    (row + 0.5) / size = (r + 0.5) / side.
 *
 * It does not read or write files, and never mixes slices: k is kept.
 */
#ifndef SUL_SLICEGEOM_H
#define SUL_SLICEGEOM_H

#include <stdint.h>

#include "../engine/err.h"
#include "volume.h"

struct sul_slicegeom {
	int64_t nx, ny;              /* the volume's voxels in a slice */
	int col_axis;                /* 0: i runs along the columns, j down the rows; 1: the reverse */
	int flip_col, flip_row;      /* columns (rows) run towards lower voxel indices */
	int64_t w, h;                /* the slice's columns and rows on the screen */
	int64_t side, off_c, off_r;  /* the padded square and where the slice sits in it */
	int64_t size;                /* the PNG's width and height */
};

/* The layout of v's slices in a size x size PNG (size >= 1); path only names
 * v in messages.  Fails unless k is the voxel axis closest to z (axially
 * stored images): sagittal "axial" slices are refused, not written.  No
 * allocation: g needs no release. */
int sul_slicegeom_init(const struct sul_volume *v, const char *path, int64_t size, struct sul_slicegeom *g,
		       struct sul_err *err);

/* Slice k of v laid out on the padded square: plane holds side * side
 * floats, row-major, zeros outside the slice.  v must have g's nx and ny. */
void sul_slicegeom_plane(const struct sul_slicegeom *g, const struct sul_volume *v, int64_t k, float *plane);

/* The PNG's size * size pixels (row-major) from plane, bilinearly: pixel d
 * samples the plane at s = (d + 0.5) side / size - 0.5, clamped to the
 * plane.  Values are not rounded or clipped. */
void sul_slicegeom_bilinear(const struct sul_slicegeom *g, const float *plane, double *out);

/* The same with the nearest plane pixel to s (halves round up), for label
 * images: every value of out is a value of plane. */
void sul_slicegeom_nearest(const struct sul_slicegeom *g, const float *plane, float *out);

/* Where the centre of voxel (i, j) of any slice lands in the PNG, as
 * continuous (row, col): the exact inverse of the sampling above (unclamped),
 * so a heatmap sampled bilinearly at (row, col) for every voxel goes back to
 * the right voxel.  For a voxel of the slice, row and col lie in
 * (-0.5, size - 0.5): within the image, but at the edges not necessarily
 * between two pixel centres (clamp before interpolating). */
void sul_slicegeom_voxel_pixel(const struct sul_slicegeom *g, int64_t i, int64_t j, double *row, double *col);

/* The reverse: the continuous voxel (i, j) that PNG position (row, col)
 * samples, unclamped (outside [0, nx - 1] x [0, ny - 1]: padding). */
void sul_slicegeom_pixel_voxel(const struct sul_slicegeom *g, double row, double col, double *i, double *j);

#endif
