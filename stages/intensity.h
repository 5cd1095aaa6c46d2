/*
 * intensity.h - what the preprocessing kinds do with a volume's intensities
 * alone: brain and head masks from a threshold (Otsu's; a fraction of a
 * high percentile), the robust intensity range a histogram should span,
 * and the mapping of a brain's intensities to 1..255 (histogram
 * equalization or a linear window).  Not a kind; no files, no geometry.
 * Used by `slices`, `bias_correct` and the registration (rigid.c).
 */
#ifndef SUL_INTENSITY_H
#define SUL_INTENSITY_H

#include "volume.h"

#include <stddef.h>
#include <stdint.h>

/* mask[i] = 1 above Otsu's threshold over a 256-bin histogram of all of
 * v's voxels (the first maximum of the between-class variance), else 0.
 * A constant volume has nothing above it. */
void sul_intensity_otsu_mask(const struct sul_volume *v, uint8_t *mask);

/* mask[i] = 1 where v is above a tenth of the 99th percentile of its
 * positive voxels (the head, against the background), else 0. */
void sul_intensity_head_mask(const struct sul_volume *v, uint8_t *mask);

/*
 * The intensity range a histogram of v should span: from the background
 * (0 when v has any zero voxel) or the 0.1th percentile of the nonzero
 * voxels, to their 99.9th percentile, so that a few hot voxels do not
 * squeeze the anatomy into a few bins.  Percentiles come from at most
 * about max_samples of the nonzero voxels, evenly strided.  -1 when there
 * is no nonzero voxel or all are one value.
 */
int sul_intensity_range(const struct sul_volume *v, size_t max_samples, double *lo, double *hi);

/*
 * Maps v's voxels inside brain (nbrain > 0 of them) to 1..255 in place and
 * the rest to 0: with equalize, by their empirical CDF (histogram
 * equalization: the lowest value to 1, the highest to 255; all equal: 128),
 * else linearly from the 0.5th to the 99.5th percentile (nearest rank),
 * clipped.
 */
void sul_intensity_to_bytes(struct sul_volume *v, const uint8_t *brain, size_t nbrain, int equalize);

#endif
