/*
 * cam_subject.c - the `cam` kind's work on one subject: its slices batch by
 * batch, one forward and partial backward pass per batch and target, the
 * maps of every method from it, and each heatmap's row (localization,
 * faithfulness, overlay, volumes).  The formulas of the maps are in
 * heatmap.h; what happens to a finished map is in the other cam_*.c files.
 */
#include "cam_int.h"
#include "heatmap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One batch of a subject's slices, and the working memory for it, sized
 * for run->batch images. */
struct batch {
	const size_t *rows;                          /* its slice rows */
	int n;                                       /* how many */
	float *x;                                    /* the images, CHW */
	float *probs;                                /* n x classes */
	int pred[CAM_MAX_BATCH], target[CAM_MAX_BATCH];
	struct cam_work work;                        /* the network's passes over x */
	float *maps;                                 /* the current method's raw maps */
	float *up, *norm;                            /* one heatmap at slice size: raw, in [0, 1] */
	float *masked;                               /* the images x their heatmaps */
};

static void batch_init(const struct cam_run *run, struct batch *b)
{
	const size_t plane = (size_t)run->size * run->size, one = plane * 3;
	const int nb = run->batch;
	size_t msz = 0;
	int m, mh, mw;

	memset(b, 0, sizeof(*b));
	for (m = 0; m < NMETHODS; m++) {
		sul_cam_map_dims(run, m, &mh, &mw);
		if (run->use[m] && (size_t)mh * mw > msz)
			msz = (size_t)mh * mw;
	}
	b->x = sul_xmalloc(sizeof(float) * one * nb);
	b->probs = sul_xmalloc(sizeof(float) * run->model.classes * nb);
	sul_cam_work_init(run, &b->work);
	b->work.x = b->x;
	b->work.target = b->target;
	b->maps = sul_xmalloc(sizeof(float) * msz * nb);
	b->up = sul_xmalloc(sizeof(float) * plane);
	b->norm = sul_xmalloc(sizeof(float) * plane);
	b->masked = sul_xmalloc(sizeof(float) * one * nb);
}

static void batch_release(struct batch *b)
{
	free(b->x);
	free(b->probs);
	sul_cam_work_release(&b->work);
	free(b->maps);
	free(b->up);
	free(b->norm);
	free(b->masked);
}

static struct cam_heatmap *new_heatmap(struct cam_run *run)
{
	SUL_ALLOC_GROW(run->heatmaps, run->nheatmaps + 1, run->aheatmaps);
	memset(&run->heatmaps[run->nheatmaps], 0, sizeof(run->heatmaps[0]));
	return &run->heatmaps[run->nheatmaps++];
}

/* A new heatmap of image j of the batch: what it explains. */
static struct cam_heatmap *batch_heatmap(struct cam_run *run, const struct batch *b, int j, int method,
					 int applicable)
{
	struct cam_heatmap *h = new_heatmap(run);

	h->slice_row = b->rows[j];
	h->method = method;
	h->target = b->target[j];
	h->predicted = b->pred[j];
	h->prob = b->probs[j * run->model.classes + b->target[j]];
	h->applicable = applicable;
	h->completeness = NAN;
	return h;
}

/*
 * Everything about the map of image j in b->maps: its row of the heatmaps
 * table (h, made by batch_heatmap), its overlay and its slices of vols.
 * Leaves the image times the heatmap in b->masked for the scores that
 * follow the batch.
 */
static int describe_heatmap(struct cam_run *run, struct batch *b, int j, int m, int t, struct cam_heatmap *h,
			    struct cam_volumes *vols, struct sul_err *err)
{
	const size_t plane = (size_t)run->size * run->size, one = plane * 3;
	const size_t row = b->rows[j];
	const float *map;
	size_t q;
	int mh, mw;

	sul_cam_map_dims(run, m, &mh, &mw);
	map = b->maps + (size_t)mh * mw * j;
	h->small = sul_xmalloc(sizeof(float) * run->lh * run->lw);
	sul_cam_small(run, m, map, h->small);
	if (mh == run->size && mw == run->size)
		memcpy(b->up, map, sizeof(float) * plane);
	else
		sul_upsample_bilinear(map, mh, mw, b->up, run->size, run->size);
	h->raw_min = h->raw_max = b->up[0];
	for (q = 0; q < plane; q++) {
		if (b->up[q] < h->raw_min)
			h->raw_min = b->up[q];
		if (b->up[q] > h->raw_max)
			h->raw_max = b->up[q];
	}
	memcpy(b->norm, b->up, sizeof(float) * plane);
	sul_minmax01(b->norm, plane);
	if (sul_cam_localize(run, row, b->norm, h, err))
		return -1;
	sul_cam_mask_image(b->x + one * j, b->norm, plane, b->masked + one * j);
	h->deletion = h->insertion = NAN;
	h->sanity = NAN;  /* measured later, when the sanity check runs */
	h->completeness = b->work.check[j];
	if (run->steps > 0
	    && sul_cam_curves(run, b->x + one * j, b->norm, b->target[j], &h->deletion, &h->insertion, err))
		return -1;
	if (sul_cam_write_overlay(run, row, m, sul_cam_target_name(run, b->target[j]), b->norm, err))
		return -1;
	sul_cam_volumes_add(vols, m, t, run->size, run->slices.rows[row].slice, b->norm, b->up);
	return 0;
}

/* The heatmaps of method m for the batch's images and targets (target
 * slot t of the volumes). */
static int explain_method(struct cam_run *run, struct batch *b, int m, int t, struct cam_volumes *vols,
			  struct sul_err *err)
{
	double secs;
	int j;

	if (m == M_CAM && !run->cam_ok) {
		for (j = 0; j < b->n; j++)
			batch_heatmap(run, b, j, m, 0);
		return 0;
	}
	if (sul_cam_maps(run, &b->work, m, b->maps, &secs, err))
		return -1;
	run->secs[m] += secs;
	run->counted[m] += (size_t)b->n;
	for (j = 0; j < b->n; j++)
		if (describe_heatmap(run, b, j, m, t, batch_heatmap(run, b, j, m, 1), vols, err))
			return -1;
	return sul_cam_masked_scores(run, b->x, b->masked, b->n, b->target,
				     &run->heatmaps[run->nheatmaps - (size_t)b->n], err);
}

/* All heatmaps of the batch's images: every target, every method. */
static int explain_batch(struct cam_run *run, struct batch *b, struct cam_volumes *vols, struct sul_err *err)
{
	const size_t one = (size_t)run->size * run->size * 3;
	const int classes = run->model.classes;
	const int ntarget = run->target_mode == CAM_TARGET_ALL ? classes : 1;
	int j, t, m;

	for (j = 0; j < b->n; j++)
		sul_slicedata_chw(&run->slices, b->rows[j], b->x + one * j);
	if (run->model.api->predict(run->model.net, b->x, b->n, b->probs, err))
		return -1;
	for (j = 0; j < b->n; j++)
		b->pred[j] = sul_argmax(b->probs + (size_t)j * classes, classes);
	b->work.n = b->n;
	b->work.ids = b->rows;
	sul_cam_work_reset(&b->work, 1);
	for (t = 0; t < ntarget; t++) {
		for (j = 0; j < b->n; j++)
			b->target[j] = run->target_mode == CAM_TARGET_ALL    ? t
				       : run->target_mode == CAM_TARGET_TRUE ? run->slices.rows[b->rows[j]].label
									     : b->pred[j];
		sul_cam_work_reset(&b->work, 0);
		for (m = 0; m < NMETHODS; m++)
			if (run->use[m] && explain_method(run, b, m, t, vols, err))
				return -1;
	}
	return 0;
}

int sul_cam_explain_subject(struct cam_run *run, const size_t *rows, size_t nrows, struct sul_err *err)
{
	const int ntarget = run->target_mode == CAM_TARGET_ALL ? run->model.classes : 1;
	struct cam_volumes vols;
	struct batch b;
	size_t i0;
	int ret = -1;

	batch_init(run, &b);
	if (sul_cam_volumes_init(run, rows[0], ntarget, &vols, err))
		goto out;
	for (i0 = 0; i0 < nrows; i0 += (size_t)run->batch) {
		b.rows = rows + i0;
		b.n = (int)(nrows - i0 < (size_t)run->batch ? nrows - i0 : (size_t)run->batch);
		if (explain_batch(run, &b, &vols, err))
			goto out;
	}
	if (sul_cam_volumes_write(run, &vols, run->slices.rows[rows[0]].subject, err))
		goto out;
	ret = 0;
out:
	sul_cam_volumes_release(&vols);
	batch_release(&b);
	return ret;
}
