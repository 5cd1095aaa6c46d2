/*
 * cam_int.h - what the files of the `cam` kind share, and nothing else
 * includes: the state of one run, one heatmap's results, and the functions
 * one file of the kind calls in another.  cam.c describes the kind.
 *
 *   cam.c              the kind: parameters, check, the run (model, slices,
 *                      subject loop)
 *   cam_opts.c         the run's options from its parameters; the names
 *                      of methods and lobes
 *   cam_subject.c      one subject: maps of every method and target, batch
 *                      by batch, and each heatmap's row
 *   cam_methods.c      each method: the passes of the network it needs
 *                      and its arithmetic (heatmap.h, attribution.h), for
 *                      one batch
 *   cam_localize.c     where the heat lies: lobes, pointing game, lesions
 *   cam_faithfulness.c the model's score on the heatmap: Average Drop,
 *                      deletion and insertion curves
 *   cam_files.c        PNG overlays and NIfTI volumes of the heatmaps
 *   cam_sanity.c       the randomized-weights sanity checks (whole and
 *                      cascading)
 *   cam_stats.c        the tables and the per-method summaries (metrics)
 */
#ifndef SUL_CAM_INT_H
#define SUL_CAM_INT_H

#include "../engine/err.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "model.h"
#include "slicedata.h"
#include "slicegeom.h"
#include "stats.h"
#include "volume.h"

#include <stddef.h>
#include <stdint.h>

enum {
	M_CAM, M_GRADCAM, M_GRADCAMPP, M_HIRESCAM, M_XGRADCAM, M_LAYERCAM,  /* activations and gradients */
	M_EIGENCAM,                                                          /* activations alone */
	M_SCORECAM, M_ABLATIONCAM,                                           /* activations and forward passes */
	M_RANDOM,                                                            /* the chance baseline */
	/* pixel-space attributions, maps at the input's resolution */
	M_GUIDEDBP, M_GUIDEDGRADCAM, M_SMOOTHGRAD, M_INTGRAD, M_OCCLUSION,
	NMETHODS
};
extern const char *const sul_cam_method_names[NMETHODS];
#define NLOBES 5
/* Label l (1..NLOBES) is lobe sul_cam_lobe_names[l - 1]. */
extern const char *const sul_cam_lobe_names[NLOBES];

/* The most images in one forward/backward pass (the `batch` parameter's
 * upper bound): per-batch arrays are sized by it. */
#define CAM_MAX_BATCH 1024

/* One heatmap: its row of the heatmaps table, and what the summaries need. */
struct cam_heatmap {
	size_t slice_row;     /* index into the slice data */
	int method, target, predicted;
	float prob;           /* the model's probability of target */
	int applicable;
	double raw_min, raw_max;
	struct sul_region_stat lobes[NLOBES];
	int has_lobes, peak_lobe, top_lobe;
	int lobe_source;      /* 1: label slices (an atlas), 2: the geometric fallback */
	int pointing;         /* -1: no lesion in the slice */
	double lesion_share;  /* NaN: no lesion in the slice */
	/* What a map even over the brain would score (stats.h): NaN without a
	 * lesion, or without a brain mask (no lobe labels, no fallback). */
	double lesion_share_chance, pointing_chance;
	double score, masked_score;  /* target score (probability) on the image, on image x heatmap */
	double deletion, insertion;
	double sanity;
	double completeness;  /* Integrated Gradients: relative error of the sum (NaN: other methods) */
	float *small;         /* the map at the target layer's resolution, normalized; owned */
};

/* Which class each heatmap explains (the `target` parameter). */
enum cam_target { CAM_TARGET_PREDICTED, CAM_TARGET_TRUE, CAM_TARGET_ALL };

/* One run of the cam stage: its options, the open model, the slices, and
 * every heatmap made so far.  The kind's run function (cam.c) owns it and
 * everything it points to. */
struct cam_run {
	const struct sul_stage_ctx *ctx;
	struct sul_model model;
	struct sul_slicedata slices;
	/* options (cam_opts.c) */
	int use[NMETHODS];                 /* the methods asked for */
	enum cam_target target_mode;
	int batch, score_mode, steps, overlay, lobe_fallback;
	double alpha, tol;
	uint64_t seed;                     /* the randomized model's, and SmoothGrad's noise */
	int smooth_n, smooth_cams;         /* SmoothGrad: noisy copies; also for the CAM family */
	double smooth_noise;               /* its noise: a fraction of each image's range */
	int ig_steps;                      /* Integrated Gradients: steps on the path */
	int occ_patch, occ_n, *occ_off;    /* occlusion: window side, offsets (occ_n of them) */
	/* the network */
	int size;                          /* slice width = height, pixels */
	int layer, cam_layer, lw, lh, lc;  /* target layer and its output size */
	int cam_ok;                        /* has a GAP head: CAM applies */
	float *camw;                       /* classes x channels */
	/* results */
	struct cam_heatmap *heatmaps;
	size_t nheatmaps, aheatmaps;
	double secs[NMETHODS];             /* time spent making each method's maps */
	size_t counted[NMETHODS];          /* and how many it made */
};

/* cam_opts.c */

/* Parses the `methods` parameter into use[m] = 1 for each method given. */
int sul_cam_parse_methods(const char *text, int use[NMETHODS], struct sul_err *err);
/* Fills run's options from its parameters (run->ctx set, the rest zero). */
int sul_cam_read_options(struct cam_run *run, struct sul_err *err);
/* Occlusion's windows over run->size slices from the occlusion_patch and
 * occlusion_stride parameters (0: an eighth of the slice, half the patch). */
int sul_cam_occlusion_grid(struct cam_run *run, struct sul_err *err);
/* The name of a heatmap's target in file names: the class name with
 * target = all, else "true" or "predicted". */
const char *sul_cam_target_name(const struct cam_run *run, int cls);

/* cam_methods.c */

/* What the network's passes over one batch of images left, for the methods
 * that follow; made for run->batch images.  The caller sets x, n and
 * target, and calls sul_cam_work_reset() when they change. */
enum { T_SCORE, T_ABLATE, T_OCCLUDE, NTABLES };  /* score tables of Score-CAM, Ablation-CAM, occlusion */
struct cam_work {
	const float *x;              /* n images, CHW */
	int n;
	const int *target;           /* the class each image's maps explain */
	const size_t *ids;           /* a stable id per image (its slice row): seeds its noise */
	float *A, *G;                /* at grad_layer: activations, gradients of the target scores */
	int grad_layer;              /* -2: none yet for these images and targets */
	double grad_secs;            /* what that pass took */
	float *gin;                  /* guided backpropagation's input gradients, when guided_ok */
	int guided_ok;
	double guided_secs;
	/* The scores of every class per image and altered copy (rows x
	 * classes, sul_cam_maps' files say which rows), whether they are for
	 * these images, and what they took. */
	float *table[NTABLES];
	int table_ok[NTABLES];
	double table_secs[NTABLES];
	double *check;               /* per image: Integrated Gradients' completeness; NaN for other methods */
	float *xb, *xa, *gs, *acc, *mask, *scores, *acts, *sA, *sG;  /* scratch */
};
void sul_cam_work_init(const struct cam_run *run, struct cam_work *w);
void sul_cam_work_release(struct cam_work *w);
/* New images (images = 1), or new targets for the same images (0). */
void sul_cam_work_reset(struct cam_work *w, int images);
/* The size of method m's maps: the target layer's (h x w), or the input's
 * for the pixel-space attributions. */
void sul_cam_map_dims(const struct cam_run *run, int method, int *h, int *w);
/* Method m's raw maps of w's images and targets (sul_cam_map_dims each),
 * running the passes it needs; *secs (may be NULL) gets its cost, the
 * passes it used counted as if it ran alone. */
int sul_cam_maps(const struct cam_run *run, struct cam_work *w, int m, float *maps, double *secs,
		 struct sul_err *err);
/* A map of method m at the target layer's resolution, normalized to
 * [0, 1]: what maps of different methods and models are compared by. */
void sul_cam_small(const struct cam_run *run, int m, const float *map, float *small);

/* cam_subject.c */

/* Makes and records the heatmaps of one subject's slices rows[0..nrows),
 * and writes its overlays and volumes. */
int sul_cam_explain_subject(struct cam_run *run, const size_t *rows, size_t nrows, struct sul_err *err);

/* cam_localize.c */

/* Fills h's lobe statistics, pointing game and lesion share from norm
 * (the heatmap at slice size, in [0, 1]) and the slice's label images. */
int sul_cam_localize(const struct cam_run *run, size_t slice_row, const float *norm, struct cam_heatmap *h,
		     struct sul_err *err);

/* cam_faithfulness.c */

/* Probability of class target[i] for each of n images of x (inference). */
int sul_cam_scores(const struct cam_run *run, const float *x, int n, const int *target, double *out,
		   struct sul_err *err);
/* masked = img x heat: one image (CHW) weighted by its heatmap (plane
 * pixels, in [0, 1]). */
void sul_cam_mask_image(const float *img, const float *heat, size_t plane, float *masked);
/* For Average Drop and Increase in Confidence: h[j].score and
 * h[j].masked_score, the target's probability on image j of x and of
 * masked (n images each). */
int sul_cam_masked_scores(const struct cam_run *run, const float *x, const float *masked, int n, const int *target,
			  struct cam_heatmap *h, struct sul_err *err);
/* Areas under the deletion and insertion curves of one image (CHW) and
 * its heatmap heat (in [0, 1]) for class target. */
int sul_cam_curves(const struct cam_run *run, const float *img, const float *heat, int target, double *del,
		   double *ins, struct sul_err *err);

/* cam_files.c */

/* Writes the PNG overlay of heat (slice size, [0, 1]) on slice row. */
int sul_cam_write_overlay(const struct cam_run *run, size_t row, int method, const char *target, const float *heat,
			  struct sul_err *err);

/* A subject's heatmaps back on its reference grid: one normalized and one
 * raw volume per method and target. */
struct cam_volumes {
	struct sul_volume ref;
	struct sul_slicegeom geom;
	struct sul_volume *norm, *raw;  /* NMETHODS x ntarget slots */
	int ntarget;
	int have_ref;                   /* 0: the slices came without a reference volume; nothing is kept */
};

/* Reads the reference volume of the subject of slice row (when the slices
 * have one) and makes empty volumes on its grid.  Release vols on failure
 * too. */
int sul_cam_volumes_init(const struct cam_run *run, size_t row, int ntarget, struct cam_volumes *vols,
			 struct sul_err *err);
/* Puts slice `slice` of method m's, target t's heatmap (norm and the raw
 * upsampled values) into the volumes; nothing without a reference. */
void sul_cam_volumes_add(struct cam_volumes *vols, int m, int t, int size, int64_t slice, const float *norm,
			 const float *raw);
/* Writes them under volumes/<method>/<subject>_<target>[_raw].nii.gz
 * (the methods that applied); nothing without a reference. */
int sul_cam_volumes_write(const struct cam_run *run, const struct cam_volumes *vols, const char *subject,
			  struct sul_err *err);
void sul_cam_volumes_release(struct cam_volumes *vols);

/* cam_sanity.c */

/* Randomizes the model's weights and fills every applicable heatmap's
 * sanity (rank correlation with the randomized model's map).  The model
 * is not usable for anything else afterwards. */
int sul_cam_sanity(struct cam_run *run, struct sul_err *err);
/* The cascading form: up to per heatmaps of each method made again after
 * each learnable layer is randomized, from the top down; writes table
 * sanity_cascade.  Leaves every layer randomized. */
int sul_cam_cascade(struct cam_run *run, size_t per, struct sul_err *err);

/* cam_stats.c */

/* tables/heatmaps.tsv: one row per heatmap. */
int sul_cam_heatmaps_table(const struct cam_run *run, struct sul_err *err);
/* tables/heatmap_lobes.tsv, tables/heatmap_tests.tsv and the per-method
 * metrics. */
int sul_cam_summaries(const struct cam_run *run, struct sul_err *err);

#endif
