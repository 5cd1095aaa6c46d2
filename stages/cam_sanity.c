/*
 * cam_sanity.c - the `cam` kind's randomization checks (Adebayo et al.,
 * "Sanity Checks for Saliency Maps", NeurIPS 2018): the same heatmaps from
 * the model with randomized weights, compared by rank correlation at the
 * target layer's resolution; and its cascading form, which randomizes the
 * learnable layers one at a time from the top down and follows each
 * method's correlation as more of the model is destroyed.  A method whose
 * maps barely change explains the image, not the model.
 */
#include "cam_int.h"
#include "tsv.h"

#include <math.h>
#include <stdlib.h>

/*
 * rho[k] = Spearman correlation of heatmap idx[k]'s map with the map the
 * model as it is now makes for the same slice, method and target;
 * heatmaps of one method go through the network together.
 */
static int rerun_rhos(struct cam_run *run, const size_t *idx, size_t nidx, double *rho, struct sul_err *err)
{
	const size_t plane = (size_t)run->size * run->size, one = plane * 3, msz = (size_t)run->lh * run->lw;
	const int b = run->batch;
	const struct cam_heatmap *heatmaps = run->heatmaps;
	float *x = sul_xmalloc(sizeof(float) * one * b), *small = sul_xmalloc(sizeof(float) * msz), *maps;
	int target[CAM_MAX_BATCH], j, m, mh, mw, ret = -1;
	size_t k = 0, most = 0, rows[CAM_MAX_BATCH];
	struct cam_work w;

	for (m = 0; m < NMETHODS; m++) {
		sul_cam_map_dims(run, m, &mh, &mw);
		most = (size_t)mh * mw > most ? (size_t)mh * mw : most;
	}
	maps = sul_xmalloc(sizeof(float) * most * b);
	sul_cam_work_init(run, &w);
	w.x = x;
	w.target = target;
	w.ids = rows;
	while (k < nidx) {
		size_t first = k;
		int n = 0;
		m = heatmaps[idx[k]].method;
		for (; k < nidx && n < b && heatmaps[idx[k]].method == m; k++, n++) {
			const struct cam_heatmap *h = &heatmaps[idx[k]];
			sul_slicedata_chw(&run->slices, h->slice_row, x + one * n);
			target[n] = h->target;
			rows[n] = h->slice_row;
		}
		w.n = n;
		sul_cam_work_reset(&w, 1);
		if (sul_cam_maps(run, &w, m, maps, NULL, err))
			goto out;
		sul_cam_map_dims(run, m, &mh, &mw);
		for (j = 0; j < n; j++) {
			sul_cam_small(run, m, maps + (size_t)mh * mw * j, small);
			rho[first + j] = sul_spearman(heatmaps[idx[first + j]].small, small, msz);
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

/* Randomizes the layers from `from` up and refreshes CAM's weights. */
static int randomize_from(struct cam_run *run, int from, struct sul_err *err)
{
	run->model.api->randomize(run->model.net, (unsigned long)run->seed, from);
	if (run->cam_ok && run->camw && run->model.api->cam_weights(run->model.net, run->camw, err))
		return -1;
	return 0;
}

int sul_cam_sanity(struct cam_run *run, struct sul_err *err)
{
	size_t *idx = sul_xmalloc((run->nheatmaps ? run->nheatmaps : 1) * sizeof(*idx)), n = 0, i;
	double *rho = sul_xmalloc((run->nheatmaps ? run->nheatmaps : 1) * sizeof(*rho));
	int ret = -1;

	for (i = 0; i < run->nheatmaps; i++)
		if (run->heatmaps[i].applicable)
			idx[n++] = i;
	if (randomize_from(run, 0, err) || rerun_rhos(run, idx, n, rho, err))
		goto out;
	for (i = 0; i < n; i++)
		run->heatmaps[idx[i]].sanity = rho[i];
	ret = 0;
out:
	free(idx);
	free(rho);
	return ret;
}

/* Up to per heatmaps of method m spread evenly over its applicable ones. */
static size_t pick_heatmaps(const struct cam_run *run, int m, size_t per, size_t *idx)
{
	size_t i, count = 0, n = 0, seen = 0;

	for (i = 0; i < run->nheatmaps; i++)
		count += run->heatmaps[i].method == m && run->heatmaps[i].applicable;
	for (i = 0; i < run->nheatmaps && n < per; i++) {
		if (run->heatmaps[i].method != m || !run->heatmaps[i].applicable)
			continue;
		/* All of them when there are no more than per; else the k-th of
		 * `per` takes the heatmap at floor(k count / per). */
		if (count <= per || seen == n * count / per)
			idx[n++] = i;
		seen++;
	}
	return n;
}

int sul_cam_cascade(struct cam_run *run, size_t per, struct sul_err *err)
{
	const int nlayers = run->model.info.nlayers;
	size_t *idx = sul_xmalloc(sizeof(*idx) * per * NMETHODS), nidx = 0, k, start[NMETHODS + 1];
	double *rho = sul_xmalloc(sizeof(*rho) * per * NMETHODS);
	struct sul_buf b = SUL_BUF_INIT;
	int m, layer, step = 0, ret = -1;

	for (m = 0; m < NMETHODS; m++) {
		start[m] = nidx;
		if (run->use[m])
			nidx += pick_heatmaps(run, m, per, idx + nidx);
	}
	start[NMETHODS] = nidx;
	sul_buf_adds(&b, "method\tstep\tlayer\tlayer_type\trho\trho_sd\tn\n");
	/* Step 0 (nothing randomized) checks that the maps are reproduced. */
	for (layer = nlayers; layer >= 0; layer--) {
		struct sul_dn_layer li = { 0 };
		if (layer < nlayers) {
			run->model.api->layer(run->model.net, layer, &li);
			if (li.weights <= 0)  /* what randomize() draws: convolutions, connected layers */
				continue;
			if (randomize_from(run, layer, err))
				goto out;
		}
		if (rerun_rhos(run, idx, nidx, rho, err))
			goto out;
		for (m = 0; m < NMETHODS; m++) {
			double sum = 0, sq = 0, n = 0;
			for (k = start[m]; k < start[m + 1]; k++)
				if (!isnan(rho[k])) {
					sum += rho[k];
					sq += rho[k] * rho[k];
					n++;
				}
			if (start[m] == start[m + 1])
				continue;
			sul_buf_addf(&b, "%s\t%d\t", sul_cam_method_names[m], step);
			if (layer < nlayers)
				sul_buf_addf(&b, "%d\t%s", layer, li.type);
			else
				sul_buf_adds(&b, "\t");
			sul_tsv_num(&b, n ? sum / n : NAN);
			sul_tsv_num(&b, n > 1 ? sqrt(fmax(0, (sq - sum * sum / n) / (n - 1))) : NAN);
			sul_buf_addf(&b, "\t%.0f\n", n);
		}
		step++;
	}
	ret = sul_ctx_table(run->ctx, "sanity_cascade", &b, err);
out:
	sul_buf_release(&b);
	free(idx);
	free(rho);
	return ret;
}
