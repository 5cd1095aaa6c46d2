/*
 * cam_localize.c - where a heatmap of the `cam` kind puts its heat: share
 * and peak per lobe (from the slice's lobe labels, or a geometric division
 * of the slice), the pointing game and the share of heat inside the lesion
 * mask.  The statistics themselves are in stats.h; this file finds the
 * label maps they run on.
 */
#include "cam_int.h"
#include "pngio.h"

#include <math.h>
#include <stdlib.h>

/* A label slice (PNG, label in the first channel) at the slice size; the
 * caller frees it.  NULL on failure. */
static uint8_t *read_labels(const char *path, int size, struct sul_err *err)
{
	uint8_t *rgb = NULL, *lab;
	uint32_t w, h;
	size_t i;

	if (sul_png_read_rgb(path, &rgb, &w, &h, err))
		return NULL;
	if ((int)w != size || (int)h != size) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: %ux%u, the slices are %dx%d", path, w, h, size, size);
		free(rgb);
		return NULL;
	}
	lab = sul_xmalloc((size_t)size * size);
	for (i = 0; i < (size_t)size * size; i++)
		lab[i] = rgb[i * 3];
	free(rgb);
	return lab;
}

/*
 * Lobes without an atlas, from the slice alone: within the bounding box of
 * its brain (nonzero first channel; slices are laid out anterior up), the
 * anterior 40% is frontal, the posterior 20% occipital, and the band between
 * temporal in its lateral quarters and parietal in its centre.  A coarse
 * convention, the same for every subject, not anatomy: it ignores the
 * slice's height (temporal lobes are inferior, parietal superior).
 */
static void geometric_lobes(const uint8_t *px, int size, uint8_t *lab)
{
	int r, c, r0 = size, r1 = -1, c0 = size, c1 = -1;

	for (r = 0; r < size; r++)
		for (c = 0; c < size; c++)
			if (px[((size_t)r * size + c) * 3]) {
				r0 = r < r0 ? r : r0, r1 = r > r1 ? r : r1;
				c0 = c < c0 ? c : c0, c1 = c > c1 ? c : c1;
			}
	for (r = 0; r < size; r++)
		for (c = 0; c < size; c++) {
			size_t i = (size_t)r * size + c;
			double fr, fc;
			if (!px[i * 3] || r1 <= r0 || c1 <= c0) {
				lab[i] = 0;
				continue;
			}
			fr = (double)(r - r0) / (r1 - r0);
			fc = (double)(c - c0) / (c1 - c0);
			lab[i] = fr < 0.4 ? 1 : fr > 0.8 ? 4 : (fc < 0.25 || fc > 0.75) ? 2 : 3;
		}
}

int sul_cam_localize(const struct cam_run *run, size_t slice_row, const float *norm, struct cam_heatmap *h,
		     struct sul_err *err)
{
	const struct sul_slice *s = &run->slices.rows[slice_row];
	const size_t plane = (size_t)run->size * run->size;

	uint8_t *lab = NULL;

	h->pointing = -1;
	h->lesion_share = h->lesion_share_chance = h->pointing_chance = NAN;
	h->peak_lobe = h->top_lobe = 0;
	if (s->lobes || run->lobe_fallback) {
		if (s->lobes) {
			lab = read_labels(s->lobes, run->size, err);
			if (!lab)
				return -1;
		} else {
			lab = sul_xmalloc(plane);
			geometric_lobes(run->slices.pixels + slice_row * plane * 3, run->size, lab);
		}
		sul_region_stats(norm, lab, plane, NLOBES, h->lobes, &h->peak_lobe, &h->top_lobe);
		h->has_lobes = 1;
		h->lobe_source = s->lobes ? 1 : 2;
	}
	if (s->lesions) {
		uint8_t *les = read_labels(s->lesions, run->size, err);
		if (!les) {
			free(lab);
			return -1;
		}
		h->pointing = sul_pointing_game(norm, les, run->size, run->size, run->tol * run->size);
		/* Only a slice with a lesion says anything about lesions: an empty
		 * mask would add a share of 0 by construction. */
		if (h->pointing >= 0) {
			h->lesion_share = sul_mask_share(norm, les, plane);
			if (lab) {
				h->lesion_share_chance = sul_mask_share_chance(les, lab, plane);
				h->pointing_chance = sul_pointing_chance(les, lab, run->size, run->size,
									 run->tol * run->size);
			}
		}
		free(les);
	}
	free(lab);
	return 0;
}
