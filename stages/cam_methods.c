/*
 * cam_methods.c - the `cam` kind's methods: what each needs from the
 * network and the arithmetic it then calls (stages/heatmap.h), for one
 * batch of images.  The passes a method needs are kept in the batch's
 * work (struct cam_work) so that the methods after it that need the same
 * reuse them: one gradient pass per target serves every gradient method,
 * and the channel scores of Score-CAM and Ablation-CAM, which do not
 * depend on the target, are computed once per batch of images.
 */
#include "cam_int.h"
#include "../engine/clock.h"
#include "heatmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void sul_cam_map_dims(const struct cam_run *run, int method, int *h, int *w)
{
	(void)method;
	*h = run->lh;
	*w = run->lw;
}

void sul_cam_work_init(const struct cam_run *run, struct cam_work *w)
{
	const size_t lsz = (size_t)run->lc * run->lh * run->lw, plane = (size_t)run->size * run->size;
	const int nb = run->batch;
	int i;

	memset(w, 0, sizeof(*w));
	w->A = sul_xmalloc(sizeof(float) * lsz * nb);
	w->G = sul_xmalloc(sizeof(float) * lsz * nb);
	w->grad_layer = -2;
	if (run->use[M_SCORECAM] || run->use[M_ABLATIONCAM]) {
		for (i = 0; i < 2; i++)
			w->chan[i] = sul_xmalloc(sizeof(float) * (size_t)(run->lc + 1) * run->model.classes * nb);
		w->xb = sul_xmalloc(sizeof(float) * plane * 3 * nb);
		w->mask = sul_xmalloc(sizeof(float) * plane);
		w->scores = sul_xmalloc(sizeof(float) * (size_t)run->model.classes * nb);
	}
	if (run->use[M_ABLATIONCAM])
		w->acts = sul_xmalloc(sizeof(float) * lsz * nb);
}

void sul_cam_work_release(struct cam_work *w)
{
	free(w->A);
	free(w->G);
	free(w->chan[0]);
	free(w->chan[1]);
	free(w->xb);
	free(w->mask);
	free(w->scores);
	free(w->acts);
	memset(w, 0, sizeof(*w));
}

void sul_cam_work_reset(struct cam_work *w, int images)
{
	w->grad_layer = -2;
	w->grad_secs = 0;
	if (images)
		w->chan_ok[0] = w->chan_ok[1] = 0;
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

/* Which of w->chan holds method m's channel scores. */
#define CHAN(m) ((m) == M_ABLATIONCAM)

/* Row c of image i's channel scores of method m: classes floats. */
static float *chan_row(const struct cam_run *run, const struct cam_work *w, int m, int i, int c)
{
	return w->chan[CHAN(m)] + ((size_t)i * (run->lc + 1) + c) * run->model.classes;
}

/*
 * Score-CAM's channel scores: the probabilities of every class on each
 * image masked by each channel of its activations, run->batch masked
 * images per pass.  A constant channel has no mask: its row is NaN.
 */
static int score_channels(const struct cam_run *run, struct cam_work *w, struct sul_err *err)
{
	const size_t plane = (size_t)run->size * run->size, one = plane * 3, msz = (size_t)run->lh * run->lw;
	const int classes = run->model.classes, nb = run->batch;
	int slot_img[CAM_MAX_BATCH], slot_ch[CAM_MAX_BATCH], n = 0, i, c, j;

	for (i = 0; i < w->n; i++)
		for (c = 0; c < run->lc; c++) {
			const float *Ac = w->A + ((size_t)i * run->lc + c) * msz;
			if (!sul_scorecam_mask(Ac, run->lh, run->lw, w->mask, run->size, run->size)) {
				for (j = 0; j < classes; j++)
					chan_row(run, w, M_SCORECAM, i, c)[j] = NAN;
			} else {
				sul_cam_mask_image(w->x + one * i, w->mask, plane, w->xb + one * n);
				slot_img[n] = i;
				slot_ch[n++] = c;
			}
			if (n == nb || (n && i == w->n - 1 && c == run->lc - 1)) {
				if (run->model.api->predict(run->model.net, w->xb, n, w->scores, err))
					return -1;
				for (j = 0; j < n; j++)
					memcpy(chan_row(run, w, M_SCORECAM, slot_img[j], slot_ch[j]), w->scores + (size_t)j * classes,
					       sizeof(float) * classes);
				n = 0;
			}
		}
	return 0;
}

/*
 * Ablation-CAM's channel scores: the logits of every class with each
 * channel of the target layer set to 0 in every image (the rest of the
 * network rerun above the layer, dn.h forward_from()), and in row lc the
 * logits without ablation.
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
		memcpy(chan_row(run, w, M_ABLATIONCAM, i, run->lc), w->scores + (size_t)i * classes, sizeof(float) * classes);
	memcpy(acts, w->A, sizeof(float) * lsz * w->n);
	for (c = 0; c < run->lc; c++) {
		for (i = 0; i < w->n; i++)
			memset(acts + lsz * i + msz * c, 0, sizeof(float) * msz);
		if (run->model.api->forward_from(run->model.net, w->n, run->layer, acts, w->scores, err))
			return -1;
		for (i = 0; i < w->n; i++) {
			memcpy(chan_row(run, w, M_ABLATIONCAM, i, c), w->scores + (size_t)i * classes, sizeof(float) * classes);
			memcpy(acts + lsz * i + msz * c, w->A + lsz * i + msz * c, sizeof(float) * msz);
		}
	}
	return 0;
}

/* The channel scores of method m (M_SCORECAM or M_ABLATIONCAM). */
static int need_channels(const struct cam_run *run, struct cam_work *w, int m, struct sul_err *err)
{
	double t0;

	if (w->chan_ok[CHAN(m)])
		return 0;
	if (need_gradients(run, w, run->layer, err))
		return -1;
	t0 = sul_now_s();
	if ((m == M_SCORECAM ? score_channels : ablate_channels)(run, w, err))
		return -1;
	w->chan_secs[CHAN(m)] = sul_now_s() - t0;
	w->chan_ok[CHAN(m)] = 1;
	return 0;
}

/* Score-CAM's or Ablation-CAM's map of image i from the channel scores. */
static void channel_map(const struct cam_run *run, const struct cam_work *w, int m, int i, double *wts, float *y,
			float *map)
{
	const size_t lsz = (size_t)run->lc * run->lh * run->lw;
	const int t = w->target[i];
	int c;

	for (c = 0; c < run->lc; c++) {
		y[c] = chan_row(run, w, m, i, c)[t];
		wts[c] = isnan(y[c]) ? 0 : y[c];
	}
	if (m == M_ABLATIONCAM)
		sul_ablationcam_weights(chan_row(run, w, m, i, run->lc)[t], y, run->lc, wts);
	sul_weighted_map(w->A + lsz * i, wts, run->lc, run->lh, run->lw, map);
}

int sul_cam_maps(const struct cam_run *run, struct cam_work *w, int m, float *maps, double *secs, struct sul_err *err)
{
	const size_t lsz = (size_t)run->lc * run->lh * run->lw, msz = (size_t)run->lh * run->lw;
	const int lc = run->lc, lh = run->lh, lw = run->lw;
	double t0, *wts = NULL;
	float *y = NULL;
	int i;

	if (m == M_SCORECAM || m == M_ABLATIONCAM) {
		if (need_channels(run, w, m, err))
			return -1;
	} else if (need_gradients(run, w, m == M_CAM ? run->cam_layer : run->layer, err)) {
		return -1;
	}
	t0 = sul_now_s();
	if (m == M_SCORECAM || m == M_ABLATIONCAM) {
		wts = sul_xmalloc(sizeof(double) * lc);
		y = sul_xmalloc(sizeof(float) * lc);
	}
	for (i = 0; i < w->n; i++) {
		const float *A = w->A + lsz * i, *G = w->G + lsz * i;
		float *map = maps + msz * i;
		switch (m) {
		case M_CAM: sul_cam(A, run->camw + (size_t)w->target[i] * lc, lc, lh, lw, map); break;
		case M_GRADCAM: sul_gradcam(A, G, lc, lh, lw, map); break;
		case M_GRADCAMPP: sul_gradcampp(A, G, lc, lh, lw, map); break;
		case M_HIRESCAM: sul_hirescam(A, G, lc, lh, lw, map); break;
		case M_XGRADCAM: sul_xgradcam(A, G, lc, lh, lw, map); break;
		case M_LAYERCAM: sul_layercam(A, G, lc, lh, lw, map); break;
		case M_EIGENCAM: sul_eigencam(A, lc, lh, lw, map); break;
		default: channel_map(run, w, m, i, wts, y, map); break;
		}
	}
	free(wts);
	free(y);
	/* Each method's cost counts the passes it needed as if it ran alone. */
	if (secs)
		*secs = sul_now_s() - t0 + w->grad_secs
			+ (m == M_SCORECAM || m == M_ABLATIONCAM ? w->chan_secs[CHAN(m)] : 0);
	return 0;
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
