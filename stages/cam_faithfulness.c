/*
 * cam_faithfulness.c - how faithful a heatmap of the `cam` kind is to the
 * model: the model's score on the image times its heatmap (Average Drop,
 * Increase in Confidence; Chattopadhay et al. 2018) and the deletion and
 * insertion curves (Petsiuk et al. 2018).  It runs the network for
 * inference only; the summaries over heatmaps are in cam_stats.c.
 */
#include "cam_int.h"

#include <stdlib.h>
#include <string.h>

int sul_cam_scores(const struct cam_run *run, const float *x, int n, const int *target, double *out,
		   struct sul_err *err)
{
	const int classes = run->model.classes;
	float *p = sul_xmalloc(sizeof(float) * (size_t)n * classes);
	int i, r = run->model.api->predict(run->model.net, x, n, p, err);

	for (i = 0; i < n && !r; i++)
		out[i] = p[i * classes + target[i]];
	free(p);
	return r;
}

void sul_cam_mask_image(const float *img, const float *heat, size_t plane, float *masked)
{
	size_t q;
	int ch;

	for (ch = 0; ch < 3; ch++)
		for (q = 0; q < plane; q++)
			masked[ch * plane + q] = img[ch * plane + q] * heat[q];
}

int sul_cam_masked_scores(const struct cam_run *run, const float *x, const float *masked, int n, const int *target,
			  struct cam_heatmap *h, struct sul_err *err)
{
	double sc[CAM_MAX_BATCH], so[CAM_MAX_BATCH];
	int j;

	if (sul_cam_scores(run, x, n, target, sc, err) || sul_cam_scores(run, masked, n, target, so, err))
		return -1;
	for (j = 0; j < n; j++) {
		h[j].score = sc[j];
		h[j].masked_score = so[j];
	}
	return 0;
}

/*
 * Deletion and insertion curves: the target's probability as the most
 * heated pixels are removed from the image (set to 0, the background of
 * skull-stripped slices) or added to an empty one, in `steps` equal steps;
 * the areas under the curves.
 */
int sul_cam_curves(const struct cam_run *run, const float *img, const float *heat, int target, double *del,
		   double *ins, struct sul_err *err)
{
	const size_t plane = (size_t)run->size * run->size, one = plane * 3;
	const int steps = run->steps, b = run->batch;
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
			double sc[CAM_MAX_BATCH];
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
			if (sul_cam_scores(run, x, n, tg, sc, err))
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
