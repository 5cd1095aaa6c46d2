/*
 * cam.c - the `cam` kind: CAM, Grad-CAM, Grad-CAM++, HiResCAM, XGrad-CAM,
 * LayerCAM, EigenCAM, Score-CAM and Ablation-CAM heatmaps and the
 * pixel-space attributions (guided backpropagation, Guided Grad-CAM,
 * SmoothGrad, Integrated Gradients, occlusion) of a trained model on
 * slices, with the study's
 * region statistics, group comparison, localization, faithfulness and
 * sanity checks.
 *
 * Inputs: a model (train, evaluate, or rank with pick = N), the split
 * table and the slices (PNG images; the optional label slices and
 * reference volumes that `slices` writes).  For every slice of `split`
 * (optionally only `subjects`) and each target class (the predicted one, the
 * true one, or all), each method of `methods` gives a map at the target
 * layer's resolution (stages/heatmap.h: the formulas), upsampled bilinearly
 * to the slice and min-max normalized to [0, 1]; the raw upsampled values
 * are kept too.  Gradients come from Darknet's backward pass, run only down
 * to the target layer (stages/dn.h gradients()); Score-CAM's and
 * Ablation-CAM's channel weights from a forward pass per channel (of the
 * masked image, or of the layers above the target layer with the channel
 * zeroed: dn.h forward_from()), cam_methods.c.  The pixel-space methods
 * give maps at the slice's resolution (stages/attribution.h) from input
 * gradients (guided, of noisy copies, along the path from a black slice)
 * or from forward passes with windows hidden; they are compared with the
 * others at the target layer's resolution.  CAM needs a GAP head; on
 * another head it is recorded as not applicable, not as a failure.
 *
 * Per heatmap (the `heatmaps` table, db/migrate-4.sql): share of heat and
 * peak per lobe (from the slice's lobe labels: 1 frontal, 2 temporal,
 * 3 parietal, 4 occipital, 5 other; without them, a geometric division of
 * the slice, see cam_localize.c), the lobe holding the peak, the
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
 *
 * This file holds the kind and its run: the model, the slices and the loop
 * over subjects; the other cam_*.c files one job each (cam_int.h lists
 * them).
 */
#include "cam_int.h"
#include "../engine/clock.h"
#include "tsv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The most subjects parameter `subjects` may name. */
#define MAX_SUBJECTS 4096

static const struct sul_param_spec cam_params[] = {
	{ "methods", SUL_T_STRING, "cam, gradcam, gradcampp, random", 0, 0, NULL,
	  "heatmap methods, comma-separated: cam, gradcam, gradcampp, hirescam, xgradcam, layercam (gradients); "
	  "eigencam (activations alone); scorecam, ablationcam (a forward pass per channel); guidedbp, "
	  "guidedgradcam, smoothgrad, intgrad, occlusion (pixel-space attributions); random (uniform noise at the "
	  "layer's resolution: the chance level of every figure)" },
	{ "target", SUL_T_STRING, "predicted", 0, 0, "predicted|true|all", "the class each heatmap explains" },
	{ "score", SUL_T_STRING, "logit", 0, 0, "logit|softmax",
	  "Grad-CAM's y^c: the class score before softmax (as pytorch-grad-cam and MONAI) or its probability" },
	{ "layer", SUL_T_INT, "-1", -1, 100000, NULL,
	  "target layer (Darknet's 0-based index); -1: the last spatial layer before the global pool" },
	{ "split", SUL_T_STRING, "test", 0, 0, "train|val|test|all", "which slices" },
	{ "subjects", SUL_T_STRING, "", 0, 0, NULL, "only these subjects (comma-separated); empty: all" },
	{ "pick", SUL_T_INT, "0", 0, 1000, NULL, "with a rank input: its model ranked N (1 = best)" },
	{ "weights", SUL_T_STRING, "best", 0, 0, "best|last|random",
	  "which weights of the model; random: the best weights replaced by a seeded initialization (`seed`), so "
	  "that every figure of the stage is measured again on a model that learnt nothing" },
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
	{ "sanity_cascade", SUL_T_INT, "0", 0, 100000, NULL,
	  "the cascading randomization: this many heatmaps per method made again after each learnable layer is "
	  "randomized, from the top down (table sanity_cascade); 0: off" },
	{ "batch", SUL_T_INT, "8", 1, 1024, NULL, "images per forward/backward pass" },
	{ "table", SUL_T_STRING, "split.tsv", 0, 0, NULL, "the split table, in an input" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "seed of the randomized model and of SmoothGrad's noise" },
	{ "smoothgrad_samples", SUL_T_INT, "16", 1, 1000, NULL,
	  "smoothgrad (and smooth_cams): noisy copies of each image averaged" },
	{ "smoothgrad_noise", SUL_T_FLOAT, "0.15", 0, 10, NULL,
	  "smoothgrad: the noise's standard deviation, a fraction of each image's intensity range" },
	{ "smooth_cams", SUL_T_BOOL, "false", 0, 0, NULL,
	  "average the maps of cam, gradcam, gradcampp, hirescam, xgradcam, layercam and eigencam over "
	  "SmoothGrad's noisy copies (smoothgrad_samples passes per map)" },
	{ "ig_steps", SUL_T_INT, "32", 1, 4096, NULL,
	  "intgrad: steps on the path from the black image (midpoint rule), a backward pass each" },
	{ "occlusion_patch", SUL_T_INT, "0", 0, 4096, NULL, "occlusion: window side in pixels; 0: an eighth of the slice" },
	{ "occlusion_stride", SUL_T_INT, "0", 0, 4096, NULL, "occlusion: window step in pixels; 0: half the window" },
	SUL_MODEL_DEVICE_PARAMS,
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

static const struct sul_resource_defaults cam_resources = { 2, 0, "4G", "4:00:00" };

static int cam_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	int use[NMETHODS];

	if (sul_check_list(ctx, "subjects", MAX_SUBJECTS, about, err))
		return -1;
	*about = "methods";
	return sul_cam_parse_methods(sul_ctx_str(ctx, "methods"), use, err);
}

/*
 * Opens the model the inputs hand on and finds its target layer (and CAM's
 * weights, when the model has a GAP head and cam is asked for); *li gets
 * the target layer.
 */
static int open_model(struct cam_run *run, struct sul_dn_layer *li, struct sul_err *err)
{
	const struct sul_stage_ctx *ctx = run->ctx;
	struct sul_model_device dev;
	char *dir = sul_model_find(ctx, (int)sul_ctx_int(ctx, "pick"), err);
	const int randomized = !strcmp(sul_ctx_str(ctx, "weights"), "random");
	int ret = -1;

	if (!dir || sul_slicedata_read(ctx, sul_ctx_str(ctx, "table"), &run->slices, err))
		goto out;
	if (sul_model_device(ctx, &dev, err)
	    || sul_model_open(dir, randomized ? "best" : sul_ctx_str(ctx, "weights"), run->batch, &dev, ctx->out,
			      &run->model, err)
	    || sul_model_note_backend(ctx, &run->model.info, err))
		goto out;
	if (randomized) {
		/* The same draw as the sanity check's randomized model. */
		fprintf(stderr, "cam: weights = random: explaining the model with its weights randomized (seed %lu)\n",
			(unsigned long)run->seed);
		run->model.api->randomize(run->model.net, (unsigned long)run->seed, 0);
	}
	run->layer = (int)sul_ctx_int(ctx, "layer");
	if (run->layer < 0)
		run->layer = run->model.info.last_spatial;
	if (run->layer < 0 || run->layer >= run->model.info.nlayers - 1) {
		sul_err_set(err, SUL_ERR_INPUT, "layer %d: expected 0..%d (the model has %d layers)", run->layer,
			    run->model.info.nlayers - 2, run->model.info.nlayers);
		goto out;
	}
	run->model.api->layer(run->model.net, run->layer, li);
	if (li->out_w < 2 && li->out_h < 2) {
		sul_err_set(err, SUL_ERR_INPUT, "layer %d ([%s]) has no spatial feature maps (%dx%dx%d)", run->layer,
			    li->type, li->out_w, li->out_h, li->out_c);
		goto out;
	}
	run->lw = li->out_w, run->lh = li->out_h, run->lc = li->out_c;
	run->cam_layer = run->model.info.gap_layer;
	run->cam_ok = run->cam_layer >= 0;
	if (run->cam_ok && run->use[M_CAM]) {
		struct sul_dn_layer cl;
		run->model.api->layer(run->model.net, run->cam_layer, &cl);
		if (cl.out_w != run->lw || cl.out_h != run->lh || cl.out_c != run->lc) {
			/* CAM is defined at the layer before the pool; keep one grid. */
			sul_err_set(err, SUL_ERR_INPUT, "CAM's layer %d and the target layer %d differ in shape: give "
				    "layer = %d or drop cam from methods", run->cam_layer, run->layer, run->cam_layer);
			goto out;
		}
		run->camw = sul_xmalloc(sizeof(float) * (size_t)run->model.classes * run->lc);
		if (run->model.api->cam_weights(run->model.net, run->camw, err))
			goto out;
	}
	ret = 0;
out:
	free(dir);
	return ret;
}

/*
 * The slice rows to explain: those of split `split` (-1: all) and, when
 * only[0..nonly) lists subjects, of those subjects; into *rows (the caller
 * frees it), *nsel of them.
 */
static void select_rows(const struct cam_run *run, int split, char *const *only, size_t nonly, size_t **rows,
			size_t *nsel)
{
	const struct sul_slicedata *d = &run->slices;
	size_t i;

	*rows = sul_xmalloc((d->n ? d->n : 1) * sizeof(**rows));
	*nsel = 0;
	for (i = 0; i < d->n; i++) {
		size_t k;
		int keep = split < 0 || d->rows[i].split == split;
		if (keep && nonly) {
			for (k = 0; k < nonly && strcmp(only[k], d->rows[i].subject); k++)
				;
			keep = k < nonly;
		}
		if (keep)
			(*rows)[(*nsel)++] = i;
	}
}

/* Explains rows[0..nsel) subject by subject (the table lists a subject's
 * slices together), with progress on stderr. */
static int explain_subjects(struct cam_run *run, const size_t *rows, size_t nsel, struct sul_err *err)
{
	const struct sul_slice *sl = run->slices.rows;
	const double t_subjects = sul_now_s();
	size_t i, nsubj = 0, subj_done = 0;
	int m;

	for (i = 0; i < nsel; i++)
		nsubj += !i || strcmp(sl[rows[i]].subject, sl[rows[i - 1]].subject);
	for (i = 0; i < nsel;) {
		size_t j = i;
		/* The ETA by slices: subjects differ in how many they have. */
		double el, maps = 0;
		char eta[32];
		while (j < nsel && !strcmp(sl[rows[j]].subject, sl[rows[i]].subject))
			j++;
		fprintf(stderr, "cam: %s: %zu slices\n", sl[rows[i]].subject, j - i);
		if (sul_cam_explain_subject(run, rows + i, j - i, err))
			return sul_err_prefix(err, "subject '%s'", sl[rows[i]].subject);
		el = sul_now_s() - t_subjects;
		for (m = 0; m < NMETHODS; m++)
			maps += (double)run->counted[m];
		sul_format_eta(el / (double)j * (double)(nsel - j), eta);
		fprintf(stderr, "progress: subject %zu/%zu %.1f heatmaps/s ETA %s\n", ++subj_done, nsubj,
			el > 0 ? maps / el : 0, eta);
		i = j;
	}
	for (m = 0; m < NMETHODS; m++)
		if (run->counted[m])
			fprintf(stderr, "cam: %s: %zu heatmaps, %.1f per second\n", sul_cam_method_names[m],
				run->counted[m], run->counted[m] / run->secs[m]);
	return 0;
}

static int cam_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const char *split_name = sul_ctx_str(ctx, "split");
	const int split = sul_split_from_name(split_name);
	char *subj_buf = NULL, **only = sul_xcalloc(MAX_SUBJECTS, sizeof(*only));
	size_t nonly = 0, i, *rows = NULL, nsel = 0;
	struct cam_run run;
	struct sul_dn_layer li;
	int ret = -1;

	memset(&run, 0, sizeof(run));
	run.ctx = ctx;
	if (sul_ctx_list(ctx, "subjects", MAX_SUBJECTS, &subj_buf, only, &nonly, err)
	    || sul_cam_read_options(&run, err) || open_model(&run, &li, err))
		goto out;
	if (run.use[M_CAM] && !run.cam_ok)
		fprintf(stderr, "cam: the model has no GAP head: CAM is recorded as not applicable\n");
	fprintf(stderr, "cam: target layer %d [%s] %dx%dx%d; methods:", run.layer, li.type, run.lw, run.lh, run.lc);
	for (i = 0; i < NMETHODS; i++)
		if (run.use[i])
			fprintf(stderr, " %s", sul_cam_method_names[i]);
	fprintf(stderr, "; target %s; score %s\n", sul_ctx_str(ctx, "target"),
		run.score_mode == SUL_DN_PROB ? "softmax" : "logit");
	for (i = 0; i < (size_t)run.slices.classes && i < (size_t)run.model.classes; i++)
		if (strcmp(run.slices.class_names[i], run.model.class_names[i])) {
			sul_err_set(err, SUL_ERR_INPUT, "class %zu is '%s' in the data but '%s' in the model", i,
				    run.slices.class_names[i], run.model.class_names[i]);
			goto out;
		}
	run.size = run.model.info.w;
	if (run.use[M_OCCLUSION] && sul_cam_occlusion_grid(&run, err))
		goto out;
	if (sul_slicedata_load(&run.slices, run.model.info.w, run.model.info.h, split < 0 ? ~0u : 1u << split, err))
		goto out;
	select_rows(&run, split, only, nonly, &rows, &nsel);
	if (!nsel) {
		sul_err_set(err, SUL_ERR_INPUT, "no '%s' slices%s to explain", split_name,
			    nonly ? " of the given subjects" : "");
		goto out;
	}
	if (explain_subjects(&run, rows, nsel, err))
		goto out;
	/* The cascade ends with every layer randomized as the sanity check's
	 * model is (each layer's draw depends only on the seed). */
	if (sul_ctx_int(ctx, "sanity_cascade") && sul_cam_cascade(&run, (size_t)sul_ctx_int(ctx, "sanity_cascade"), err))
		goto out;
	if (sul_ctx_int(ctx, "sanity") && !strcmp(sul_ctx_str(ctx, "weights"), "random"))
		fprintf(stderr, "cam: weights = random: no sanity check (it would compare the random model with "
				"itself)\n");
	else if (sul_ctx_int(ctx, "sanity") && sul_cam_sanity(&run, err))
		goto out;
	if (sul_cam_heatmaps_table(&run, err) || sul_cam_summaries(&run, err))
		goto out;
	ret = 0;
out:
	for (i = 0; i < run.nheatmaps; i++)
		free(run.heatmaps[i].small);
	free(run.heatmaps);
	free(run.camw);
	free(run.occ_off);
	if (run.model.net || run.model.class_names)
		sul_model_close(&run.model);
	sul_slicedata_release(&run.slices);
	free(rows);
	free(subj_buf);
	free(only);
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
	  "  method          TEXT NOT NULL,      -- cam, gradcam, gradcampp, ... (the methods parameter)\n"
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
	  "  pointing_chance REAL,               -- its chance: a brain pixel within the tolerance of the lesion\n"
	  "  lesion_share    REAL,               -- share of the heat inside the lesion mask; NULL: no lesion\n"
	  "  lesion_share_chance REAL,           -- its chance: the lesion's share of the brain's pixels\n"
	  "  score           REAL,               -- probability of target on the slice ...\n"
	  "  masked_score    REAL,               -- ... and on the slice times its heatmap (Average Drop)\n"
	  "  deletion_auc    REAL,               -- area under the deletion curve (lower: more faithful)\n"
	  "  insertion_auc   REAL,               -- area under the insertion curve (higher: more faithful)\n"
	  "  sanity_rho      REAL,               -- Spearman correlation with the randomized model's heatmap; NULL: "
	  "not measured (sanity = false)\n"
	  "  completeness_error REAL             -- intgrad: |sum of attributions - (F(x) - F(black))| / |F(x) - "
	  "F(black)|; NULL: other methods",
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
	 * pointing_game, lesion_share (over slices with a lesion) and their
	 * _chance (what a map even over the brain scores), sanity_rank_correlation
	 * (not measured: NULL),
	 * not_applicable (CAM without a GAP head). */
	{ "heatmap_tests", "per method: a test or summary statistic",
	  "method    TEXT NOT NULL,\n"
	  "  name      TEXT NOT NULL,            -- chi2_peak_lobe_by_group, consistency_within_subject, ...\n"
	  "  value     REAL,\n"
	  "  df        REAL,\n"
	  "  p         REAL,\n"
	  "  n         REAL",
	  NULL },
	{ "sanity_cascade", "the cascading randomization check: per method and step, the heatmaps' rank correlation "
	  "with the original ones",
	  "method     TEXT NOT NULL,\n"
	  "  step       INTEGER NOT NULL,      -- 0: nothing randomized; k: the k top learnable layers\n"
	  "  layer      INTEGER,               -- the lowest layer randomized (Darknet's index)\n"
	  "  layer_type TEXT,                  -- its type: convolutional, connected\n"
	  "  rho        REAL,                  -- mean Spearman correlation with the trained model's heatmaps\n"
	  "  rho_sd     REAL,\n"
	  "  n          INTEGER NOT NULL       -- heatmaps compared",
	  "method" },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_cam = {
	.name = "cam",
	.version = 3,
	.doc = "heatmaps (CAM, Grad-CAM, Grad-CAM++, HiResCAM, XGrad-CAM, LayerCAM, EigenCAM, Score-CAM, Ablation-CAM; "
	       "guided backpropagation, Guided Grad-CAM, SmoothGrad, Integrated Gradients, occlusion) with lobe "
	       "statistics, group comparison, localization, faithfulness and sanity checks",
	.params = cam_params,
	.resources = &cam_resources,
	.tables = cam_tables,
	.check = cam_check,
	.run = cam_run,
};
