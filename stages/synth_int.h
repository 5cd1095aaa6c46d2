/*
 * synth_int.h - what the two files of the `synth` kind share: the anatomy
 * built once per run from the templates (synth_anatomy.c), which the
 * simulation of each subject (synth.c) samples; and the `atlas` kind
 * (atlas.c), which warps the same lobes so that its Dice against synth's
 * true lobes compares like with like.  Nothing else includes it.
 */
#ifndef SUL_SYNTH_INT_H
#define SUL_SYNTH_INT_H

#include "../engine/err.h"
#include "volume.h"

#include <stddef.h>
#include <stdint.h>

/* Tissue classes; 0 is outside the brain. */
enum { CSF = 1, GM = 2, WM = 3 };
/* Lobe labels, as the ground truth's lobes images hold them. */
enum { LOBE_FRONTAL = 1, LOBE_TEMPORAL, LOBE_PARIETAL, LOBE_OCCIPITAL, LOBE_OTHER };

/* Everything derived from the templates once. */
struct anatomy {
	struct sul_volume t1;        /* ch2, normalized: white matter = 1 */
	int64_t nx, ny, nz;
	unsigned char *tissue;       /* 0 outside the brain */
	unsigned char *lobe;
	float *t2, *flair;           /* tissue-class contrasts, with the T1's texture */
	float *vent_dist;            /* city-block distance to the ventricles, voxels */
	float *gm_dist;              /* distance to grey matter */
	int64_t *peri, *juxta, *wm;  /* candidate lesion centres */
	size_t nperi, njuxta, nwm;
	double center[3];            /* brain centre, voxel coordinates */
};

/* The index of voxel (x, y, z) of the template grid. */
static inline int64_t sul_synth_at(const struct anatomy *a, int64_t x, int64_t y, int64_t z)
{
	return x + a->nx * (y + a->ny * z);
}

/* Builds the anatomy from dir's ch2.nii.gz, ch2bet.nii.gz, aal.nii.gz and
 * aal.nii.txt.  On failure a holds nothing. */
int sul_synth_anatomy_load(const char *dir, struct anatomy *a, struct sul_err *err);
/* Frees what a holds; a zeroed anatomy is fine. */
void sul_synth_anatomy_release(struct anatomy *a);

#endif
