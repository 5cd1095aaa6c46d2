/*
 * coregister.c - the `coregister` kind: rigid registration of each
 * subject's moving images (T2w, FLAIR) to its reference (T1w) by mutual
 * information, and trilinear resampling onto the reference's grid.
 *
 * Its one input holds a table (default subjects.tsv, as `ingest` writes
 * it): subject, group, class and one column of image paths, relative to
 * the input folder, per modality.  The output holds the same table with
 * the same relative paths: the reference image copied unchanged, each
 * moving image resampled (float32, with the reference's geometry); columns
 * it does not know pass through as text.  transforms.tsv gives each
 * transform (reference world -> moving world, see rigid.h) as Euler
 * angles in degrees, a translation in mm, the center of rotation and the
 * final mutual information; metrics.tsv the MI per image and summaries.
 *
 * It does not skull-strip, correct bias or register subjects to a template
 * (each subject stays in its own T1 space), and it does not judge whether a
 * registration is good: a low MI is reported, not refused.
 */
#include "../engine/clock.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "rigid.h"
#include "tsv.h"
#include "volume.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec coregister_params[] = {
	{ "table", SUL_T_STRING, "subjects.tsv", 0, 0, NULL, "the input's table of images, relative to its folder" },
	{ "reference", SUL_T_STRING, "T1w", 0, 0, NULL, "the table column of the images the others are aligned to" },
	{ "moving", SUL_T_STRING, "T2w,FLAIR", 0, 0, NULL, "the table columns of the images to align, comma-separated" },
	{ "bins", SUL_T_INT, "32", 8, 256, NULL, "histogram bins of the mutual information" },
	{ "levels", SUL_T_INT, "3", 1, 6, NULL, "resolution levels (each coarser one halves the resolution)" },
	{ "iterations", SUL_T_INT, "200", 1, 100000, NULL, "at most this many optimizer iterations per level" },
	{ "samples", SUL_T_INT, "10000", 0, 1e9, NULL,
	  "reference voxels sampled per iteration (0: all); a final BFGS polish uses a grid of about 60,000" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "random seed of the voxel sampling" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

#define MAX_MOVING 16


/*
 * Ground truth, when a second input holds derivatives/synth/transforms.tsv
 * (the synthetic cohort's applied misalignments, in this file's convention):
 * the mean distance between where the recovered and the true transform send
 * each brain voxel of the reference, in mm.  Returns -1 when there is no
 * truth for this pair.
 */
/* The transform as an affine map of ref's voxel index to world mm. */
static void affine_of(const struct sul_rigid *t, const struct sul_volume *ref, double out[3][4])
{
	double o[3], col[3];
	int a, q;

	/* The image of the origin, then of each axis step, minus it. */
	for (q = 0; q < 3; q++)
		col[q] = ref->ijk_to_xyz[q][3];
	sul_rigid_apply(t, col, o);
	for (a = 0; a < 3; a++) {
		double x[3], y[3];
		for (q = 0; q < 3; q++)
			x[q] = ref->ijk_to_xyz[q][3] + ref->ijk_to_xyz[q][a];
		sul_rigid_apply(t, x, y);
		for (q = 0; q < 3; q++)
			out[q][a] = y[q] - o[q];
	}
	for (q = 0; q < 3; q++)
		out[q][3] = o[q];
}

static double residual_mm(const struct sul_stage_ctx *ctx, const struct sul_volume *ref, const struct sul_volume *mask,
			  const struct sul_rigid *est, const char *sub, const char *mod)
{
	char *path;
	struct sul_tsv t;
	struct sul_err ignored = SUL_ERR_INIT;
	double sum = 0, r = -1, de[3][4], dt[3][4];
	int64_t i, j, k, n = 0;
	size_t row;

	if (ctx->ninputs < 2)
		return -1;
	path = sul_xasprintf("%s/derivatives/synth/transforms.tsv", ctx->inputs[1].dir);
	if (sul_tsv_read(path, &t, &ignored)) {
		free(path);
		return -1;
	}
	for (row = 1; row < t.nrows && t.ncols >= 11; row++) {
		struct sul_rigid truth;
		int c;
		if (strcmp(sul_tsv_at(&t, row, 0), sub) || strcmp(sul_tsv_at(&t, row, 1), mod))
			continue;
		for (c = 0; c < 6; c++)
			truth.p[c] = strtod(sul_tsv_at(&t, row, (size_t)c + 2), NULL) * (c < 3 ? M_PI / 180 : 1);
		for (c = 0; c < 3; c++)
			truth.center[c] = strtod(sul_tsv_at(&t, row, (size_t)c + 8), NULL);
		/* est(x) - truth(x) is affine in the voxel index: D ijk + o. */
		affine_of(est, ref, de);
		affine_of(&truth, ref, dt);
		for (c = 0; c < 12; c++)
			de[c / 4][c % 4] -= dt[c / 4][c % 4];
		for (k = 0; k < ref->nz; k++)
			for (j = 0; j < ref->ny; j++)
				for (i = 0; i < ref->nx; i++) {
					int64_t v = i + ref->nx * (j + ref->ny * k);
					double d[3];
					int q;
					if (mask ? mask->data[v] <= 0 : ref->data[v] <= 0)
						continue;
					for (q = 0; q < 3; q++)
						d[q] = de[q][0] * (double)i + de[q][1] * (double)j + de[q][2] * (double)k + de[q][3];
					sum += sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
					n++;
				}
		r = n ? sum / (double)n : -1;
		break;
	}
	sul_tsv_release(&t);
	free(path);
	return r;
}

/* Table cells must name files inside the input's folder. */
static int check_rel(const char *table, const char *sub, const char *col, const char *rel, struct sul_err *err)
{
	if (!*rel || rel[0] == '/' || strstr(rel, ".."))
		return sul_err_set(err, SUL_ERR_INPUT, "%s: subject '%s': column '%s': expected a path inside the "
				   "input's folder, got '%s'", table, sub, col, rel);
	return 0;
}

/* FNV-1a of "subject/modality": each pair draws its own samples, so a
 * subject's result does not depend on the rows before it. */
static uint64_t pair_seed(uint64_t seed, const char *sub, const char *mod)
{
	uint64_t h = 1469598103934665603ull ^ seed;
	const char *s;

	for (s = sub; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h = (h ^ '/') * 1099511628211ull;
	for (s = mod; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The angle of R, in degrees: how far the transform rotates. */
static double rotation_angle(const double p[6])
{
	double r[3][3], c;

	sul_rigid_matrix(p, r);
	c = (r[0][0] + r[1][1] + r[2][2] - 1) / 2;
	return acos(c > 1 ? 1 : c < -1 ? -1 : c) * 180 / M_PI;
}

struct summary {
	double rot_sum, rot_max, tr_sum, tr_max, mi_sum, res_sum, res_max;
	size_t n, nres;
};

/* Registers one moving image to ref and writes the resampled image. */
static int coregister_one(const struct sul_stage_ctx *ctx, const struct sul_volume *ref, const struct sul_volume *mask,
			  const char *ref_path,
			  const char *in_dir, const char *sub, const char *mod, const char *rel, struct sul_buf *transforms,
			  struct summary *sum, struct sul_err *err)
{
	struct sul_rigid_opts opts = SUL_RIGID_OPTS_INIT;
	char *src = sul_xasprintf("%s/%s", in_dir, rel), *dst = sul_xasprintf("%s/%s", ctx->out, rel);
	struct sul_volume mov, res;
	struct sul_rigid t;
	char name[256];
	double rot, tr, t0, reg_s;
	int ret = -1, n;

	memset(&mov, 0, sizeof(mov));
	memset(&res, 0, sizeof(res));
	opts.bins = (int)sul_ctx_int(ctx, "bins");
	opts.levels = (int)sul_ctx_int(ctx, "levels");
	opts.iterations = (int)sul_ctx_int(ctx, "iterations");
	opts.samples = (long)sul_ctx_int(ctx, "samples");
	opts.seed = pair_seed((uint64_t)sul_ctx_int(ctx, "seed"), sub, mod);
	if (sul_volume_read(src, &mov, err))
		goto out;
	/* The registration's own cost, which the stage's total (reading,
	 * resampling, writing) also contains. */
	t0 = sul_cpu_s();
	if (sul_rigid_register(ref, &mov, &opts, &t, err)) {
		sul_err_prefix(err, "subject '%s': registering '%s' to '%s'", sub, src, ref_path);
		goto out;
	}
	reg_s = sul_cpu_s() - t0;
	sul_rigid_resample(ref, &mov, &t, &res);
	{
		char *dir = sul_path_dirname(dst);
		int r = sul_mkdirs(dir, err) || sul_volume_write(dst, &res, SUL_VOL_FLOAT32, err);
		free(dir);
		if (r)
			goto out;
	}
	sul_buf_addf(transforms, "%s\t%s\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.4f\t%.4f\t%.4f\t%.6f\n", sub, mod,
		     t.p[0] * 180 / M_PI, t.p[1] * 180 / M_PI, t.p[2] * 180 / M_PI, t.p[3], t.p[4], t.p[5], t.center[0],
		     t.center[1], t.center[2], t.mi);
	n = snprintf(name, sizeof(name), "mi_%s_%s", sub, mod);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		sul_err_set(err, SUL_ERR_INPUT, "subject '%s': modality '%s': names too long for a metric", sub, mod);
		goto out;
	}
	if (sul_ctx_metric(ctx, name, -1, t.mi, err))
		goto out;
	snprintf(name, sizeof(name), "register_s_%s_%s", sub, mod);
	if (sul_ctx_timing(ctx, name, -1, reg_s, err))
		goto out;
	{
		double res_mm = residual_mm(ctx, ref, mask, &t, sub, mod);
		if (res_mm >= 0) {
			snprintf(name, sizeof(name), "residual_mm_%s_%s", sub, mod);
			if (sul_ctx_metric(ctx, name, -1, res_mm, err))
				goto out;
			sum->res_sum += res_mm;
			sum->res_max = fmax(sum->res_max, res_mm);
			sum->nres++;
		}
	}
	rot = rotation_angle(t.p);
	tr = sqrt(t.p[3] * t.p[3] + t.p[4] * t.p[4] + t.p[5] * t.p[5]);
	sum->rot_sum += rot;
	sum->tr_sum += tr;
	sum->mi_sum += t.mi;
	sum->rot_max = rot > sum->rot_max ? rot : sum->rot_max;
	sum->tr_max = tr > sum->tr_max ? tr : sum->tr_max;
	sum->n++;
	ret = 0;
out:
	sul_volume_release(&mov);
	sul_volume_release(&res);
	free(src);
	free(dst);
	return ret;
}

static int coregister_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	return sul_check_list(ctx, "moving", MAX_MOVING, about, err);
}

static int coregister_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const char *in_dir = ctx->inputs[0].dir, *ref_col = sul_ctx_str(ctx, "reference");
	char *table = sul_xasprintf("%s/%s", in_dir, sul_ctx_str(ctx, "table"));
	char *mods_buf = NULL, *mods[MAX_MOVING], *path = NULL;
	size_t nmods = 0, row, m, i;
	struct sul_buf transforms = SUL_BUF_INIT, copy = SUL_BUF_INIT;
	struct summary sum;
	struct sul_tsv t;
	long scol, rcol, kcol, mcol[MAX_MOVING];
	int ret = -1;

	memset(&t, 0, sizeof(t));
	memset(&sum, 0, sizeof(sum));
	if (sul_ctx_list(ctx, "moving", MAX_MOVING, &mods_buf, mods, &nmods, err))
		goto out;
	if (sul_tsv_read(table, &t, err))
		goto out;
	scol = sul_tsv_col(&t, "subject");
	rcol = sul_tsv_col(&t, ref_col);
	kcol = sul_tsv_col(&t, "mask");
	if (scol < 0 || rcol < 0 || sul_tsv_col(&t, "group") < 0 || sul_tsv_col(&t, "class") < 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: expected columns 'subject', 'group', 'class' and '%s' "
			    "(parameter 'reference')", table, ref_col);
		goto out;
	}
	for (m = 0; m < nmods; m++) {
		mcol[m] = sul_tsv_col(&t, mods[m]);
		if (mcol[m] < 0 || mcol[m] == rcol) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: parameter 'moving': expected columns of the table other "
				    "than the reference, got '%s'", table, mods[m]);
			goto out;
		}
	}
	sul_buf_adds(&transforms, "subject\tmodality\trx_deg\try_deg\trz_deg\ttx_mm\tty_mm\ttz_mm\tcx_mm\tcy_mm\t"
				  "cz_mm\tmi\n");
	for (row = 1; row < t.nrows; row++) {
		const char *sub = sul_tsv_at(&t, row, (size_t)scol), *rel = sul_tsv_at(&t, row, (size_t)rcol);
		char *src, *dst;
		struct sul_volume ref, mask;
		int bad;

		memset(&mask, 0, sizeof(mask));
		if (check_rel(table, sub, ref_col, rel, err))
			goto out;
		for (m = 0; m < nmods; m++)
			if (check_rel(table, sub, mods[m], sul_tsv_at(&t, row, (size_t)mcol[m]), err))
				goto out;
		src = sul_xasprintf("%s/%s", in_dir, rel);
		dst = sul_xasprintf("%s/%s", ctx->out, rel);
		bad = sul_volume_read(src, &ref, err) || sul_copy_file(src, dst, err);
		free(dst);
		/* The brain mask, when the table has one, is where ground truth is compared. */
		if (!bad && kcol >= 0 && ctx->ninputs > 1) {
			char *mp = sul_xasprintf("%s/%s", in_dir, sul_tsv_at(&t, row, (size_t)kcol));
			bad = sul_volume_read(mp, &mask, err);
			free(mp);
			if (!bad && (mask.nx != ref.nx || mask.ny != ref.ny || mask.nz != ref.nz))
				sul_volume_release(&mask);
		}
		if (bad) {
			sul_volume_release(&ref);
			sul_volume_release(&mask);
			free(src);
			goto out;
		}
		for (m = 0; m < nmods && !bad; m++)
			bad = coregister_one(ctx, &ref, mask.data ? &mask : NULL, src, in_dir, sub, mods[m],
					     sul_tsv_at(&t, row, (size_t)mcol[m]), &transforms, &sum, err);
		sul_volume_release(&ref);
		sul_volume_release(&mask);
		free(src);
		if (bad)
			goto out;
	}
	/* Masks and other files in the reference's frame come along unchanged. */
	{
		const char *skip[MAX_MOVING + 4] = { "subject", "group", "class", ref_col };
		for (m = 0; m < nmods; m++)
			skip[4 + m] = mods[m];
		if (sul_tsv_carry(&t, skip, 4 + nmods, in_dir, ctx->out, err))
			goto out;
	}
	/* The same table: the images keep their relative paths. */
	for (row = 0; row < t.nrows; row++)
		for (i = 0; i < t.ncols; i++)
			sul_buf_addf(&copy, "%s%c", sul_tsv_at(&t, row, i), i + 1 < t.ncols ? '\t' : '\n');
	path = sul_xasprintf("%s/subjects.tsv", ctx->out);
	if (sul_write_file_atomic(path, copy.buf, copy.len, err))
		goto out;
	free(path);
	path = sul_xasprintf("%s/transforms.tsv", ctx->out);
	if (sul_write_file_atomic(path, transforms.buf, transforms.len, err))
		goto out;
	if (sum.n
	    && (sul_ctx_metric(ctx, "mi_mean", -1, sum.mi_sum / (double)sum.n, err)
		|| sul_ctx_metric(ctx, "rotation_deg_mean", -1, sum.rot_sum / (double)sum.n, err)
		|| sul_ctx_metric(ctx, "rotation_deg_max", -1, sum.rot_max, err)
		|| sul_ctx_metric(ctx, "translation_mm_mean", -1, sum.tr_sum / (double)sum.n, err)
		|| sul_ctx_metric(ctx, "translation_mm_max", -1, sum.tr_max, err)))
		goto out;
	if (sum.nres && (sul_ctx_metric(ctx, "residual_mm_mean", -1, sum.res_sum / (double)sum.nres, err)
			 || sul_ctx_metric(ctx, "residual_mm_max", -1, sum.res_max, err)))
		goto out;
	ret = 0;
out:
	sul_tsv_release(&t);
	sul_buf_release(&transforms);
	sul_buf_release(&copy);
	free(path);
	free(table);
	free(mods_buf);
	return ret;
}

const struct sul_kind sul_kind_coregister = {
	.name = "coregister",
	.version = 3,
	.doc = "rigid registration of T2w/FLAIR to T1w by Mattes mutual information, resampled onto the T1w grid",
	.params = coregister_params,
	.check = coregister_check,
	.inputs = { 1, 2, "one input (the stage holding the images' table), and optionally a second with the true "
		    "transforms (synth)" },
	.run = coregister_run,
};
