/*
 * cam_methods.c - the `cam` kind's methods: what each needs from the
 * network and the arithmetic it then calls (stages/heatmap.h for the CAM
 * family, stages/attribution.h for the pixel-space attributions), for one
 * batch of images.  The passes a method needs are kept in the batch's work
 * (struct cam_work) so that the methods after it that need the same reuse
 * them: one gradient pass per target serves every gradient method, one
 * guided pass guided backpropagation and Guided Grad-CAM, and the score
 * tables of Score-CAM, Ablation-CAM and occlusion, which do not depend on
 * the target, are made once per batch of images.
 */
#include "cam_int.h"
#include "../engine/clock.h"
#include "attribution.h"
#include "heatmap.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The methods whose maps have the input's resolution. */
static int pixel_method(int m)
{
	return m >= M_GUIDEDBP;
}

/* The methods a smoothing (smooth_cams) applies to: one pass at the layer. */
static int smoothable(int m)
{
	return m <= M_EIGENCAM;
}

void sul_cam_map_dims(const struct cam_run *run, int method, int *h, int *w)
{
	*h = pixel_method(method) ? run->size : run->lh;
	*w = pixel_method(method) ? run->size : run->lw;
}

/* Rows of each score table per image (classes floats a row): Score-CAM's
 * a channel each; Ablation-CAM's a channel each and the unablated logits;
 * occlusion's a window each and the unoccluded scores. */
static size_t table_rows(const struct cam_run *run, int t)
{
	return t == T_SCORE ? (size_t)run->lc : t == T_ABLATE ? (size_t)run->lc + 1 : (size_t)run->occ_n * run->occ_n + 1;
}

void sul_cam_work_init(const struct cam_run *run, struct cam_work *w)
{
	const size_t lsz = (size_t)run->lc * run->lh * run->lw, one = (size_t)run->size * run->size * 3;
	const int nb = run->batch, uses[NTABLES] = { run->use[M_SCORECAM], run->use[M_ABLATIONCAM], run->use[M_OCCLUSION] };
	int t, m, pixel = 0;

	memset(w, 0, sizeof(*w));
	for (m = 0; m < NMETHODS; m++)
		pixel |= run->use[m] && (pixel_method(m) || (run->smooth_cams && smoothable(m)));
	w->A = sul_xmalloc(sizeof(float) * lsz * nb);
	w->G = sul_xmalloc(sizeof(float) * lsz * nb);
	w->grad_layer = -2;
	for (t = 0; t < NTABLES; t++)
		if (uses[t])
			w->table[t] = sul_xmalloc(sizeof(float) * table_rows(run, t) * run->model.classes * nb);
	w->xb = sul_xmalloc(sizeof(float) * one * nb);
	w->scores = sul_xmalloc(sizeof(float) * (size_t)run->model.classes * nb);
	w->mask = sul_xmalloc(sizeof(float) * one / 3);
	if (run->use[M_ABLATIONCAM])
		w->acts = sul_xmalloc(sizeof(float) * lsz * nb);
	if (pixel) {
		w->gin = sul_xmalloc(sizeof(float) * one * nb);
		w->xa = sul_xmalloc(sizeof(float) * one * nb);
		w->gs = sul_xmalloc(sizeof(float) * one * nb);
		w->acc = sul_xmalloc(sizeof(float) * one * nb);
	}
	if (run->smooth_cams) {
		w->sA = sul_xmalloc(sizeof(float) * lsz * nb);
		w->sG = sul_xmalloc(sizeof(float) * lsz * nb);
	}
	w->check = sul_xmalloc(sizeof(double) * nb);
}

void sul_cam_work_release(struct cam_work *w)
{
	int t;

	free(w->A);
	free(w->G);
	for (t = 0; t < NTABLES; t++)
		free(w->table[t]);
	free(w->xb);
	free(w->scores);
	free(w->mask);
	free(w->acts);
	free(w->gin);
	free(w->xa);
	free(w->gs);
	free(w->acc);
	free(w->sA);
	free(w->sG);
	free(w->check);
	memset(w, 0, sizeof(*w));
}

void sul_cam_work_reset(struct cam_work *w, int images)
{
	int t;

	w->grad_layer = -2;
	w->grad_secs = 0;
	w->guided_ok = 0;
	if (images)
		for (t = 0; t < NTABLES; t++)
			w->table_ok[t] = 0;
}

/* Activations and gradients of the targets' scores at `layer`. */
static int need_gradients(const struct cam_run *run, struct cam_work *w, int layer, struct sul_err *err)
{
	double t0;

	if (w->grad_layer == layer)
		return 0;
	t0 = sul_now_s();
	if (run->model.api->gradients(run->model.net, w->x, w->n, layer, w->target, run->score_mode, w->A, w->G, NULL,
				      err))
		return -1;
	w->grad_secs = sul_now_s() - t0;
	w->grad_layer = layer;
	return 0;
}

/* Guided backpropagation's input gradients of the targets' scores. */
static int need_guided(const struct cam_run *run, struct cam_work *w, struct sul_err *err)
{
	double t0;

	if (w->guided_ok)
		return 0;
	t0 = sul_now_s();
	if (run->model.api->gradients(run->model.net, w->x, w->n, -1, w->target, run->score_mode | SUL_DN_GUIDED,
				      w->xa, w->gin, NULL, err))
		return -1;
	w->guided_secs = sul_now_s() - t0;
	w->guided_ok = 1;
	return 0;
}

/* Row r of image i's score table t: classes floats. */
static float *table_row(const struct cam_run *run, const struct cam_work *w, int t, int i, size_t r)
{
	return w->table[t] + ((size_t)i * table_rows(run, t) + r) * run->model.classes;
}

/* The scores of n images of x by the run's score: logits or probabilities. */
static int scores_of(const struct cam_run *run, const float *x, int n, float *out, struct sul_err *err)
{
	const struct sul_dn_api *api = run->model.api;

	return run->score_mode == SUL_DN_PROB ? api->predict(run->model.net, x, n, out, err)
					      : api->logits(run->model.net, x, n, out, err);
}

/*
 * A score table from altered copies of each image: make(run, w, i, r, xi)
 * writes copy r of image i into xi, or returns 0 when there is none (its
 * row is NaN); run->batch copies go through the network at a time, scored
 * by probabilities (prob = 1) or the run's score.
 */
typedef int (*copy_fn)(const struct cam_run *run, const struct cam_work *w, int i, size_t r, float *xi);

static int score_copies(const struct cam_run *run, struct cam_work *w, int t, size_t ncopies, copy_fn make, int prob,
			struct sul_err *err)
{
	const size_t one = (size_t)run->size * run->size * 3;
	const int classes = run->model.classes;
	int slot_img[CAM_MAX_BATCH], n = 0, i, j;
	size_t slot_row[CAM_MAX_BATCH], r;

	for (i = 0; i < w->n; i++)
		for (r = 0; r < ncopies; r++) {
			if (!make(run, w, i, r, w->xb + one * n)) {
				for (j = 0; j < classes; j++)
					table_row(run, w, t, i, r)[j] = NAN;
			} else {
				slot_img[n] = i;
				slot_row[n++] = r;
			}
			if (n == run->batch || (n && i == w->n - 1 && r == ncopies - 1)) {
				if (prob ? run->model.api->predict(run->model.net, w->xb, n, w->scores, err)
					 : scores_of(run, w->xb, n, w->scores, err))
					return -1;
				for (j = 0; j < n; j++)
					memcpy(table_row(run, w, t, slot_img[j], slot_row[j]), w->scores + (size_t)j * classes,
					       sizeof(float) * classes);
				n = 0;
			}
		}
	return 0;
}

/* Score-CAM: image i masked by channel r of its activations. */
static int scorecam_copy(const struct cam_run *run, const struct cam_work *w, int i, size_t r, float *xi)
{
	const size_t plane = (size_t)run->size * run->size, msz = (size_t)run->lh * run->lw;
	const float *Ar = w->A + ((size_t)i * run->lc + r) * msz;

	if (!sul_scorecam_mask(Ar, run->lh, run->lw, w->mask, run->size, run->size))
		return 0;
	sul_cam_mask_image(w->x + plane * 3 * i, w->mask, plane, xi);
	return 1;
}

/* Occlusion: image i with window r set to 0, or whole as the last row. */
static int occlusion_copy(const struct cam_run *run, const struct cam_work *w, int i, size_t r, float *xi)
{
	const size_t plane = (size_t)run->size * run->size;
	const int n = run->occ_n, P = run->occ_patch;
	int ch, y;

	memcpy(xi, w->x + plane * 3 * i, sizeof(float) * plane * 3);
	if (r == (size_t)n * n)
		return 1;
	for (ch = 0; ch < 3; ch++)
		for (y = run->occ_off[r / n]; y < run->occ_off[r / n] + P; y++)
			memset(xi + ch * plane + (size_t)y * run->size + run->occ_off[r % n], 0, sizeof(float) * P);
	return 1;
}

/*
 * Ablation-CAM's table: the logits of every class with each channel of the
 * target layer set to 0 in every image (the rest of the network rerun
 * above the layer, dn.h forward_from()), and in the last row the logits
 * without ablation.
 */
static int ablate_channels(const struct cam_run *run, struct cam_work *w, struct sul_err *err)
{
	const size_t msz = (size_t)run->lh * run->lw, lsz = msz * run->lc;
	const int classes = run->model.classes;
	float *acts = w->acts;
	int i, c;

	/* A forward of these images for forward_from() to build on. */
	if (run->model.api->logits(run->model.net, w->x, w->n, w->scores, err))
		return -1;
	for (i = 0; i < w->n; i++)
		memcpy(table_row(run, w, T_ABLATE, i, run->lc), w->scores + (size_t)i * classes, sizeof(float) * classes);
	memcpy(acts, w->A, sizeof(float) * lsz * w->n);
	for (c = 0; c < run->lc; c++) {
		for (i = 0; i < w->n; i++)
			memset(acts + lsz * i + msz * c, 0, sizeof(float) * msz);
		if (run->model.api->forward_from(run->model.net, w->n, run->layer, acts, w->scores, err))
			return -1;
		for (i = 0; i < w->n; i++) {
			memcpy(table_row(run, w, T_ABLATE, i, c), w->scores + (size_t)i * classes, sizeof(float) * classes);
			memcpy(acts + lsz * i + msz * c, w->A + lsz * i + msz * c, sizeof(float) * msz);
		}
	}
	return 0;
}

/* Score table t, made once per batch of images. */
static int need_table(const struct cam_run *run, struct cam_work *w, int t, struct sul_err *err)
{
	double t0;
	int r;

	if (w->table_ok[t])
		return 0;
	if (t != T_OCCLUDE && need_gradients(run, w, run->layer, err))
		return -1;
	t0 = sul_now_s();
	if (t == T_SCORE)
		r = score_copies(run, w, t, (size_t)run->lc, scorecam_copy, 1, err);
	else if (t == T_ABLATE)
		r = ablate_channels(run, w, err);
	else
		r = score_copies(run, w, t, table_rows(run, t), occlusion_copy, 0, err);
	if (r)
		return -1;
	w->table_secs[t] = sul_now_s() - t0;
	w->table_ok[t] = 1;
	return 0;
}

/* One image's map of a method of the CAM family from its A and G. */
static void layer_map(const struct cam_run *run, const struct cam_work *w, int m, int i, const float *A,
		      const float *G, float *map)
{
	const int lc = run->lc, lh = run->lh, lw = run->lw;

	switch (m) {
	case M_CAM: sul_cam(A, run->camw + (size_t)w->target[i] * lc, lc, lh, lw, map); break;
	case M_GRADCAM: sul_gradcam(A, G, lc, lh, lw, map); break;
	case M_GRADCAMPP: sul_gradcampp(A, G, lc, lh, lw, map); break;
	case M_HIRESCAM: sul_hirescam(A, G, lc, lh, lw, map); break;
	case M_XGRADCAM: sul_xgradcam(A, G, lc, lh, lw, map); break;
	case M_LAYERCAM: sul_layercam(A, G, lc, lh, lw, map); break;
	default: sul_eigencam(A, lc, lh, lw, map); break;
	}
}

/* Score-CAM's or Ablation-CAM's map of image i from its score table. */
static void table_map(const struct cam_run *run, const struct cam_work *w, int m, int i, float *map)
{
	const size_t lsz = (size_t)run->lc * run->lh * run->lw;
	const int t = m == M_SCORECAM ? T_SCORE : T_ABLATE, cls = w->target[i];
	double *wts = sul_xmalloc(sizeof(double) * run->lc);
	float *y = sul_xmalloc(sizeof(float) * run->lc);
	int c;

	for (c = 0; c < run->lc; c++) {
		y[c] = table_row(run, w, t, i, (size_t)c)[cls];
		wts[c] = isnan(y[c]) ? 0 : y[c];
	}
	if (m == M_ABLATIONCAM)
		sul_ablationcam_weights(table_row(run, w, t, i, (size_t)run->lc)[cls], y, run->lc, wts);
	sul_weighted_map(w->A + lsz * i, wts, run->lc, run->lh, run->lw, map);
	free(wts);
	free(y);
}

/* Occlusion's map of image i: the drop of its target's score per window. */
static void occlusion_image_map(const struct cam_run *run, const struct cam_work *w, int i, float *map)
{
	const size_t nwin = (size_t)run->occ_n * run->occ_n;
	const int cls = w->target[i];
	const double base = table_row(run, w, T_OCCLUDE, i, nwin)[cls];
	double *drop = sul_xmalloc(sizeof(double) * nwin);
	size_t r;

	for (r = 0; r < nwin; r++)
		drop[r] = base - table_row(run, w, T_OCCLUDE, i, r)[cls];
	sul_occlusion_map(drop, run->occ_off, run->occ_n, run->occ_patch, run->size, map);
	free(drop);
}

/* The random baseline's map of image i: uniform noise at the layer's
 * resolution, seeded by the run's seed, the image's id and the target, so
 * that it is the same for the randomized model (its sanity figure is 1). */
static void random_map(const struct cam_run *run, const struct cam_work *w, int i, float *map)
{
	const size_t msz = (size_t)run->lh * run->lw;
	struct sul_rng rng;
	size_t p;

	sul_rng_seed(&rng, run->seed * 0x94d049bb133111ebull ^ (uint64_t)w->ids[i] * 0xbf58476d1ce4e5b9ull
				   ^ (uint64_t)w->target[i]);
	for (p = 0; p < msz; p++)
		map[p] = (float)sul_rng_uniform(&rng);
}

/* SmoothGrad's noisy copy s of image i into xi: x + N(0, sigma^2), sigma =
 * smooth_noise x the image's range, seeded by the run's seed, the image's
 * id and s, so that the randomized model sees the same noise. */
static void noisy_copy(const struct cam_run *run, const struct cam_work *w, int i, int s, float *xi)
{
	const size_t one = (size_t)run->size * run->size * 3;
	const float *x = w->x + one * i;
	float lo = x[0], hi = x[0];
	struct sul_rng rng;
	double sigma;
	size_t q;

	for (q = 1; q < one; q++) {
		lo = x[q] < lo ? x[q] : lo;
		hi = x[q] > hi ? x[q] : hi;
	}
	sigma = run->smooth_noise * ((double)hi - lo);
	sul_rng_seed(&rng, run->seed * 0x9e3779b97f4a7c15ull ^ (uint64_t)w->ids[i] * 0xbf58476d1ce4e5b9ull ^ (uint64_t)s);
	for (q = 0; q < one; q++)
		xi[q] = x[q] + (float)(sigma * sul_rng_normal(&rng));
}

/*
 * Input gradients averaged over `steps` altered copies of the images into
 * w->acc: SmoothGrad's noisy copies, or Integrated Gradients' points
 * alpha x on the path from the black baseline (alpha = (s + 0.5) / steps).
 * The copies of all images go through the network run->batch at a time,
 * so that a subject's last, partial batch of slices does not pay for a
 * full batch at every step.
 */
static int mean_input_gradients(const struct cam_run *run, struct cam_work *w, int integrated, int steps,
				struct sul_err *err)
{
	const size_t one = (size_t)run->size * run->size * 3;
	int slot_img[CAM_MAX_BATCH], tg[CAM_MAX_BATCH], n = 0, s, i, j;
	size_t q;

	memset(w->acc, 0, sizeof(float) * one * w->n);
	for (i = 0; i < w->n; i++)
		for (s = 0; s < steps; s++) {
			float *xi = w->xb + one * n;
			const float alpha = (float)((s + 0.5) / steps);
			if (integrated)
				for (q = 0; q < one; q++)
					xi[q] = alpha * w->x[one * i + q];
			else
				noisy_copy(run, w, i, s, xi);
			slot_img[n] = i;
			tg[n++] = w->target[i];
			if (n < run->batch && !(i == w->n - 1 && s == steps - 1))
				continue;
			if (run->model.api->gradients(run->model.net, w->xb, n, -1, tg, run->score_mode, w->xa, w->gs,
						      NULL, err))
				return -1;
			for (j = 0; j < n; j++)
				for (q = 0; q < one; q++)
					w->acc[one * slot_img[j] + q] += w->gs[one * j + q];
			n = 0;
		}
	for (q = 0; q < one * w->n; q++)
		w->acc[q] /= (float)steps;
	return 0;
}

/* Integrated Gradients' maps, and each one's completeness in w->check. */
static int integrated_maps(const struct cam_run *run, struct cam_work *w, float *maps, struct sul_err *err)
{
	const size_t plane = (size_t)run->size * run->size, one = plane * 3;
	const int classes = run->model.classes;
	float *fx = sul_xmalloc(sizeof(float) * classes * w->n), *f0 = sul_xmalloc(sizeof(float) * classes * w->n);
	int i, ret = -1;

	if (mean_input_gradients(run, w, 1, run->ig_steps, err) || scores_of(run, w->x, w->n, fx, err))
		goto out;
	memset(w->xb, 0, sizeof(float) * one * w->n);
	if (scores_of(run, w->xb, w->n, f0, err))
		goto out;
	for (i = 0; i < w->n; i++) {
		const int c = w->target[i];
		const double sum = sul_attr_integrated(w->x + one * i, w->acc + one * i, plane, maps + plane * i);
		w->check[i] = sul_attr_completeness(sum, fx[i * classes + c], f0[i * classes + c]);
	}
	ret = 0;
out:
	free(fx);
	free(f0);
	return ret;
}

/* Guided Grad-CAM's map of image i: guided backpropagation's magnitude
 * times the normalized Grad-CAM map upsampled, as pytorch-grad-cam does. */
static void guided_gradcam_map(const struct cam_run *run, const struct cam_work *w, int i, float *map)
{
	const size_t plane = (size_t)run->size * run->size, lsz = (size_t)run->lc * run->lh * run->lw;
	float *small = sul_xmalloc(sizeof(float) * run->lh * run->lw);
	size_t p;

	sul_gradcam(w->A + lsz * i, w->G + lsz * i, run->lc, run->lh, run->lw, small);
	sul_upsample_bilinear(small, run->lh, run->lw, w->mask, run->size, run->size);
	sul_minmax01(w->mask, plane);
	sul_attr_magnitude(w->gin + plane * 3 * i, plane, map);
	for (p = 0; p < plane; p++)
		map[p] *= w->mask[p];
	free(small);
}

/* smooth_cams: method m's maps averaged over SmoothGrad's noisy copies. */
static int smoothed_layer_maps(const struct cam_run *run, struct cam_work *w, int m, float *maps, struct sul_err *err)
{
	const size_t one = (size_t)run->size * run->size * 3, lsz = (size_t)run->lc * run->lh * run->lw;
	const size_t msz = (size_t)run->lh * run->lw;
	const int layer = m == M_CAM ? run->cam_layer : run->layer;
	float *tmp = sul_xmalloc(sizeof(float) * msz);
	int s, i, ret = -1;
	size_t p;

	memset(maps, 0, sizeof(float) * msz * w->n);
	for (s = 0; s < run->smooth_n; s++) {
		for (i = 0; i < w->n; i++)
			noisy_copy(run, w, i, s, w->xb + one * i);
		if (run->model.api->gradients(run->model.net, w->xb, w->n, layer, w->target, run->score_mode, w->sA, w->sG,
					      NULL, err))
			goto out;
		for (i = 0; i < w->n; i++) {
			layer_map(run, w, m, i, w->sA + lsz * i, w->sG + lsz * i, tmp);
			for (p = 0; p < msz; p++)
				maps[msz * i + p] += tmp[p] / (float)run->smooth_n;
		}
	}
	ret = 0;
out:
	free(tmp);
	return ret;
}

int sul_cam_maps(const struct cam_run *run, struct cam_work *w, int m, float *maps, double *secs, struct sul_err *err)
{
	const size_t lsz = (size_t)run->lc * run->lh * run->lw;
	const size_t plane = (size_t)run->size * run->size;
	int mh, mw, i, r = 0;
	double t0 = sul_now_s(), shared = 0;
	size_t msz;

	sul_cam_map_dims(run, m, &mh, &mw);
	msz = (size_t)mh * mw;
	for (i = 0; i < w->n; i++)
		w->check[i] = NAN;
	/* First the passes that other methods may have made already: their
	 * time counts toward this method as if it ran alone. */
	if (run->smooth_cams && smoothable(m)) {
		r = smoothed_layer_maps(run, w, m, maps, err);
		goto done;
	}
	if (m == M_SCORECAM || m == M_ABLATIONCAM || m == M_OCCLUSION) {
		const int t = m == M_SCORECAM ? T_SCORE : m == M_ABLATIONCAM ? T_ABLATE : T_OCCLUDE;
		/* The maps weigh A at the target layer, which CAM's pass at its
		 * own layer may have replaced since the table was made. */
		if (need_table(run, w, t, err) || (t != T_OCCLUDE && need_gradients(run, w, run->layer, err)))
			return -1;
		shared = w->table_secs[t] + (t != T_OCCLUDE ? w->grad_secs : 0);
	} else if (m == M_GUIDEDBP || m == M_GUIDEDGRADCAM) {
		if (need_guided(run, w, err) || (m == M_GUIDEDGRADCAM && need_gradients(run, w, run->layer, err)))
			return -1;
		shared = w->guided_secs + (m == M_GUIDEDGRADCAM ? w->grad_secs : 0);
	} else if (m == M_SMOOTHGRAD) {
		r = mean_input_gradients(run, w, 0, run->smooth_n, err);
		for (i = 0; i < w->n && !r; i++)
			sul_attr_magnitude(w->acc + plane * 3 * i, plane, maps + msz * i);
		goto done;
	} else if (m == M_INTGRAD) {
		r = integrated_maps(run, w, maps, err);
		goto done;
	} else if (m == M_RANDOM) {
		for (i = 0; i < w->n; i++)
			random_map(run, w, i, maps + msz * i);
		goto done;
	} else if (need_gradients(run, w, m == M_CAM ? run->cam_layer : run->layer, err)) {
		return -1;
	} else {
		shared = w->grad_secs;
	}
	t0 = sul_now_s();
	for (i = 0; i < w->n; i++) {
		float *map = maps + msz * i;
		if (m == M_SCORECAM || m == M_ABLATIONCAM)
			table_map(run, w, m, i, map);
		else if (m == M_OCCLUSION)
			occlusion_image_map(run, w, i, map);
		else if (m == M_GUIDEDBP)
			sul_attr_magnitude(w->gin + plane * 3 * i, plane, map);
		else if (m == M_GUIDEDGRADCAM)
			guided_gradcam_map(run, w, i, map);
		else
			layer_map(run, w, m, i, w->A + lsz * i, w->G + lsz * i, map);
	}
done:
	if (secs)
		*secs = sul_now_s() - t0 + shared;
	return r;
}

void sul_cam_small(const struct cam_run *run, int m, const float *map, float *small)
{
	int mh, mw;

	sul_cam_map_dims(run, m, &mh, &mw);
	if (mh == run->lh && mw == run->lw)
		memcpy(small, map, sizeof(float) * (size_t)mh * mw);
	else
		sul_downsample_area(map, mh, mw, small, run->lh, run->lw);
	sul_minmax01(small, (size_t)run->lh * run->lw);
}
