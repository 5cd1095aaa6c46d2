/*
 * cam_sanity.c - the `cam` kind's sanity check (Adebayo et al. 2018): the
 * same heatmaps from the model with randomized weights, compared by rank
 * correlation at the target layer's resolution.  A method whose maps barely
 * change explains the image, not the model.
 */
#include "cam_int.h"

#include <stdlib.h>

int sul_cam_sanity(struct cam_run *run, struct sul_err *err)
{
	const size_t plane = (size_t)run->size * run->size, one = plane * 3, msz = (size_t)run->lh * run->lw;
	const int b = run->batch;
	struct cam_heatmap *heatmaps = run->heatmaps;
	float *x = sul_xmalloc(sizeof(float) * one * b), *small = sul_xmalloc(sizeof(float) * msz), *maps;
	int target[CAM_MAX_BATCH], j, m, mh, mw, ret = -1;
	size_t i = 0, most = 0;
	struct cam_work w;

	for (m = 0; m < NMETHODS; m++) {
		sul_cam_map_dims(run, m, &mh, &mw);
		most = (size_t)mh * mw > most ? (size_t)mh * mw : most;
	}
	maps = sul_xmalloc(sizeof(float) * most * b);
	sul_cam_work_init(run, &w);
	w.x = x;
	w.target = target;
	run->model.api->randomize(run->model.net, (unsigned long)sul_ctx_int(run->ctx, "seed"));
	if (run->cam_ok && run->camw && run->model.api->cam_weights(run->model.net, run->camw, err))
		goto out;
	while (i < run->nheatmaps) {
		size_t idx[CAM_MAX_BATCH];
		int n = 0;
		m = heatmaps[i].method;
		/* A batch of heatmaps of one method. */
		for (; i < run->nheatmaps && n < b; i++) {
			if (!heatmaps[i].applicable)
				continue;
			if (n && heatmaps[i].method != m)
				break;
			m = heatmaps[i].method;
			idx[n++] = i;
		}
		if (!n)
			continue;
		for (j = 0; j < n; j++) {
			sul_slicedata_chw(&run->slices, heatmaps[idx[j]].slice_row, x + one * j);
			target[j] = heatmaps[idx[j]].target;
		}
		w.n = n;
		sul_cam_work_reset(&w, 1);
		if (sul_cam_maps(run, &w, m, maps, NULL, err))
			goto out;
		sul_cam_map_dims(run, m, &mh, &mw);
		for (j = 0; j < n; j++) {
			sul_cam_small(run, m, maps + (size_t)mh * mw * j, small);
			heatmaps[idx[j]].sanity = sul_spearman(heatmaps[idx[j]].small, small, msz);
		}
	}
	ret = 0;
out:
	sul_cam_work_release(&w);
	free(x);
	free(small);
	free(maps);
	return ret;
}
