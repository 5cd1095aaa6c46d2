/*
 * atlas.c - the `atlas` kind: a template brain registered to every
 * subject's T1, and label atlases warped onto the subject's grid.
 *
 * The template is Colin27 (Debian's mricron-data ch2.nii.gz, the brain
 * `synth` builds its cohort on).  Per subject, the template is registered
 * to the subject's reference image by Mattes mutual information: rigid
 * from the centres of mass, affine (12 degrees of freedom, stages/rigid.h),
 * then a non-linear refinement, a cubic B-spline displacement field on
 * control points every warp_mm (stages/warp.h; warp_mm = 0: affine only).
 * Through that warp, with nearest-neighbour, the template's labels go onto
 * the subject's grid: the lobes (AAL's lobes spread into the white matter,
 * exactly as `synth` defines its true lobes: 1 frontal, 2 temporal,
 * 3 parietal, 4 occipital, 5 other), the JHU white-matter labels
 * (wm_tracts, 48 tracts, mricron-data's JHU-WhiteMatter-labels-1mm in the
 * same MNI space) and the brain.
 *
 * Input: one stage with subjects.tsv.  Output: the same table with columns
 * lobes and wm_tracts pointing at the warped labels, mask at the warped
 * brain where the table had no mask (a subject's own brain mask is kept),
 * and lobes_true holding the input's lobes when it had them (synth's ground
 * truth); transforms.tsv (subject world -> template world: a subject point
 * x maps to M (x - c) + c + t + d(x), d the field saved in the `warp`
 * column's _x/_y/_z.nii.gz); metrics per subject (final MI, Dice of the
 * warped brain with the subject's mask, and with true lobes the Dice per
 * lobe, also for no registration and for the affine alone); a table
 * atlas_quality (with the warp's smallest Jacobian and the share of voxels
 * where it folds); a warning for a subject whose brain Dice is below
 * `min_brain_dice` or whose warp folds on more than `max_folded` of its
 * voxels (flagged = 1); and the template's own labels
 * (template/lobes.nii.gz, wm_tracts.nii.gz, brain.nii.gz: what group maps
 * in template space are summed over).  A subject that cannot be registered
 * (no image, unreadable, no overlap) fails the stage naming it, or with
 * bad = "drop" is left out of the table, as a flagged one is, and said so
 * in the log, atlas_quality (status, reason) and subjects_dropped.
 */
#include "../engine/clock.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "rigid.h"
#include "synth_int.h"
#include "tsv.h"
#include "volume.h"
#include "warp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec atlas_params[] = {
	{ "table", SUL_T_STRING, "subjects.tsv", 0, 0, NULL, "the input's table, relative to its folder" },
	{ "reference", SUL_T_STRING, "T1w", 0, 0, NULL, "the table column of the images the template is registered to" },
	{ "templates", SUL_T_PATH, "/usr/share/mricron/templates", 0, 0, NULL,
	  "folder with ch2.nii.gz, ch2bet.nii.gz, aal.nii.gz, aal.nii.txt and JHU-WhiteMatter-labels-1mm.nii.gz" },
	{ "bins", SUL_T_INT, "32", 8, 256, NULL, "histogram bins of the mutual information" },
	{ "levels", SUL_T_INT, "4", 1, 6, NULL, "resolution levels (each coarser one halves the resolution)" },
	{ "iterations", SUL_T_INT, "200", 1, 100000, NULL, "at most this many optimizer iterations per level" },
	{ "samples", SUL_T_INT, "10000", 0, 1e9, NULL, "subject voxels sampled per iteration (0: all)" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "random seed of the voxel sampling" },
	{ "warp_mm", SUL_T_FLOAT, "10", 0, 100, NULL,
	  "control point spacing of the non-linear (B-spline) refinement after the affine; 0: affine only" },
	{ "warp_stages", SUL_T_INT, "3", 1, 6, NULL,
	  "coarse-to-fine stages of the refinement, each halving the spacing, the last at warp_mm" },
	{ "warp_iterations", SUL_T_INT, "60", 1, 100000, NULL, "at most this many L-BFGS iterations per stage" },
	{ "warp_samples", SUL_T_INT, "300000", 1000, 1e9, NULL,
	  "subject voxels of the last stage (a regular grid); each coarser stage a quarter of the one after" },
	{ "bending", SUL_T_FLOAT, "0.003", 0, 1e6, NULL,
	  "weight of the smoothness term (mean squared second difference of the control points' displacements, "
	  "mm^2) against the mutual information" },
	{ "min_brain_dice", SUL_T_FLOAT, "0.85", 0, 1, NULL,
	  "flag (warn, atlas_quality.flagged) a subject whose warped brain overlaps its own mask less" },
	{ "max_folded", SUL_T_FLOAT, "0.0001", 0, 1, NULL,
	  "flag (warn, atlas_quality.flagged) a subject whose warp folds (Jacobian <= 0) on a larger share of its voxels" },
	{ "bad", SUL_T_STRING, "fail", 0, 0, "fail|drop",
	  "a subject whose image is missing or unreadable or whose registration fails: fail the stage, or drop "
	  "the subject (and a flagged one) and say so in the log, atlas_quality and the metric subjects_dropped" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* The template and its label maps on the template's grid, loaded once. */
struct atlas {
	struct anatomy a;
	struct sul_volume lobes, brain, jhu;
};

static int atlas_load(const char *dir, struct atlas *at, struct sul_err *err)
{
	char *jhu = sul_xasprintf("%s/JHU-WhiteMatter-labels-1mm.nii.gz", dir);
	int64_t i, n, inside = 0, brain = 0;
	int r = -1;

	memset(at, 0, sizeof(*at));
	if (sul_synth_anatomy_load(dir, &at->a, err) || sul_volume_read(jhu, &at->jhu, err))
		goto out;
	n = at->a.nx * at->a.ny * at->a.nz;
	sul_volume_like(&at->lobes, &at->a.t1);
	sul_volume_like(&at->brain, &at->a.t1);
	for (i = 0; i < n; i++) {
		at->brain.data[i] = at->a.tissue[i] != 0;
		at->lobes.data[i] = at->a.tissue[i] ? at->a.lobe[i] : 0;
	}
	/* The label atlas must lie over the template's brain (same world space). */
	{
		double inv[3][4];
		sul_affine_inverse(at->jhu.ijk_to_xyz, inv);
		for (i = 0; i < n; i++) {
			double ijk[3] = { (double)(i % at->a.nx), (double)(i / at->a.nx % at->a.ny),
					  (double)(i / at->a.nx / at->a.ny) }, x[3], u[3];
			int k;
			if (!at->a.tissue[i])
				continue;
			brain++;
			for (k = 0; k < 3; k++)
				x[k] = at->a.t1.ijk_to_xyz[k][0] * ijk[0] + at->a.t1.ijk_to_xyz[k][1] * ijk[1]
				       + at->a.t1.ijk_to_xyz[k][2] * ijk[2] + at->a.t1.ijk_to_xyz[k][3];
			for (k = 0; k < 3; k++)
				u[k] = inv[k][0] * x[0] + inv[k][1] * x[1] + inv[k][2] * x[2] + inv[k][3];
			inside += u[0] > -0.5 && u[1] > -0.5 && u[2] > -0.5 && u[0] < (double)at->jhu.nx - 0.5
				  && u[1] < (double)at->jhu.ny - 0.5 && u[2] < (double)at->jhu.nz - 0.5;
		}
		if (inside < brain * 95 / 100) {
			sul_err_set(err, SUL_ERR_INPUT, "'%s' covers %.0f%% of the template's brain: expected a label atlas "
				    "in the template's (MNI) space", jhu, 100.0 * (double)inside / (double)(brain ? brain : 1));
			goto out;
		}
	}
	r = 0;
out:
	free(jhu);
	return r;
}

static void atlas_release(struct atlas *at)
{
	sul_synth_anatomy_release(&at->a);
	sul_volume_release(&at->lobes);
	sul_volume_release(&at->brain);
	sul_volume_release(&at->jhu);
}

/* Dice of (a == la) and (b == lb) over two volumes on one grid; label 0: any nonzero. */
static double dice(const struct sul_volume *a, const struct sul_volume *b, int label)
{
	int64_t i, n = a->nx * a->ny * a->nz, na = 0, nb = 0, both = 0;

	for (i = 0; i < n; i++) {
		int ia = label ? lrintf(a->data[i]) == label : a->data[i] > 0;
		int ib = label ? lrintf(b->data[i]) == label : b->data[i] > 0;
		na += ia;
		nb += ib;
		both += ia && ib;
	}
	return na + nb ? 2.0 * (double)both / (double)(na + nb) : 1.0;
}

struct subject_result {
	double mi, dice_brain, dice_lobes, dice_lobes_none, dice_lobes_affine, dice_lobe[4], seconds, jac_min, folded;
	int have_mask, have_truth, flagged;
};

static int metric(const struct sul_stage_ctx *ctx, const char *sub, const char *what, double v, struct sul_err *err)
{
	char name[256];

	snprintf(name, sizeof(name), "%s_%s", what, sub);
	return sul_ctx_metric(ctx, name, -1, v, err);
}

/* Writes v as dir/SUB_what.nii.gz (uint8 labels); rel gets the path relative to out. */
static int write_labels(const struct sul_stage_ctx *ctx, const char *sub, const char *what, const struct sul_volume *v,
			struct sul_buf *rel, struct sul_err *err)
{
	char *dir = sul_xasprintf("%s/atlas/%s", ctx->out, sub), *path;
	int r;

	sul_buf_reset(rel);
	sul_buf_addf(rel, "atlas/%s/%s_%s.nii.gz", sub, sub, what);
	path = sul_xasprintf("%s/%s", ctx->out, rel->buf);
	r = sul_mkdirs(dir, err) || sul_volume_write(path, v, SUL_VOL_UINT8, err) ? -1 : 0;
	free(dir);
	free(path);
	return r;
}

/* Registers the template to one subject and warps the labels. */
static int do_subject(const struct sul_stage_ctx *ctx, const struct atlas *at, const char *in_dir, const char *sub,
		      const char *ref_rel, const char *mask_rel, const char *truth_rel, struct sul_buf *rels,
		      struct sul_buf *transforms, struct subject_result *res, struct sul_err *err)
{
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	struct sul_warp_opts wopts = SUL_WARP_OPTS_INIT;
	struct sul_volume ref, mask, truth, w_lobes, w_brain, w_jhu, none, aff;
	struct sul_affine identity;
	struct sul_warp w;
	struct sul_buf rel = SUL_BUF_INIT;
	char *path = sul_xasprintf("%s/%s", in_dir, ref_rel);
	double t0;
	int ret = -1, l, a;

	memset(&ref, 0, sizeof(ref));
	memset(&mask, 0, sizeof(mask));
	memset(&truth, 0, sizeof(truth));
	memset(&w_lobes, 0, sizeof(w_lobes));
	memset(&w_brain, 0, sizeof(w_brain));
	memset(&w_jhu, 0, sizeof(w_jhu));
	memset(&none, 0, sizeof(none));
	memset(&aff, 0, sizeof(aff));
	memset(&w, 0, sizeof(w));
	memset(res, 0, sizeof(*res));
	opts.bins = (int)sul_ctx_int(ctx, "bins");
	opts.levels = (int)sul_ctx_int(ctx, "levels");
	opts.iterations = (int)sul_ctx_int(ctx, "iterations");
	opts.samples = (long)sul_ctx_int(ctx, "samples");
	opts.seed = (uint64_t)sul_ctx_int(ctx, "seed");
	wopts.spacing_mm = sul_ctx_float(ctx, "warp_mm");
	wopts.stages = (int)sul_ctx_int(ctx, "warp_stages");
	wopts.iterations = (int)sul_ctx_int(ctx, "warp_iterations");
	wopts.samples = (long)sul_ctx_int(ctx, "warp_samples");
	wopts.bending = sul_ctx_float(ctx, "bending");
	if (!*ref_rel) {
		sul_err_set(err, SUL_ERR_INPUT, "no %s image in the table", sul_ctx_str(ctx, "reference"));
		goto out;
	}
	if (sul_volume_read(path, &ref, err))
		goto out;
	t0 = sul_cpu_s();
	if (wopts.spacing_mm > 0) {
		if (sul_warp_register(&ref, &at->a.t1, &opts, &wopts, &w, err)) {
			sul_err_prefix(err, "registering the template to '%s'", path);
			goto out;
		}
	} else {
		struct sul_affine t;
		if (sul_affine_register(&ref, &at->a.t1, &opts, &t, err)) {
			sul_err_prefix(err, "registering the template to '%s'", path);
			goto out;
		}
		sul_warp_from_affine(&t, &ref, 50, &w);
	}
	res->seconds = sul_cpu_s() - t0;
	res->mi = w.mi;
	res->jac_min = w.jac_min;
	res->folded = w.folded;
	sul_warp_resample(&ref, &at->lobes, &w, 1, &w_lobes);
	sul_warp_resample(&ref, &at->brain, &w, 1, &w_brain);
	sul_warp_resample(&ref, &at->jhu, &w, 1, &w_jhu);
	if (mask_rel && *mask_rel) {
		char *mp = sul_xasprintf("%s/%s", in_dir, mask_rel);
		int r = sul_volume_read(mp, &mask, err);
		free(mp);
		if (r)
			goto out;
		if (mask.nx == ref.nx && mask.ny == ref.ny && mask.nz == ref.nz) {
			res->dice_brain = dice(&w_brain, &mask, 0);
			res->have_mask = 1;
		}
	}
	if (truth_rel && *truth_rel) {
		char *tp = sul_xasprintf("%s/%s", in_dir, truth_rel);
		int r = sul_volume_read(tp, &truth, err);
		free(tp);
		if (r)
			goto out;
		if (truth.nx == ref.nx && truth.ny == ref.ny && truth.nz == ref.nz) {
			/* The floor: the template's lobes where the subject's world
			 * coordinates fall, no registration at all. */
			memset(&identity, 0, sizeof(identity));
			for (a = 0; a < 3; a++)
				identity.a[a][a] = 1;
			sul_affine_resample(&ref, &at->lobes, &identity, 1, &none);
			sul_affine_resample(&ref, &at->lobes, &w.affine, 1, &aff);
			for (l = 0; l < 4; l++) {
				res->dice_lobe[l] = dice(&w_lobes, &truth, l + 1);
				res->dice_lobes += res->dice_lobe[l] / 4;
				res->dice_lobes_none += dice(&none, &truth, l + 1) / 4;
				res->dice_lobes_affine += dice(&aff, &truth, l + 1) / 4;
			}
			res->have_truth = 1;
		}
	}
	/* Written last: a subject that fails above (and may be dropped) leaves no files. */
	if (write_labels(ctx, sub, "lobes", &w_lobes, &rel, err))
		goto out;
	sul_buf_addf(rels, "%s\t", rel.buf);
	if (write_labels(ctx, sub, "wm_tracts", &w_jhu, &rel, err))
		goto out;
	sul_buf_addf(rels, "%s\t", rel.buf);
	if (write_labels(ctx, sub, "brain", &w_brain, &rel, err))
		goto out;
	sul_buf_addf(rels, "%s", rel.buf);
	sul_buf_reset(&rel);
	if (wopts.spacing_mm > 0) {
		char *prefix = sul_xasprintf("%s/atlas/%s/%s_warp", ctx->out, sub, sub);
		int r = sul_warp_write(prefix, &w, err);
		free(prefix);
		if (r)
			goto out;
		sul_buf_addf(&rel, "atlas/%s/%s_warp", sub, sub);
	}
	sul_buf_addf(transforms, "%s", sub);
	for (a = 0; a < 3; a++)
		sul_buf_addf(transforms, "\t%.6f\t%.6f\t%.6f", w.affine.a[a][0], w.affine.a[a][1], w.affine.a[a][2]);
	sul_buf_addf(transforms, "\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.4f\t%.6f\t%s\n", w.affine.t[0], w.affine.t[1],
		     w.affine.t[2], w.affine.center[0], w.affine.center[1], w.affine.center[2], w.mi, rel.buf);
	ret = 0;
out:
	sul_volume_release(&ref);
	sul_volume_release(&mask);
	sul_volume_release(&truth);
	sul_volume_release(&w_lobes);
	sul_volume_release(&w_brain);
	sul_volume_release(&w_jhu);
	sul_volume_release(&none);
	sul_volume_release(&aff);
	sul_warp_release(&w);
	sul_buf_release(&rel);
	free(path);
	return ret;
}

static int atlas_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const char *in_dir = ctx->inputs[0].dir, *ref_col = sul_ctx_str(ctx, "reference");
	char *table = sul_xasprintf("%s/%s", in_dir, sul_ctx_str(ctx, "table")), *templates = sul_ctx_path(ctx, "templates");
	struct sul_buf out = SUL_BUF_INIT, transforms = SUL_BUF_INIT, quality = SUL_BUF_INIT, rels = SUL_BUF_INIT;
	struct sul_buf trow = SUL_BUF_INIT;
	const int drop = !strcmp(sul_ctx_str(ctx, "bad"), "drop");
	double sum_mi = 0, sum_brain = 0, sum_lobes = 0, sum_none = 0, sum_affine = 0, min_dice = sul_ctx_float(ctx, "min_brain_dice");
	const double max_folded = sul_ctx_float(ctx, "max_folded");
	const char *reason = "";
	size_t row, c, nmask = 0, ntruth = 0, nflag = 0, ndrop = 0, nreg = 0;
	long scol, rcol, mcol, lcol;
	struct atlas at;
	struct sul_tsv t;
	int ret = -1, loaded = 0;

	memset(&t, 0, sizeof(t));
	if (sul_tsv_read(table, &t, err))
		goto out;
	scol = sul_tsv_col(&t, "subject");
	rcol = sul_tsv_col(&t, ref_col);
	mcol = sul_tsv_col(&t, "mask");
	lcol = sul_tsv_col(&t, "lobes");
	if (scol < 0 || rcol < 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: expected columns 'subject' and '%s' (parameter 'reference')", table,
			    ref_col);
		goto out;
	}
	if (atlas_load(templates, &at, err))
		goto out;
	loaded = 1;
	{
		/* The template's own labels, for viewers and for other tools to warp. */
		char *dir = sul_xasprintf("%s/template", ctx->out), *p1 = sul_xasprintf("%s/lobes.nii.gz", dir),
		     *p2 = sul_xasprintf("%s/brain.nii.gz", dir), *p3 = sul_xasprintf("%s/wm_tracts.nii.gz", dir);
		struct sul_affine id;
		struct sul_volume jhu;
		int bad;
		memset(&id, 0, sizeof(id));
		id.a[0][0] = id.a[1][1] = id.a[2][2] = 1;
		sul_affine_resample(&at.a.t1, &at.jhu, &id, 1, &jhu);
		bad = sul_mkdirs(dir, err) || sul_volume_write(p1, &at.lobes, SUL_VOL_UINT8, err)
		      || sul_volume_write(p2, &at.brain, SUL_VOL_UINT8, err) || sul_volume_write(p3, &jhu, SUL_VOL_UINT8, err);
		sul_volume_release(&jhu);
		if (!bad) {
			/* The tracts' names, for the tables of group_maps: the
			 * atlas's own "label<TAB>name" lines, under a header. */
			char *src = sul_xasprintf("%s/JHU-WhiteMatter-labels-1mm.nii.txt", templates);
			char *dst = sul_xasprintf("%s/wm_tracts.tsv", dir);
			struct sul_buf names = SUL_BUF_INIT, tsv = SUL_BUF_INIT;
			if (sul_read_file(src, &names, err))
				sul_err_clear(err);  /* no names: labels only */
			sul_buf_adds(&tsv, "label\tname\n");
			sul_buf_add(&tsv, names.buf, names.len);
			bad = sul_write_file_atomic(dst, tsv.buf, tsv.len, err);
			sul_buf_release(&names);
			sul_buf_release(&tsv);
			free(src);
			free(dst);
		}
		free(dir);
		free(p1);
		free(p2);
		free(p3);
		if (bad)
			goto out;
	}
	/* The table: the input's columns, lobes renamed lobes_true, then ours. */
	for (c = 0; c < t.ncols; c++)
		sul_buf_addf(&out, "%s%s", c ? "\t" : "", (long)c == lcol ? "lobes_true" : sul_tsv_at(&t, 0, c));
	sul_buf_addf(&out, "\tlobes\twm_tracts%s\n", mcol < 0 ? "\tmask" : "\tatlas_brain");
	sul_buf_adds(&transforms, "subject\tm00\tm01\tm02\tm10\tm11\tm12\tm20\tm21\tm22\ttx_mm\tty_mm\ttz_mm\tcx_mm\tcy_mm"
				  "\tcz_mm\tmi\twarp\n");
	sul_buf_adds(&quality, "subject\tmi\tdice_brain\tdice_lobes\tdice_lobes_none\tdice_lobes_affine\tdice_frontal"
			       "\tdice_temporal\tdice_parietal\tdice_occipital\tjacobian_min\tfolded\tregister_s\tflagged"
			       "\tstatus\treason\n");
	for (row = 1; row < t.nrows; row++) {
		const char *sub = sul_tsv_at(&t, row, (size_t)scol);
		struct subject_result r;
		int l;

		sul_buf_reset(&rels);
		sul_buf_reset(&trow);
		if (do_subject(ctx, &at, in_dir, sub, sul_tsv_at(&t, row, (size_t)rcol),
			       mcol >= 0 ? sul_tsv_at(&t, row, (size_t)mcol) : NULL,
			       lcol >= 0 ? sul_tsv_at(&t, row, (size_t)lcol) : NULL, &rels, &trow, &r, err)) {
			sul_err_prefix(err, "subject '%s'", sub);
			if (!drop)
				goto out;
			fprintf(stderr, "atlas: dropped subject '%s' (bad = \"drop\"): %s\n", sub, err->msg);
			sul_buf_addf(&quality, "%s\t\t\t\t\t\t\t\t\t\t\t\t\t\tdropped\t%s\n", sub, err->msg);
			sul_err_clear(err);
			ndrop++;
			continue;
		}
		nreg++;
		{
			const int low = r.have_mask && r.dice_brain < min_dice, folds = r.folded > max_folded;
			r.flagged = low || folds;
			if (low)
				fprintf(stderr, "atlas: warning: subject '%s': the warped template brain overlaps its mask with "
					"Dice %.3f, below min_brain_dice %.2f: check its registration%s\n", sub, r.dice_brain,
					min_dice, drop ? " (dropped: bad = \"drop\")" : "");
			if (folds)
				fprintf(stderr, "atlas: warning: subject '%s': the warp folds on %.3f%% of its voxels (Jacobian "
					"down to %.3f), above max_folded %g%%: raise bending or warp_mm%s\n", sub,
					100 * r.folded, r.jac_min, 100 * max_folded, drop ? " (dropped: bad = \"drop\")" : "");
			reason = low && folds ? "flagged: brain Dice below min_brain_dice, and the warp folds"
				 : low ? "flagged: brain Dice below min_brain_dice" : "flagged: the warp folds";
			nflag += r.flagged;
		}
		if (!(r.flagged && drop)) {
			for (c = 0; c < t.ncols; c++)
				sul_buf_addf(&out, "%s%s", c ? "\t" : "", sul_tsv_at(&t, row, c));
			sul_buf_addf(&out, "\t%s\n", rels.buf);
			sul_buf_add(&transforms, trow.buf, trow.len);
		} else {
			ndrop++;
		}
		{
			char name[256];
			snprintf(name, sizeof(name), "register_s_%s", sub);
			if (metric(ctx, sub, "mi", r.mi, err) || sul_ctx_timing(ctx, name, -1, r.seconds, err))
				goto out;
		}
		sum_mi += r.mi;
		sul_buf_addf(&quality, "%s\t%.6f", sub, r.mi);
		if (r.have_mask) {
			if (metric(ctx, sub, "dice_brain", r.dice_brain, err))
				goto out;
			sum_brain += r.dice_brain;
			nmask++;
			sul_buf_addf(&quality, "\t%.4f", r.dice_brain);
		} else {
			sul_buf_adds(&quality, "\t");
		}
		if (r.have_truth) {
			if (metric(ctx, sub, "dice_lobes", r.dice_lobes, err)
			    || metric(ctx, sub, "dice_lobes_none", r.dice_lobes_none, err)
			    || metric(ctx, sub, "dice_lobes_affine", r.dice_lobes_affine, err))
				goto out;
			sum_lobes += r.dice_lobes;
			sum_none += r.dice_lobes_none;
			sum_affine += r.dice_lobes_affine;
			ntruth++;
			sul_buf_addf(&quality, "\t%.4f\t%.4f\t%.4f", r.dice_lobes, r.dice_lobes_none, r.dice_lobes_affine);
			for (l = 0; l < 4; l++)
				sul_buf_addf(&quality, "\t%.4f", r.dice_lobe[l]);
		} else {
			sul_buf_adds(&quality, "\t\t\t\t\t\t\t");
		}
		sul_buf_addf(&quality, "\t%.4f\t%.6f\t%.3f\t%d\t%s\t%s\n", r.jac_min, r.folded, r.seconds, r.flagged, r.flagged && drop ? "dropped" : "used",
			     r.flagged && drop ? reason : "");
	}
	if (nreg && sul_ctx_metric(ctx, "mi_mean", -1, sum_mi / (double)nreg, err))
		goto out;
	if (nmask && sul_ctx_metric(ctx, "dice_brain_mean", -1, sum_brain / (double)nmask, err))
		goto out;
	if (ntruth && (sul_ctx_metric(ctx, "dice_lobes_mean", -1, sum_lobes / (double)ntruth, err)
		       || sul_ctx_metric(ctx, "dice_lobes_none_mean", -1, sum_none / (double)ntruth, err)
		       || sul_ctx_metric(ctx, "dice_lobes_affine_mean", -1, sum_affine / (double)ntruth, err)))
		goto out;
	if (sul_ctx_metric(ctx, "flagged", -1, (double)nflag, err)
	    || sul_ctx_metric(ctx, "subjects_dropped", -1, (double)ndrop, err))
		goto out;
	if (ndrop == t.nrows - 1 && t.nrows > 1) {
		sul_err_set(err, SUL_ERR_INPUT, "every subject was dropped (bad = \"drop\"): see the log");
		goto out;
	}
	{
		/* The input's other files come along (images, masks, truth). */
		const char *skip[3] = { "subject", "group", "class" };
		char *p1 = sul_xasprintf("%s/subjects.tsv", ctx->out), *p2 = sul_xasprintf("%s/transforms.tsv", ctx->out);
		char *tables = sul_xasprintf("%s/tables", ctx->out), *p3 = sul_xasprintf("%s/tables/atlas_quality.tsv", ctx->out);
		int bad = sul_tsv_carry(&t, skip, 3, in_dir, ctx->out, err) || sul_write_file_atomic(p1, out.buf, out.len, err)
			  || sul_write_file_atomic(p2, transforms.buf, transforms.len, err) || sul_mkdirs(tables, err)
			  || sul_write_file_atomic(p3, quality.buf, quality.len, err);
		free(p1);
		free(p2);
		free(p3);
		free(tables);
		if (bad)
			goto out;
	}
	ret = 0;
out:
	if (loaded)
		atlas_release(&at);
	sul_tsv_release(&t);
	sul_buf_release(&out);
	sul_buf_release(&transforms);
	sul_buf_release(&quality);
	sul_buf_release(&rels);
	sul_buf_release(&trow);
	free(table);
	free(templates);
	return ret;
}

static const struct sul_table_spec atlas_tables[] = {
	{ "atlas_quality", "per subject: how well the template registered, and with true lobes how well they came out",
	  "subject         TEXT NOT NULL,\n"
	  "  mi              REAL,     -- final mutual information (nats)\n"
	  "  dice_brain      REAL,     -- warped template brain vs the subject's mask; NULL without one\n"
	  "  dice_lobes      REAL,     -- mean Dice of the 4 lobes vs the true lobes (synthetic cohort)\n"
	  "  dice_lobes_none REAL,     -- the same with no registration: the floor\n"
	  "  dice_lobes_affine REAL,   -- the same with the affine alone, before the non-linear refinement\n"
	  "  dice_frontal REAL, dice_temporal REAL, dice_parietal REAL, dice_occipital REAL,\n"
	  "  jacobian_min    REAL,     -- smallest Jacobian determinant of the warp relative to the affine's\n"
	  "  folded          REAL,     -- fraction of the subject's voxels where the warp folds (Jacobian <= 0)\n"
	  "  register_s      REAL,     -- CPU seconds of the registration\n"
	  "  flagged         INTEGER,  -- 1 when dice_brain < min_brain_dice or folded > max_folded\n"
	  "  status          TEXT,     -- used, or dropped (bad = \"drop\")\n"
	  "  reason          TEXT      -- why dropped",
	  "subject" },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_atlas = {
	.name = "atlas",
	.version = 3,
	.doc = "the Colin27 template registered (affine, then a B-spline warp) to each subject's T1; lobes, JHU "
	       "white-matter labels and brain warped onto its grid",
	.params = atlas_params,
	.inputs = { 1, 1, "exactly one input (a stage with subjects.tsv)" },
	.tables = atlas_tables,
	.run = atlas_run,
};
