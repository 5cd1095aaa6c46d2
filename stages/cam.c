/*
 * cam.c - the `cam` kind: CAM, Grad-CAM and Grad-CAM++ heatmaps of a
 * trained model on slices, with the study's region statistics, group
 * comparison, localization, faithfulness and sanity checks.
 *
 * Inputs: a model (train, evaluate, or rank with pick = N), the split
 * table and the slices (PNG images; the optional label slices and
 * reference volumes that `slices` writes).  For every slice of `split`
 * (optionally only `subjects`) and each target class (the predicted one, the
 * true one, or all), each method of `methods` gives a map at the target
 * layer's resolution (stages/heatmap.h: the formulas), upsampled bilinearly
 * to the slice and min-max normalized to [0, 1]; the raw upsampled values
 * are kept too.  Gradients come from Darknet's backward pass, run only down
 * to the target layer (stages/dn.h gradients()).  CAM needs a GAP head; on
 * another head it is recorded as not applicable, not as a failure.
 *
 * Per heatmap (the `heatmaps` table, db/migrate-4.sql): share of heat and
 * peak per lobe (from the slice's lobe labels: 1 frontal, 2 temporal,
 * 3 parietal, 4 occipital, 5 other; without them, a geometric division of
 * the slice, see geometric_lobes()), the lobe holding the peak, the
 * pointing game and the share of heat inside the lesion mask (where the
 * data has lesion masks), the model's score on the image times its
 * heatmap (Average Drop, Increase in Confidence), deletion and insertion
 * AUC (top pixels removed or added in curve_steps steps), and the rank
 * correlation with the heatmap of the same model with randomized weights.
 * Per method: how often each lobe holds the peak, per group
 * (`heatmap_lobes`), a chi-square test of lobe against group and the
 * consistency of heatmaps (mean pairwise correlation across the slices of
 * a subject, across the subjects of a group at the same slice, across
 * methods) (`heatmap_tests`); summaries as metrics.
 *
 * Files: overlays/<method>/<group>/<subject>_zNNN_<target>.png (the color
 * map over the `overlay` channel), and volumes/<method>/<subject>_<target>
 * .nii.gz and _raw.nii.gz: every heatmap back on the subject's reference
 * grid (the `ref` volume of the slices stage), dropped slices zero, the
 * geometry of the reference kept.
 */
#include "../engine/clock.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "heatmap.h"
#include "model.h"
#include "pngio.h"
#include "slicedata.h"
#include "slicegeom.h"
#include "stats.h"
#include "tsv.h"
#include "volume.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct sul_param_spec cam_params[] = {
	{ "methods", SUL_T_STRING, "cam, gradcam, gradcampp", 0, 0, NULL,
	  "heatmap methods, comma-separated: cam, gradcam, gradcampp" },
	{ "target", SUL_T_STRING, "predicted", 0, 0, "predicted|true|all", "the class each heatmap explains" },
	{ "score", SUL_T_STRING, "logit", 0, 0, "logit|softmax",
	  "Grad-CAM's y^c: the class score before softmax (as pytorch-grad-cam and MONAI) or its probability" },
	{ "layer", SUL_T_INT, "-1", -1, 100000, NULL,
	  "target layer (Darknet's 0-based index); -1: the last spatial layer before the global pool" },
	{ "split", SUL_T_STRING, "test", 0, 0, "train|val|test|all", "which slices" },
	{ "subjects", SUL_T_STRING, "", 0, 0, NULL, "only these subjects (comma-separated); empty: all" },
	{ "pick", SUL_T_INT, "0", 0, 1000, NULL, "with a rank input: its model ranked N (1 = best)" },
	{ "weights", SUL_T_STRING, "best", 0, 0, "best|last", "which weights of the model" },
	{ "overlay", SUL_T_STRING, "t1", 0, 0, "t1|t2|flair", "the channel under the color map of the PNG overlays" },
	{ "alpha", SUL_T_FLOAT, "0.4", 0, 1, NULL, "opacity of the color map in the overlays" },
	{ "pointing_tolerance", SUL_T_FLOAT, "0.03", 0, 1, NULL,
	  "pointing game: a hit within this fraction of the image size of a lesion pixel" },
	{ "lobe_fallback", SUL_T_BOOL, "true", 0, 0, NULL,
	  "slices without lobe labels: divide each slice's brain geometrically (anterior 40% frontal, posterior "
	  "20% occipital, the middle band's lateral quarters temporal, its centre parietal); false: no lobe "
	  "statistics" },
	{ "curve_steps", SUL_T_INT, "10", 0, 1000, NULL,
	  "deletion/insertion curves: steps from 0 to 100% of the pixels (0: not computed)" },
	{ "sanity", SUL_T_BOOL, "true", 0, 0, NULL,
	  "compare with the heatmaps of the model with randomized weights (Adebayo et al. 2018)" },
	{ "batch", SUL_T_INT, "8", 1, 1024, NULL, "images per forward/backward pass" },
	{ "table", SUL_T_STRING, "split.tsv", 0, 0, NULL, "the split table, in an input" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "seed of the randomized model" },
	SUL_MODEL_DEVICE_PARAMS,
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

static const struct sul_resource_defaults cam_resources = { 2, 0, "4G", "4:00:00" };

enum { M_CAM, M_GRADCAM, M_GRADCAMPP, NMETHODS };
static const char *const method_names[NMETHODS] = { "cam", "gradcam", "gradcampp" };
#define NLOBES 5
static const char *const lobe_names[NLOBES] = { "frontal", "temporal", "parietal", "occipital", "other" };

static int parse_methods(const char *text, int use[NMETHODS], struct sul_err *err)
{
	char *buf = sul_xstrdup(text), *items[8];
	size_t n = sul_split_list(buf, items, 8), i;
	int m, any = 0;

	memset(use, 0, sizeof(int) * NMETHODS);
	for (i = 0; i < n; i++) {
		for (m = 0; m < NMETHODS && strcmp(items[i], method_names[m]); m++)
			;
		if (m == NMETHODS) {
			sul_err_set(err, SUL_ERR_INPUT, "parameter 'methods': unknown method '%s' (expected cam, gradcam, "
				    "gradcampp)", items[i]);
			free(buf);
			return -1;
		}
		use[m] = any = 1;
	}
	free(buf);
	if (!any)
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'methods': no method given");
	return 0;
}

static int cam_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	int use[NMETHODS];

	*about = "methods";
	return parse_methods(sul_ctx_str(ctx, "methods"), use, err);
}

/* One heatmap's row of the heatmaps table, and what the summaries need. */
struct hrow {
	size_t slice_row;     /* index into the slice data */
	int method, target, predicted;
	float prob;           /* the model's probability of target */
	int applicable;
	double raw_min, raw_max;
	struct sul_region_stat lobes[NLOBES];
	int has_lobes, peak_lobe, top_lobe;
	int lobe_source;      /* 1: label slices (an atlas), 2: the geometric fallback */
	int pointing;         /* -1: no lesion in the slice */
	double lesion_share;
	double score, masked_score;  /* target score (probability) on the image, on image x heatmap */
	double deletion, insertion;
	double sanity;
	float *small;         /* the map at the target layer's resolution, normalized */
};

struct run {
	const struct sul_stage_ctx *ctx;
	struct sul_model m;
	struct sul_slicedata d;
	int use[NMETHODS];
	int layer, cam_layer, lw, lh, lc;  /* target layer and its output size */
	int cam_ok;
	float *camw;                       /* classes x channels */
	int batch, size, score_mode, steps, overlay, lobe_fallback;
	double alpha, tol;
	struct hrow *rows;
	size_t nrows, arows;
	double secs[NMETHODS];
	size_t counted[NMETHODS];
};


/* Jet-like color map (blue -> cyan -> yellow -> red) of v in [0, 1]. */
static void colormap(double v, double rgb[3])
{
	double r = 1.5 - fabs(4 * v - 3), g = 1.5 - fabs(4 * v - 2), b = 1.5 - fabs(4 * v - 1);
	rgb[0] = r < 0 ? 0 : r > 1 ? 1 : r;
	rgb[1] = g < 0 ? 0 : g > 1 ? 1 : g;
	rgb[2] = b < 0 ? 0 : b > 1 ? 1 : b;
}

static int write_overlay(struct run *R, const struct sul_slice *s, size_t row, int method, const char *target,
			 const float *heat, struct sul_err *err)
{
	const size_t plane = (size_t)R->size * R->size;
	const uint8_t *px = R->d.pixels + row * plane * 3;
	uint8_t *rgb = sul_xmalloc(plane * 3);
	char *dir = sul_xasprintf("%s/overlays/%s/%s", R->ctx->out, method_names[method], s->group);
	char *path = sul_xasprintf("%s/%s_z%03d_%s.png", dir, s->subject, s->slice, target);
	size_t i;
	int r;

	for (i = 0; i < plane; i++) {
		double c[3], g = px[i * 3 + R->overlay];
		int ch;
		colormap(heat[i], c);
		for (ch = 0; ch < 3; ch++)
			rgb[i * 3 + ch] = (uint8_t)lrint((1 - R->alpha) * g + R->alpha * 255 * c[ch]);
	}
	r = sul_mkdirs(dir, err) || sul_png_write_rgb(path, rgb, (uint32_t)R->size, (uint32_t)R->size, err);
	free(rgb);
	free(dir);
	free(path);
	return r ? -1 : 0;
}

/* A label slice (PNG, label in the first channel) at the slice size. */
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

static struct hrow *new_row(struct run *R)
{
	SUL_ALLOC_GROW(R->rows, R->nrows + 1, R->arows);
	memset(&R->rows[R->nrows], 0, sizeof(R->rows[0]));
	return &R->rows[R->nrows++];
}

/* Probability of class target[i] for n images of x, inference. */
static int scores(struct run *R, const float *x, int n, const int *target, double *out, struct sul_err *err)
{
	float *p = sul_xmalloc(sizeof(float) * (size_t)n * R->m.classes);
	int i, r = R->m.api->predict(R->m.net, x, n, p, err);

	for (i = 0; i < n && !r; i++)
		out[i] = p[i * R->m.classes + target[i]];
	free(p);
	return r;
}

/*
 * Deletion and insertion curves (Petsiuk et al. 2018): the target's
 * probability as the most heated pixels are removed from the image (set to
 * 0, the background of skull-stripped slices) or added to an empty one, in
 * `steps` equal steps; the areas under the curves.
 */
static int curves(struct run *R, const float *img, const float *heat, int target, double *del, double *ins,
		  struct sul_err *err)
{
	const size_t plane = (size_t)R->size * R->size, one = plane * 3;
	const int steps = R->steps, b = R->batch;
	size_t *order = sul_xmalloc(plane * sizeof(size_t));
	float *x = sul_xmalloc(sizeof(float) * one * b);
	double *yd = sul_xcalloc((size_t)steps + 1, sizeof(double)), *yi = sul_xcalloc((size_t)steps + 1, sizeof(double));
	int *tg = sul_xmalloc(sizeof(int) * b), pass, s0, j, ret = -1;

	for (j = 0; j < b; j++)
		tg[j] = target;
	sul_pixel_order(heat, plane, order);
	for (pass = 0; pass < 2; pass++) {
		double *y = pass ? yi : yd;
		for (s0 = 0; s0 <= steps; s0 += b) {
			int n = steps + 1 - s0 < b ? steps + 1 - s0 : b;
			double sc[1024];
			for (j = 0; j < n; j++) {
				size_t k = (size_t)(s0 + j) * plane / (size_t)steps, q;
				float *xi = x + one * j;
				int ch;
				if (pass == 0) {
					memcpy(xi, img, one * sizeof(float));
					for (q = 0; q < k; q++)
						for (ch = 0; ch < 3; ch++)
							xi[ch * plane + order[q]] = 0;
				} else {
					memset(xi, 0, one * sizeof(float));
					for (q = 0; q < k; q++)
						for (ch = 0; ch < 3; ch++)
							xi[ch * plane + order[q]] = img[ch * plane + order[q]];
				}
			}
			if (scores(R, x, n, tg, sc, err))
				goto out;
			for (j = 0; j < n; j++)
				y[s0 + j] = sc[j];
		}
	}
	*del = sul_curve_auc(yd, steps);
	*ins = sul_curve_auc(yi, steps);
	ret = 0;
out:
	free(order);
	free(x);
	free(yd);
	free(yi);
	free(tg);
	return ret;
}

/* The small maps of one method for n images: into maps (n x lh x lw). */
static void method_maps(struct run *R, int method, const float *A, const float *G, const int *target, int n,
			float *maps)
{
	const size_t lsz = (size_t)R->lc * R->lh * R->lw, msz = (size_t)R->lh * R->lw;
	int i;

	for (i = 0; i < n; i++) {
		if (method == M_CAM)
			sul_cam(A + lsz * i, R->camw + (size_t)target[i] * R->lc, R->lc, R->lh, R->lw, maps + msz * i);
		else if (method == M_GRADCAM)
			sul_gradcam(A + lsz * i, G + lsz * i, R->lc, R->lh, R->lw, maps + msz * i);
		else
			sul_gradcampp(A + lsz * i, G + lsz * i, R->lc, R->lh, R->lw, maps + msz * i);
	}
}

struct subject_vols {
	struct sul_volume ref;
	struct sul_slicegeom geom;
	struct sul_volume *norm, *raw;  /* per method x target slot */
	int ok;
};

/* Writes a heatmap slice into volume k of vol at the reference geometry. */
static void to_volume(const struct sul_slicegeom *g, const float *heat, int size, int64_t k, struct sul_volume *vol)
{
	int64_t i, j;

	for (j = 0; j < vol->ny; j++)
		for (i = 0; i < vol->nx; i++) {
			double r, c;
			int r0, c0;
			double fr, fc, v = 0;
			sul_slicegeom_voxel_pixel(g, i, j, &r, &c);
			if (r < -0.5 || c < -0.5 || r > size - 0.5 || c > size - 0.5)
				continue;
			if (r < 0)
				r = 0;
			if (c < 0)
				c = 0;
			if (r > size - 1)
				r = size - 1;
			if (c > size - 1)
				c = size - 1;
			r0 = (int)floor(r), c0 = (int)floor(c);
			fr = r - r0, fc = c - c0;
			{
				int r1 = r0 + 1 < size ? r0 + 1 : r0, c1 = c0 + 1 < size ? c0 + 1 : c0;
				v = (1 - fr) * ((1 - fc) * heat[r0 * size + c0] + fc * heat[r0 * size + c1])
				    + fr * ((1 - fc) * heat[r1 * size + c0] + fc * heat[r1 * size + c1]);
			}
			vol->data[i + vol->nx * (j + vol->ny * k)] = (float)v;
		}
}

static const char *target_name(const struct run *R, int target_mode, int cls)
{
	if (target_mode == 2)
		return R->m.class_names[cls];
	return target_mode == 1 ? "true" : "predicted";
}

/*
 * One subject: all its selected slices, batch by batch.  rows_of lists the
 * slice rows.  Volumes are written at the end.
 */
static int do_subject(struct run *R, const size_t *rows_of, size_t nsl, int target_mode, struct sul_err *err)
{
	const struct sul_slice *s0 = &R->d.rows[rows_of[0]];
	const size_t plane = (size_t)R->size * R->size, one = plane * 3;
	const size_t lsz = (size_t)R->lc * R->lh * R->lw, msz = (size_t)R->lh * R->lw;
	const int ntarget = target_mode == 2 ? R->m.classes : 1;
	const int b = R->batch;
	float *x = sul_xmalloc(sizeof(float) * one * b), *A = sul_xmalloc(sizeof(float) * lsz * b);
	float *G = sul_xmalloc(sizeof(float) * lsz * b), *probs = sul_xmalloc(sizeof(float) * R->m.classes * b);
	float *maps = sul_xmalloc(sizeof(float) * msz * b), *up = sul_xmalloc(sizeof(float) * plane);
	float *norm = sul_xmalloc(sizeof(float) * plane), *masked = sul_xmalloc(sizeof(float) * one * b);
	struct sul_volume *vn = NULL, *vr = NULL;
	struct sul_slicegeom geom;
	struct sul_volume ref;
	int target[1024], pred[1024], t, m, j, have_ref = 0, ret = -1;
	size_t i0, nvol = (size_t)NMETHODS * ntarget, v;

	memset(&ref, 0, sizeof(ref));
	if (s0->ref) {
		if (sul_volume_read(s0->ref, &ref, err) || sul_slicegeom_init(&ref, s0->ref, R->size, &geom, err))
			goto out;
		have_ref = 1;
		vn = sul_xcalloc(nvol, sizeof(*vn));
		vr = sul_xcalloc(nvol, sizeof(*vr));
		for (v = 0; v < nvol; v++) {
			sul_volume_like(&vn[v], &ref);
			sul_volume_like(&vr[v], &ref);
		}
	}
	for (i0 = 0; i0 < nsl; i0 += (size_t)b) {
		const int n = (int)(nsl - i0 < (size_t)b ? nsl - i0 : (size_t)b);
		for (j = 0; j < n; j++)
			sul_slicedata_chw(&R->d, rows_of[i0 + j], x + one * j);
		if (R->m.api->predict(R->m.net, x, n, probs, err))
			goto out;
		for (j = 0; j < n; j++)
			pred[j] = sul_argmax(probs + (size_t)j * R->m.classes, R->m.classes);
		for (t = 0; t < ntarget; t++) {
			for (j = 0; j < n; j++)
				target[j] = target_mode == 2 ? t : target_mode == 1 ? R->d.rows[rows_of[i0 + j]].label : pred[j];
			/* One forward and partial backward per batch and target serves every
			 * method; each method's rate counts that cost as if it ran alone. */
			int grad_layer = -2;
			double t_grad = 0;
			for (m = 0; m < NMETHODS; m++) {
				const int need = m == M_CAM ? R->cam_layer : R->layer;
				double t0;
				if (!R->use[m])
					continue;
				if (m == M_CAM && !R->cam_ok) {
					for (j = 0; j < n; j++) {
						struct hrow *h = new_row(R);
						h->slice_row = rows_of[i0 + j];
						h->method = m;
						h->target = target[j];
						h->predicted = pred[j];
						h->prob = probs[j * R->m.classes + target[j]];
						h->applicable = 0;
					}
					continue;
				}
				if (grad_layer != need) {
					t0 = sul_now_s();
					if (R->m.api->gradients(R->m.net, x, n, need, target, R->score_mode, A, G, NULL, err))
						goto out;
					t_grad = sul_now_s() - t0;
					grad_layer = need;
				}
				t0 = sul_now_s();
				method_maps(R, m, A, G, target, n, maps);
				R->secs[m] += t_grad + sul_now_s() - t0;
				R->counted[m] += (size_t)n;
				for (j = 0; j < n; j++) {
					const size_t row = rows_of[i0 + j];
					const struct sul_slice *s = &R->d.rows[row];
					struct hrow *h = new_row(R);
					size_t q;
					int ch;
					h->slice_row = row;
					h->method = m;
					h->target = target[j];
					h->predicted = pred[j];
					h->prob = probs[j * R->m.classes + target[j]];
					h->applicable = 1;
					h->small = sul_xmalloc(sizeof(float) * msz);
					memcpy(h->small, maps + msz * j, sizeof(float) * msz);
					sul_minmax01(h->small, msz);
					sul_upsample_bilinear(maps + msz * j, R->lh, R->lw, up, R->size, R->size);
					h->raw_min = h->raw_max = up[0];
					for (q = 0; q < plane; q++) {
						if (up[q] < h->raw_min)
							h->raw_min = up[q];
						if (up[q] > h->raw_max)
							h->raw_max = up[q];
					}
					memcpy(norm, up, sizeof(float) * plane);
					sul_minmax01(norm, plane);
					h->pointing = -1;
					h->lesion_share = NAN;
					h->peak_lobe = h->top_lobe = 0;
					if (s->lobes || R->lobe_fallback) {
						uint8_t *lab;
						if (s->lobes) {
							lab = read_labels(s->lobes, R->size, err);
							if (!lab)
								goto out;
						} else {
							lab = sul_xmalloc(plane);
							geometric_lobes(R->d.pixels + row * plane * 3, R->size, lab);
						}
						sul_region_stats(norm, lab, plane, NLOBES, h->lobes, &h->peak_lobe, &h->top_lobe);
						h->has_lobes = 1;
						h->lobe_source = s->lobes ? 1 : 2;
						free(lab);
					}
					if (s->lesions) {
						uint8_t *les = read_labels(s->lesions, R->size, err);
						if (!les)
							goto out;
						h->pointing = sul_pointing_game(norm, les, R->size, R->size, R->tol * R->size);
						h->lesion_share = sul_mask_share(norm, les, plane);
						free(les);
					}
					/* Image x heatmap, for Average Drop / Increase in Confidence. */
					for (ch = 0; ch < 3; ch++)
						for (q = 0; q < plane; q++)
							masked[one * j + ch * plane + q] = x[one * j + ch * plane + q] * norm[q];
					h->deletion = h->insertion = NAN;
					if (R->steps > 0 && curves(R, x + one * j, norm, target[j], &h->deletion, &h->insertion, err))
						goto out;
					if (write_overlay(R, s, row, m, target_name(R, target_mode, target[j]), norm, err))
						goto out;
					if (have_ref) {
						size_t slot = (size_t)m * ntarget + (size_t)t;
						to_volume(&geom, norm, R->size, s->slice, &vn[slot]);
						to_volume(&geom, up, R->size, s->slice, &vr[slot]);
					}
				}
				{
					double sc[1024], so[1024];
					if (scores(R, x, n, target, sc, err) || scores(R, masked, n, target, so, err))
						goto out;
					for (j = 0; j < n; j++) {
						struct hrow *h = &R->rows[R->nrows - (size_t)n + (size_t)j];
						h->score = sc[j];
						h->masked_score = so[j];
					}
				}
			}
		}
	}
	if (have_ref)
		for (m = 0; m < NMETHODS; m++)
			for (t = 0; t < ntarget; t++) {
				size_t slot = (size_t)m * ntarget + (size_t)t;
				const char *tn = target_name(R, target_mode, t);
				char *dir, *p1, *p2;
				int r;
				if (!R->use[m] || (m == M_CAM && !R->cam_ok))
					continue;
				dir = sul_xasprintf("%s/volumes/%s", R->ctx->out, method_names[m]);
				p1 = sul_xasprintf("%s/%s_%s.nii.gz", dir, s0->subject, tn);
				p2 = sul_xasprintf("%s/%s_%s_raw.nii.gz", dir, s0->subject, tn);
				r = sul_mkdirs(dir, err) || sul_volume_write(p1, &vn[slot], SUL_VOL_FLOAT32, err)
				    || sul_volume_write(p2, &vr[slot], SUL_VOL_FLOAT32, err);
				free(dir);
				free(p1);
				free(p2);
				if (r)
					goto out;
			}
	ret = 0;
out:
	if (vn)
		for (v = 0; v < nvol; v++) {
			sul_volume_release(&vn[v]);
			sul_volume_release(&vr[v]);
		}
	free(vn);
	free(vr);
	sul_volume_release(&ref);
	free(x);
	free(A);
	free(G);
	free(probs);
	free(maps);
	free(up);
	free(norm);
	free(masked);
	return ret;
}

/* The sanity check: the same heatmaps from the model with randomized
 * weights, compared by rank correlation at the target layer's resolution. */
static int sanity_pass(struct run *R, struct sul_err *err)
{
	const size_t plane = (size_t)R->size * R->size, one = plane * 3;
	const size_t lsz = (size_t)R->lc * R->lh * R->lw, msz = (size_t)R->lh * R->lw;
	const int b = R->batch;
	float *x = sul_xmalloc(sizeof(float) * one * b), *A = sul_xmalloc(sizeof(float) * lsz * b);
	float *G = sul_xmalloc(sizeof(float) * lsz * b), *maps = sul_xmalloc(sizeof(float) * msz * b);
	int target[1024], j, ret = -1;
	size_t i = 0;

	R->m.api->randomize(R->m.net, (unsigned long)sul_ctx_int(R->ctx, "seed"));
	if (R->cam_ok && R->m.api->cam_weights(R->m.net, R->camw, err))
		goto out;
	while (i < R->nrows) {
		size_t idx[1024];
		int n = 0, m = R->rows[i].method;
		/* A batch of rows of one method. */
		for (; i < R->nrows && n < b; i++) {
			if (!R->rows[i].applicable)
				continue;
			if (n && R->rows[i].method != m)
				break;
			m = R->rows[i].method;
			idx[n++] = i;
		}
		if (!n)
			continue;
		for (j = 0; j < n; j++) {
			sul_slicedata_chw(&R->d, R->rows[idx[j]].slice_row, x + one * j);
			target[j] = R->rows[idx[j]].target;
		}
		if (R->m.api->gradients(R->m.net, x, n, m == M_CAM ? R->cam_layer : R->layer, target, R->score_mode, A, G,
					NULL, err))
			goto out;
		method_maps(R, m, A, G, target, n, maps);
		for (j = 0; j < n; j++)
			R->rows[idx[j]].sanity = sul_spearman(R->rows[idx[j]].small, maps + msz * j, msz);
	}
	ret = 0;
out:
	free(x);
	free(A);
	free(G);
	free(maps);
	return ret;
}

static void add_num(struct sul_buf *b, double v)
{
	if (isnan(v))
		sul_buf_adds(b, "\t");
	else
		sul_buf_addf(b, "\t%.6g", v);
}

static int write_table(const struct sul_stage_ctx *ctx, const char *name, struct sul_buf *b, struct sul_err *err)
{
	char *dir = sul_xasprintf("%s/tables", ctx->out), *path = sul_xasprintf("%s/%s.tsv", dir, name);
	int r = sul_mkdirs(dir, err) || sul_write_file_atomic(path, b->buf, b->len, err);
	free(dir);
	free(path);
	return r ? -1 : 0;
}

static int heatmaps_table(struct run *R, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	size_t i;
	int l, r;

	sul_buf_adds(&b, "subject\tslice\tgroup_name\tlabel\tmethod\ttarget\tpredicted\tprob\tapplicable\traw_min\traw_max");
	for (l = 0; l < NLOBES; l++)
		sul_buf_addf(&b, "\tshare_%s", lobe_names[l]);
	for (l = 0; l < NLOBES; l++)
		sul_buf_addf(&b, "\tpeak_%s", lobe_names[l]);
	sul_buf_adds(&b, "\tpeak_lobe\ttop_lobe\tlobe_source\tpointing\tlesion_share\tscore\tmasked_score\tdeletion_auc"
			 "\tinsertion_auc\tsanity_rho\n");
	for (i = 0; i < R->nrows; i++) {
		const struct hrow *h = &R->rows[i];
		const struct sul_slice *s = &R->d.rows[h->slice_row];
		sul_buf_addf(&b, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.6g\t%d", s->subject, s->slice, s->group,
			     R->m.class_names[s->label], method_names[h->method], R->m.class_names[h->target],
			     R->m.class_names[h->predicted], h->prob, h->applicable);
		if (!h->applicable) {
			/* CAM on a non-GAP head: the row says so, every value is NULL. */
			for (l = 0; l < 2 + 2 * NLOBES + 10; l++)
				sul_buf_adds(&b, "\t");
			sul_buf_addc(&b, '\n');
			continue;
		}
		add_num(&b, h->raw_min);
		add_num(&b, h->raw_max);
		for (l = 0; l < NLOBES; l++)
			add_num(&b, h->has_lobes ? h->lobes[l].share : NAN);
		for (l = 0; l < NLOBES; l++)
			add_num(&b, h->has_lobes ? h->lobes[l].peak : NAN);
		sul_buf_addf(&b, "\t%s\t%s\t%s", h->peak_lobe ? lobe_names[h->peak_lobe - 1] : "",
			     h->top_lobe ? lobe_names[h->top_lobe - 1] : "",
			     h->lobe_source == 1 ? "labels" : h->lobe_source == 2 ? "geometric" : "");
		if (h->pointing < 0)
			sul_buf_adds(&b, "\t");
		else
			sul_buf_addf(&b, "\t%d", h->pointing);
		add_num(&b, h->lesion_share);
		add_num(&b, h->score);
		add_num(&b, h->masked_score);
		add_num(&b, h->deletion);
		add_num(&b, h->insertion);
		add_num(&b, h->sanity);
		sul_buf_addc(&b, '\n');
	}
	r = write_table(R->ctx, "heatmaps", &b, err);
	sul_buf_release(&b);
	return r;
}

static void test_row(struct sul_buf *b, const char *method, const char *name, double value, double df, double p,
		     double n)
{
	sul_buf_addf(b, "%s\t%s", method, name);
	add_num(b, value);
	add_num(b, df);
	add_num(b, p);
	add_num(b, n);
	sul_buf_addc(b, '\n');
}

static int metric(const struct sul_stage_ctx *ctx, const char *name, const char *method, double v, struct sul_err *err)
{
	char buf[128];

	if (isnan(v))
		return 0;
	snprintf(buf, sizeof(buf), "%s_%s", name, method);
	/* Speeds are measurements of this run, kept out of the output's digest. */
	return strstr(name, "_per_s") ? sul_ctx_timing(ctx, buf, -1, v, err) : sul_ctx_metric(ctx, buf, -1, v, err);
}

/* Is row h the heatmap of the model's own decision (target = prediction)? */
static int decision(const struct hrow *h)
{
	return h->applicable && h->target == h->predicted;
}

/* Mean pairwise correlation of the decision maps of method m among rows
 * whose key (subject, or group + slice) agrees; returns the mean over keys. */
static double consistency(const struct run *R, int m, int by_group, double *npairs)
{
	const size_t msz = (size_t)R->lh * R->lw;
	double sum = 0;
	size_t i, j, keys = 0;
	unsigned char *done = sul_xcalloc(R->nrows ? R->nrows : 1, 1);

	*npairs = 0;
	for (i = 0; i < R->nrows; i++) {
		const struct hrow *a = &R->rows[i];
		const struct sul_slice *sa = &R->d.rows[a->slice_row];
		const float **maps;
		size_t n = 0;
		double r;
		if (done[i] || a->method != m || !decision(a))
			continue;
		maps = sul_xmalloc(R->nrows * sizeof(*maps));
		for (j = i; j < R->nrows; j++) {
			const struct hrow *c = &R->rows[j];
			const struct sul_slice *sc = &R->d.rows[c->slice_row];
			int same = by_group ? !strcmp(sa->group, sc->group) && sa->slice == sc->slice
					    : !strcmp(sa->subject, sc->subject);
			if (!done[j] && c->method == m && decision(c) && same) {
				done[j] = 1;
				maps[n++] = c->small;
			}
		}
		r = sul_mean_pairwise_pearson(maps, n, msz);
		if (!isnan(r)) {
			sum += r;
			keys++;
			*npairs += (double)n * (n - 1) / 2;
		}
		free(maps);
	}
	free(done);
	return keys ? sum / keys : NAN;
}

static int summaries(struct run *R, struct sul_err *err)
{
	const size_t msz = (size_t)R->lh * R->lw;
	struct sul_buf lobes = SUL_BUF_INIT, tests = SUL_BUF_INIT;
	char **groups = sul_xcalloc(R->d.n ? R->d.n : 1, sizeof(char *));
	size_t ng = 0, i, g;
	int m, m2, l, ret = -1;

	for (i = 0; i < R->d.n; i++) {
		for (g = 0; g < ng && strcmp(groups[g], R->d.rows[i].group); g++)
			;
		if (g == ng)
			groups[ng++] = R->d.rows[i].group;
	}
	sul_buf_adds(&lobes, "method\tgroup_name\tlobe\tpeaks\theatmaps\tfraction\n");
	sul_buf_adds(&tests, "method\tname\tvalue\tdf\tp\tn\n");
	for (m = 0; m < NMETHODS; m++) {
		double *table, chi2, df, p, n_ad = 0, ad = 0, ic = 0, del = 0, ins = 0, nd = 0, san = 0, nsan = 0;
		double hits = 0, npt = 0, lshare = 0, nls = 0, np, r;
		size_t applicable = 0;
		if (!R->use[m])
			continue;
		table = sul_xcalloc(ng * NLOBES, sizeof(double));
		for (i = 0; i < R->nrows; i++) {
			const struct hrow *h = &R->rows[i];
			if (h->method != m || !h->applicable)
				continue;
			applicable++;
			if (h->peak_lobe)
				for (g = 0; g < ng; g++)
					if (!strcmp(groups[g], R->d.rows[h->slice_row].group))
						table[g * NLOBES + h->peak_lobe - 1] += 1;
			if (h->score > 0) {
				ad += (h->score > h->masked_score ? h->score - h->masked_score : 0) / h->score;
				ic += h->masked_score > h->score;
				n_ad++;
			}
			if (!isnan(h->deletion)) {
				del += h->deletion;
				ins += h->insertion;
				nd++;
			}
			if (!isnan(h->sanity)) {
				san += h->sanity;
				nsan++;
			}
			if (h->pointing >= 0) {
				hits += h->pointing;
				npt++;
			}
			if (!isnan(h->lesion_share)) {
				lshare += h->lesion_share;
				nls++;
			}
		}
		if (!applicable) {
			test_row(&tests, method_names[m], "not_applicable", 1, NAN, NAN, 0);
			free(table);
			continue;
		}
		for (g = 0; g < ng; g++) {
			double tot = 0;
			for (l = 0; l < NLOBES; l++)
				tot += table[g * NLOBES + l];
			for (l = 0; l < NLOBES; l++) {
				sul_buf_addf(&lobes, "%s\t%s\t%s\t%.0f\t%.0f", method_names[m], groups[g], lobe_names[l],
					     table[g * NLOBES + l], tot);
				add_num(&lobes, tot > 0 ? table[g * NLOBES + l] / tot : NAN);
				sul_buf_addc(&lobes, '\n');
			}
		}
		{
			struct sul_chi2 c2 = sul_chi2_independence(table, (int)ng, NLOBES);
			double peaks = 0;
			chi2 = c2.stat;
			df = c2.df;
			p = c2.p;
			for (i = 0; i < ng * NLOBES; i++)
				peaks += table[i];
			/* Without lobe labels there is nothing to test. */
			if (peaks > 0) {
				test_row(&tests, method_names[m], "chi2_peak_lobe_by_group", chi2, df, p, peaks);
				if (metric(R->ctx, "chi2_p", method_names[m], p, err))
					goto out;
			}
		}
		r = consistency(R, m, 0, &np);
		test_row(&tests, method_names[m], "consistency_within_subject", r, NAN, NAN, np);
		if (metric(R->ctx, "consistency_subject", method_names[m], r, err))
			goto out;
		r = consistency(R, m, 1, &np);
		test_row(&tests, method_names[m], "consistency_within_group", r, NAN, NAN, np);
		if (metric(R->ctx, "consistency_group", method_names[m], r, err))
			goto out;
		for (m2 = m + 1; m2 < NMETHODS; m2++) {
			double sum = 0, cnt = 0;
			char name[64];
			size_t j;
			if (!R->use[m2])
				continue;
			for (i = 0; i < R->nrows; i++) {
				const struct hrow *a = &R->rows[i];
				if (a->method != m || !decision(a))
					continue;
				for (j = 0; j < R->nrows; j++) {
					const struct hrow *c = &R->rows[j];
					if (c->method == m2 && c->applicable && c->slice_row == a->slice_row && c->target == a->target) {
						double rr = sul_pearson(a->small, c->small, msz);
						if (!isnan(rr)) {
							sum += rr;
							cnt++;
						}
						break;
					}
				}
			}
			snprintf(name, sizeof(name), "agreement_with_%s", method_names[m2]);
			test_row(&tests, method_names[m], name, cnt ? sum / cnt : NAN, NAN, NAN, cnt);
		}
		test_row(&tests, method_names[m], "average_drop", n_ad ? 100 * ad / n_ad : NAN, NAN, NAN, n_ad);
		test_row(&tests, method_names[m], "increase_in_confidence", n_ad ? 100 * ic / n_ad : NAN, NAN, NAN, n_ad);
		test_row(&tests, method_names[m], "deletion_auc", nd ? del / nd : NAN, NAN, NAN, nd);
		test_row(&tests, method_names[m], "insertion_auc", nd ? ins / nd : NAN, NAN, NAN, nd);
		test_row(&tests, method_names[m], "pointing_game", npt ? hits / npt : NAN, NAN, NAN, npt);
		test_row(&tests, method_names[m], "lesion_share", nls ? lshare / nls : NAN, NAN, NAN, nls);
		test_row(&tests, method_names[m], "sanity_rank_correlation", nsan ? san / nsan : NAN, NAN, NAN, nsan);
		if (metric(R->ctx, "average_drop", method_names[m], n_ad ? 100 * ad / n_ad : NAN, err)
		    || metric(R->ctx, "increase_in_confidence", method_names[m], n_ad ? 100 * ic / n_ad : NAN, err)
		    || metric(R->ctx, "deletion_auc", method_names[m], nd ? del / nd : NAN, err)
		    || metric(R->ctx, "insertion_auc", method_names[m], nd ? ins / nd : NAN, err)
		    || metric(R->ctx, "pointing_game", method_names[m], npt ? hits / npt : NAN, err)
		    || metric(R->ctx, "lesion_share", method_names[m], nls ? lshare / nls : NAN, err)
		    || metric(R->ctx, "sanity_rho", method_names[m], nsan ? san / nsan : NAN, err)
		    || metric(R->ctx, "heatmaps_per_s", method_names[m],
			      R->secs[m] > 0 ? R->counted[m] / R->secs[m] : NAN, err))
			goto out;
		free(table);
	}
	if (write_table(R->ctx, "heatmap_lobes", &lobes, err) || write_table(R->ctx, "heatmap_tests", &tests, err))
		goto out;
	ret = 0;
out:
	sul_buf_release(&lobes);
	sul_buf_release(&tests);
	free(groups);
	return ret;
}

static int cam_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const char *tm = sul_ctx_str(ctx, "target"), *split_name = sul_ctx_str(ctx, "split");
	const int split = sul_split_from_name(split_name);
	const int target_mode = !strcmp(tm, "all") ? 2 : !strcmp(tm, "true") ? 1 : 0;
	char *dir = NULL, *subj_buf = sul_xstrdup(sul_ctx_str(ctx, "subjects")), *only[4096];
	size_t nonly = sul_split_list(subj_buf, only, 4096), i, *rows = NULL, nsel = 0, nsubj = 0, subj_done = 0;
	double t_subjects;
	struct run R;
	struct sul_dn_layer li;
	int ret = -1, m;
	struct sul_model_device dev;

	memset(&R, 0, sizeof(R));
	R.ctx = ctx;
	R.batch = (int)sul_ctx_int(ctx, "batch");
	R.score_mode = !strcmp(sul_ctx_str(ctx, "score"), "softmax") ? SUL_DN_PROB : SUL_DN_LOGIT;
	R.steps = (int)sul_ctx_int(ctx, "curve_steps");
	R.alpha = sul_ctx_float(ctx, "alpha");
	R.tol = sul_ctx_float(ctx, "pointing_tolerance");
	R.lobe_fallback = (int)sul_ctx_int(ctx, "lobe_fallback");
	R.overlay = !strcmp(sul_ctx_str(ctx, "overlay"), "t2") ? 1 : !strcmp(sul_ctx_str(ctx, "overlay"), "flair") ? 2 : 0;
	if (parse_methods(sul_ctx_str(ctx, "methods"), R.use, err))
		goto out;
	dir = sul_model_find(ctx, (int)sul_ctx_int(ctx, "pick"), err);
	if (!dir || sul_slicedata_read(ctx, sul_ctx_str(ctx, "table"), &R.d, err))
		goto out;
	if (sul_model_device(ctx, &dev, err)
	    || sul_model_open(dir, sul_ctx_str(ctx, "weights"), R.batch, &dev, ctx->out, &R.m, err)
	    || sul_model_note_backend(ctx, &R.m.info, err))
		goto out;
	R.layer = (int)sul_ctx_int(ctx, "layer");
	if (R.layer < 0)
		R.layer = R.m.info.last_spatial;
	if (R.layer < 0 || R.layer >= R.m.info.nlayers - 1) {
		sul_err_set(err, SUL_ERR_INPUT, "layer %d: expected 0..%d (the model has %d layers)", R.layer,
			    R.m.info.nlayers - 2, R.m.info.nlayers);
		goto out;
	}
	R.m.api->layer(R.m.net, R.layer, &li);
	if (li.out_w < 2 && li.out_h < 2) {
		sul_err_set(err, SUL_ERR_INPUT, "layer %d ([%s]) has no spatial feature maps (%dx%dx%d)", R.layer, li.type,
			    li.out_w, li.out_h, li.out_c);
		goto out;
	}
	R.lw = li.out_w, R.lh = li.out_h, R.lc = li.out_c;
	R.cam_layer = R.m.info.gap_layer;
	R.cam_ok = R.cam_layer >= 0;
	if (R.cam_ok && R.use[M_CAM]) {
		struct sul_dn_layer cl;
		R.m.api->layer(R.m.net, R.cam_layer, &cl);
		if (cl.out_w != R.lw || cl.out_h != R.lh || cl.out_c != R.lc) {
			/* CAM is defined at the layer before the pool; keep one grid. */
			sul_err_set(err, SUL_ERR_INPUT, "CAM's layer %d and the target layer %d differ in shape: give "
				    "layer = %d or drop cam from methods", R.cam_layer, R.layer, R.cam_layer);
			goto out;
		}
		R.camw = sul_xmalloc(sizeof(float) * (size_t)R.m.classes * R.lc);
		if (R.m.api->cam_weights(R.m.net, R.camw, err))
			goto out;
	}
	if (R.use[M_CAM] && !R.cam_ok)
		fprintf(stderr, "cam: the model has no GAP head: CAM is recorded as not applicable\n");
	fprintf(stderr, "cam: target layer %d [%s] %dx%dx%d; methods:%s%s%s; target %s; score %s\n", R.layer, li.type,
		R.lw, R.lh, R.lc, R.use[0] ? " cam" : "", R.use[1] ? " gradcam" : "", R.use[2] ? " gradcampp" : "", tm,
		R.score_mode == SUL_DN_PROB ? "softmax" : "logit");
	for (i = 0; i < (size_t)R.d.classes && i < (size_t)R.m.classes; i++)
		if (strcmp(R.d.class_names[i], R.m.class_names[i])) {
			sul_err_set(err, SUL_ERR_INPUT, "class %zu is '%s' in the data but '%s' in the model", i,
				    R.d.class_names[i], R.m.class_names[i]);
			goto out;
		}
	R.size = R.m.info.w;
	if (sul_slicedata_load(&R.d, R.m.info.w, R.m.info.h, split < 0 ? ~0u : 1u << split, err))
		goto out;
	rows = sul_xmalloc((R.d.n ? R.d.n : 1) * sizeof(*rows));
	for (i = 0; i < R.d.n; i++) {
		size_t k;
		int keep = split < 0 || R.d.rows[i].split == split;
		if (keep && nonly) {
			for (k = 0; k < nonly && strcmp(only[k], R.d.rows[i].subject); k++)
				;
			keep = k < nonly;
		}
		if (keep)
			rows[nsel++] = i;
	}
	if (!nsel) {
		sul_err_set(err, SUL_ERR_INPUT, "no '%s' slices%s to explain", split_name, nonly ? " of the given subjects" : "");
		goto out;
	}
	/* Subject by subject (the table lists a subject's slices together). */
	for (i = 0; i < nsel; i++)
		nsubj += !i || strcmp(R.d.rows[rows[i]].subject, R.d.rows[rows[i - 1]].subject);
	t_subjects = sul_now_s();
	for (i = 0; i < nsel;) {
		size_t j = i;
		while (j < nsel && !strcmp(R.d.rows[rows[j]].subject, R.d.rows[rows[i]].subject))
			j++;
		fprintf(stderr, "cam: %s: %zu slices\n", R.d.rows[rows[i]].subject, j - i);
		if (do_subject(&R, rows + i, j - i, target_mode, err)) {
			sul_err_prefix(err, "subject '%s'", R.d.rows[rows[i]].subject);
			goto out;
		}
		{
			/* The ETA by slices: subjects differ in how many they have. */
			double el = sul_now_s() - t_subjects, maps = 0;
			char eta[32];
			for (m = 0; m < NMETHODS; m++)
				maps += (double)R.counted[m];
			sul_format_eta(el / (double)j * (double)(nsel - j), eta);
			fprintf(stderr, "progress: subject %zu/%zu %.1f heatmaps/s ETA %s\n", ++subj_done, nsubj,
				el > 0 ? maps / el : 0, eta);
		}
		i = j;
	}
	for (m = 0; m < NMETHODS; m++)
		if (R.counted[m])
			fprintf(stderr, "cam: %s: %zu heatmaps, %.1f per second\n", method_names[m], R.counted[m],
				R.counted[m] / R.secs[m]);
	if (sul_ctx_int(ctx, "sanity") && sanity_pass(&R, err))
		goto out;
	if (heatmaps_table(&R, err) || summaries(&R, err))
		goto out;
	ret = 0;
out:
	for (i = 0; i < R.nrows; i++)
		free(R.rows[i].small);
	free(R.rows);
	free(R.camw);
	if (R.m.net || R.m.class_names)
		sul_model_close(&R.m);
	sul_slicedata_release(&R.d);
	free(rows);
	free(dir);
	free(subj_buf);
	return ret;
}

/* Join with executions on cache_key to know the stage (one cam stage per
 * model), e.g. how often each lobe holds the Grad-CAM peak, per group:
 *   SELECT e.stage, l.group_name, l.lobe, l.fraction FROM heatmap_lobes l
 *   JOIN latest_executions e USING (cache_key) WHERE l.method = 'gradcam'; */
static const struct sul_table_spec cam_tables[] = {
	{ "heatmaps", "one heatmap: slice x method x target class",
	  "subject         TEXT NOT NULL,\n"
	  "  slice           INTEGER,            -- axial index in the subject's volume\n"
	  "  group_name      TEXT NOT NULL,      -- RRMS, SPMS, HC, ...\n"
	  "  label           TEXT NOT NULL,      -- true class\n"
	  "  method          TEXT NOT NULL,      -- cam, gradcam, gradcampp\n"
	  "  target          TEXT NOT NULL,      -- the class the heatmap explains\n"
	  "  predicted       TEXT NOT NULL,      -- the model's class for the slice\n"
	  "  prob            REAL NOT NULL,      -- the model's probability of target\n"
	  "  applicable      INTEGER NOT NULL,   -- 0: CAM on a model without a GAP head (every value below NULL)\n"
	  "  raw_min         REAL,               -- the map's range before normalization to [0, 1]\n"
	  "  raw_max         REAL,\n"
	  "  share_frontal   REAL,               -- share of the (normalized) heat in each lobe, of the heat inside "
	  "the brain\n"
	  "  share_temporal  REAL,\n"
	  "  share_parietal  REAL,\n"
	  "  share_occipital REAL,\n"
	  "  share_other     REAL,\n"
	  "  peak_frontal    REAL,               -- the highest heat in each lobe\n"
	  "  peak_temporal   REAL,\n"
	  "  peak_parietal   REAL,\n"
	  "  peak_occipital  REAL,\n"
	  "  peak_other      REAL,\n"
	  "  peak_lobe       TEXT,               -- the lobe holding the heatmap's maximum (\"most highlighted\")\n"
	  "  top_lobe        TEXT,               -- the lobe with the largest share\n"
	  "  lobe_source     TEXT,               -- 'labels' (an atlas in subject space) or 'geometric' (the fallback)\n"
	  "  pointing        INTEGER,            -- pointing game: 1 hit, 0 miss; NULL: no lesion in the slice\n"
	  "  lesion_share    REAL,               -- share of the heat inside the lesion mask\n"
	  "  score           REAL,               -- probability of target on the slice ...\n"
	  "  masked_score    REAL,               -- ... and on the slice times its heatmap (Average Drop)\n"
	  "  deletion_auc    REAL,               -- area under the deletion curve (lower: more faithful)\n"
	  "  insertion_auc   REAL,               -- area under the insertion curve (higher: more faithful)\n"
	  "  sanity_rho      REAL                -- Spearman correlation with the randomized model's heatmap",
	  "method" },
	{ "heatmap_lobes", "how often each lobe holds the peak, per method and group",
	  "method     TEXT NOT NULL,\n"
	  "  group_name TEXT NOT NULL,\n"
	  "  lobe       TEXT NOT NULL,\n"
	  "  peaks      INTEGER NOT NULL,        -- heatmaps whose peak lies in lobe\n"
	  "  heatmaps   INTEGER NOT NULL,        -- heatmaps of that method and group with a peak in the brain\n"
	  "  fraction   REAL                     -- peaks / heatmaps",
	  NULL },
	/* name says which: chi2_peak_lobe_by_group (value = chi-square, df, p;
	 * n heatmaps), consistency_within_subject / _within_group (mean
	 * pairwise Pearson r; n pairs), agreement_with_<method>, average_drop,
	 * increase_in_confidence (%), deletion_auc, insertion_auc,
	 * pointing_game, lesion_share, sanity_rank_correlation,
	 * not_applicable (CAM without a GAP head). */
	{ "heatmap_tests", "per method: a test or summary statistic",
	  "method    TEXT NOT NULL,\n"
	  "  name      TEXT NOT NULL,            -- chi2_peak_lobe_by_group, consistency_within_subject, ...\n"
	  "  value     REAL,\n"
	  "  df        REAL,\n"
	  "  p         REAL,\n"
	  "  n         REAL",
	  NULL },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_cam = {
	.name = "cam",
	.version = 1,
	.doc = "CAM, Grad-CAM and Grad-CAM++ heatmaps with lobe statistics, group comparison, localization, "
	       "faithfulness and sanity checks",
	.params = cam_params,
	.resources = &cam_resources,
	.tables = cam_tables,
	.check = cam_check,
	.run = cam_run,
};
