/*
 * slicedata.h - the labelled slice images that the Darknet kinds (train,
 * evaluate, cam) read: a table such as split.tsv (from `split` over the
 * `slices` index) with columns subject, slice, group, class, path, split,
 * and the PNG files it names.
 *
 * The table is found in the first input whose folder holds it; each path is
 * resolved against the input folders in order (split.tsv names files that
 * the slices stage published), so a stage lists both: inputs = ["split",
 * "slices"].  Images are held as 8-bit RGB at the network's input size
 * (bilinear when the PNG differs) and handed out as planar CHW floats in
 * [0, 1], Darknet's layout.  Not a kind.
 */
#ifndef SUL_SLICEDATA_H
#define SUL_SLICEDATA_H

#include <stddef.h>
#include <stdint.h>

#include "../engine/err.h"
#include "../engine/kind.h"

enum { SUL_SPLIT_TRAIN, SUL_SPLIT_VAL, SUL_SPLIT_TEST, SUL_SPLIT_NONE };

struct sul_slice {
	char *subject, *group, *path;  /* path: absolute */
	/* Optional columns of the slices index (NULL when absent): the subject's
	 * reference volume and this slice's lobe and lesion label images. */
	char *ref, *lobes, *lesions;
	int slice;                     /* index in the volume (-1 if the table has none) */
	int label;                     /* class index */
	int split;                     /* SUL_SPLIT_* */
};

struct sul_slicedata {
	struct sul_slice *rows;
	size_t n;
	int classes;                   /* 1 + the largest class index */
	char **class_names;            /* classes entries: the group of that class */
	int w, h;                      /* images as loaded */
	uint8_t *pixels;               /* n x h x w x 3 once loaded, else NULL */
};

/* Reads table (e.g. "split.tsv") from the stage's inputs; a table without a
 * split column puts every row in SUL_SPLIT_NONE. */
int sul_slicedata_read(const struct sul_stage_ctx *ctx, const char *table, struct sul_slicedata *d,
		       struct sul_err *err);
/* Loads (and resizes to w x h) the images of the rows whose split is in
 * the mask (1 << SUL_SPLIT_*); others stay unloaded. */
int sul_slicedata_load(struct sul_slicedata *d, int w, int h, unsigned split_mask, struct sul_err *err);
/* Row i as planar CHW floats in [0, 1] (3 x h x w). */
void sul_slicedata_chw(const struct sul_slicedata *d, size_t i, float *out);
void sul_slicedata_release(struct sul_slicedata *d);

/* "train" -> SUL_SPLIT_TRAIN, ...; -1 if unknown. */
int sul_split_from_name(const char *name);

/* Bilinear rotation (degrees, counter-clockwise), scaling and translation
 * (fractions of the width and height) of a planar c x h x w image about its
 * centre; outside the source is 0.  The study's augmentation. */
void sul_augment_chw(const float *src, float *dst, int c, int h, int w, double angle_deg, double scale,
		     double tx, double ty, int flip);

#endif
