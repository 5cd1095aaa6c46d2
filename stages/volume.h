/*
 * volume.h - 3-D images in and out of NIfTI files (libnifti2), for stage
 * kinds.  Not a kind itself.
 *
 * Voxels are read into floats (scl_slope/scl_inter applied) whatever the
 * file's type.  Geometry follows the sform when it is set, else the qform,
 * else plain voxel scaling.  Writing keeps the geometry and stores the qform
 * equal to the sform, with the same code: ITK (so elastix and ANTs) reads
 * the qform, nibabel and FSL the sform, and they must agree.
 */
#ifndef SUL_VOLUME_H
#define SUL_VOLUME_H

#include <stdint.h>

#include "../engine/err.h"

struct sul_volume {
	int64_t nx, ny, nz;
	float *data;               /* nx * ny * nz, x fastest; owned */
	double pixdim[3];          /* voxel size in mm */
	double ijk_to_xyz[4][4];   /* voxel index -> world (mm) */
	int xform_code;            /* NIFTI_XFORM_* of that transform (0: none in the file) */
};

/* Reads path (.nii or .nii.gz).  Fails, naming the file, when it is
 * missing, not NIfTI, truncated, or not a single 3-D volume. */
int sul_volume_read(const char *path, struct sul_volume *v, struct sul_err *err);

/* A side longer than this is refused whatever the limit: no scanner makes it. */
#define SUL_VOLUME_MAX_SIDE 4096

/* Intensities beyond this (or NaN, infinite) are refused by read_max. */
#define SUL_VOLUME_MAX_VALUE 1e15

/* The same, for images from outside the workflow (ingest): refuses, from
 * the header before reading the data, an image of more than max_voxels
 * voxels, and an image with a voxel beyond SUL_VOLUME_MAX_VALUE.  With
 * max_voxels 0 it is sul_volume_read. */
int sul_volume_read_max(const char *path, long long max_voxels, struct sul_volume *v, struct sul_err *err);

/* A volume of the given size with geometry copied from like (data zeroed). */
void sul_volume_like(struct sul_volume *v, const struct sul_volume *like);

enum sul_volume_type { SUL_VOL_FLOAT32, SUL_VOL_UINT8, SUL_VOL_INT16 };

/* Writes v to path (.nii.gz compresses) as type, and reads the header back
 * to check it (nifti_image_write cannot report failure).  Refuses data
 * with NaN or infinite voxels: no stage writes them. */
int sul_volume_write(const char *path, const struct sul_volume *v, enum sul_volume_type type,
		     struct sul_err *err);

void sul_volume_release(struct sul_volume *v);

/* qsort() order of voxel values (floats), for percentiles and histograms. */
int sul_cmp_float(const void *a, const void *b);

/* The inverse of an ijk_to_xyz affine (world -> voxel), as its top three rows.
 * A NIfTI geometry that was read is never singular. */
void sul_affine_inverse(const double a[4][4], double inv[3][4]);

#endif
