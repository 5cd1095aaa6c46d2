/*
 * cam_opts.c - the `cam` kind's options: its parameters read and checked
 * into the run (stages/cam_int.h).  The parameter schema itself is in
 * cam.c, with the kind.
 */
#include "cam_int.h"
#include "attribution.h"
#include "tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sul_cam_method_names[NMETHODS] = {
	"cam",         "gradcam",  "gradcampp",     "hirescam",   "xgradcam", "layercam", "eigencam",
	"scorecam",    "ablationcam", "random", "guidedbp", "guidedgradcam", "smoothgrad", "intgrad", "occlusion",
};
const char *const sul_cam_lobe_names[NLOBES] = { "frontal", "temporal", "parietal", "occipital", "other" };

/* "cam, gradcam, ...": every method's name, for messages. */
static void method_list(char *buf, size_t n)
{
	size_t used = 0;
	int m;

	buf[0] = 0;
	for (m = 0; m < NMETHODS && used < n; m++)
		used += (size_t)snprintf(buf + used, n - used, "%s%s", m ? ", " : "", sul_cam_method_names[m]);
}

int sul_cam_parse_methods(const char *text, int use[NMETHODS], struct sul_err *err)
{
	char *buf = sul_xstrdup(text), *items[NMETHODS + 1], names[256];
	int m, any = 0, malformed;
	size_t n = sul_split_list(buf, items, NMETHODS + 1, &malformed), i;

	memset(use, 0, sizeof(int) * NMETHODS);
	method_list(names, sizeof(names));
	if (malformed) {
		free(buf);
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'methods': expected some of %s, comma-separated, "
				   "none empty, got '%s'", names, text);
	}
	for (i = 0; i < n; i++) {
		for (m = 0; m < NMETHODS && strcmp(items[i], sul_cam_method_names[m]); m++)
			;
		if (m == NMETHODS) {
			sul_err_set(err, SUL_ERR_INPUT, "parameter 'methods': unknown method '%s' (expected %s)", items[i],
				    names);
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

int sul_cam_read_options(struct cam_run *run, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = run->ctx;
	const char *target = sul_ctx_str(ctx, "target"), *overlay = sul_ctx_str(ctx, "overlay");

	run->target_mode = !strcmp(target, "all") ? CAM_TARGET_ALL
			   : !strcmp(target, "true") ? CAM_TARGET_TRUE
						     : CAM_TARGET_PREDICTED;
	run->batch = (int)sul_ctx_int(ctx, "batch");
	run->score_mode = !strcmp(sul_ctx_str(ctx, "score"), "softmax") ? SUL_DN_PROB : SUL_DN_LOGIT;
	run->steps = (int)sul_ctx_int(ctx, "curve_steps");
	run->alpha = sul_ctx_float(ctx, "alpha");
	run->tol = sul_ctx_float(ctx, "pointing_tolerance");
	run->lobe_fallback = (int)sul_ctx_int(ctx, "lobe_fallback");
	run->overlay = !strcmp(overlay, "t2") ? 1 : !strcmp(overlay, "flair") ? 2 : 0;
	run->seed = (uint64_t)sul_ctx_int(ctx, "seed");
	run->smooth_n = (int)sul_ctx_int(ctx, "smoothgrad_samples");
	run->smooth_noise = sul_ctx_float(ctx, "smoothgrad_noise");
	run->smooth_cams = (int)sul_ctx_int(ctx, "smooth_cams");
	run->ig_steps = (int)sul_ctx_int(ctx, "ig_steps");
	return sul_cam_parse_methods(sul_ctx_str(ctx, "methods"), run->use, err);
}

int sul_cam_occlusion_grid(struct cam_run *run, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = run->ctx;
	int patch = (int)sul_ctx_int(ctx, "occlusion_patch"), stride = (int)sul_ctx_int(ctx, "occlusion_stride");

	if (!patch)
		patch = run->size / 8 > 1 ? run->size / 8 : 1;
	if (patch > run->size)
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'occlusion_patch': %d pixels, larger than the %dx%d "
				   "slices", patch, run->size, run->size);
	if (!stride)
		stride = patch / 2 > 1 ? patch / 2 : 1;
	run->occ_patch = patch;
	run->occ_off = sul_xmalloc(sizeof(int) * (size_t)run->size);
	run->occ_n = sul_occlusion_offsets(run->size, patch, stride, run->occ_off);
	return 0;
}

const char *sul_cam_target_name(const struct cam_run *run, int cls)
{
	if (run->target_mode == CAM_TARGET_ALL)
		return run->model.class_names[cls];
	return run->target_mode == CAM_TARGET_TRUE ? "true" : "predicted";
}
