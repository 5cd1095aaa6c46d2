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
	const size_t plane = (size_t)run->size * run->size, one = plane * 3;
	const size_t lsz = (size_t)run->lc * run->lh * run->lw, msz = (size_t)run->lh * run->lw;
	const int b = run->batch;
	struct cam_heatmap *heatmaps = run->heatmaps;
	float *x = sul_xmalloc(sizeof(float) * one * b), *A = sul_xmalloc(sizeof(float) * lsz * b);
	float *G = sul_xmalloc(sizeof(float) * lsz * b), *maps = sul_xmalloc(sizeof(float) * msz * b);
	int target[CAM_MAX_BATCH], j, ret = -1;
	size_t i = 0;

	run->model.api->randomize(run->model.net, (unsigned long)sul_ctx_int(run->ctx, "seed"));
	if (run->cam_ok && run->camw && run->model.api->cam_weights(run->model.net, run->camw, err))
		goto out;
	while (i < run->nheatmaps) {
		size_t idx[CAM_MAX_BATCH];
		int n = 0, m = heatmaps[i].method;
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
		if (run->model.api->gradients(run->model.net, x, n, m == M_CAM ? run->cam_layer : run->layer, target,
					      run->score_mode, A, G, NULL, err))
			goto out;
		sul_cam_method_maps(run, m, A, G, target, n, maps);
		for (j = 0; j < n; j++)
			heatmaps[idx[j]].sanity = sul_spearman(heatmaps[idx[j]].small, maps + msz * j, msz);
	}
	ret = 0;
out:
	free(x);
	free(A);
	free(G);
	free(maps);
	return ret;
}
