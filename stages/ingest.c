/*
 * ingest.c - the `ingest` kind: read a BIDS folder of T1w, T2w and FLAIR
 * images and the participants' groups.
 *
 *   BIDS/participants.tsv                 participant_id, group (and any other columns)
 *   BIDS/sub-<label>/anat/sub-<label>_<modality>.nii[.gz]
 *
 * Every listed image is read in full (so a truncated file fails here, naming
 * it) and copied unchanged into the output, beside `subjects.tsv`:
 * subject, group, class (the group's position in `groups`), one path per
 * modality relative to the output folder.  Where the folder carries label
 * images in subject space under `derivatives` (default derivatives/synth,
 * the synthetic cohort's ground truth: SUB/SUB_brain.nii.gz, _wm, _lesions,
 * _lobes), those are copied too, as columns mask, wm, lesions and lobes:
 * each kind the first subject has, every subject must have.  That is also
 * how real data brings a lobe atlas (1 frontal, 2 temporal, 3 parietal,
 * 4 occipital, 5 other) or lesion masks for the heatmap statistics.  It does not resample or touch
 * the images' geometry: that is for the preprocessing stages.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "tsv.h"
#include "volume.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec ingest_params[] = {
	{ "bids", SUL_T_PATH, "", 0, 0, NULL, "the BIDS folder; empty: the output of the stage's one input (synth)" },
	{ "groups", SUL_T_STRING, "RRMS,SPMS,HC", 0, 0, NULL,
	  "participants.tsv group names, comma-separated, in class order" },
	{ "group_column", SUL_T_STRING, "group", 0, 0, NULL, "the participants.tsv column holding the group" },
	{ "modalities", SUL_T_STRING, "T1w,T2w,FLAIR", 0, 0, NULL,
	  "BIDS suffixes of the images, comma-separated; the first is the reference" },
	{ "derivatives", SUL_T_STRING, "derivatives/synth", 0, 0, NULL,
	  "folder of optional label images in subject space: SUB/SUB_brain, _wm, _lesions, _lobes (.nii.gz)" },
	{ "max_voxels", SUL_T_INT, "134217728", 1, 4294967296.0, NULL,
	  "largest image accepted, in voxels (refused from its header, before its data is read)" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};


#define MAX_ITEMS 16

/* Finds sub-X_MOD.nii.gz or .nii; validates it; copies it into out. */
static int ingest_image(const char *bids, const char *out, const char *sub, const char *mod,
			long long max_voxels, struct sul_buf *rel, struct sul_err *err)
{
	static const char *const exts[] = { ".nii.gz", ".nii" };
	struct sul_volume v;
	char *src = NULL, *dst_dir = NULL, *dst = NULL;
	size_t e;
	int ret = -1;

	for (e = 0; e < 2; e++) {
		free(src);
		src = sul_xasprintf("%s/%s/anat/%s_%s%s", bids, sub, sub, mod, exts[e]);
		if (sul_path_exists(src))
			break;
	}
	if (e == 2) {
		sul_err_set(err, SUL_ERR_INPUT, "subject '%s': missing %s image: expected '%s/%s/anat/%s_%s.nii.gz' "
			    "(or .nii)", sub, mod, bids, sub, sub, mod);
		goto out;
	}
	if (sul_volume_read_max(src, max_voxels, &v, err))
		goto out;
	sul_volume_release(&v);
	sul_buf_reset(rel);
	sul_buf_addf(rel, "%s/anat/%s_%s%s", sub, sub, mod, exts[e]);
	dst_dir = sul_xasprintf("%s/%s/anat", out, sub);
	dst = sul_xasprintf("%s/%s", out, rel->buf);
	if (sul_mkdirs(dst_dir, err) || sul_copy_file(src, dst, err))
		goto out;
	ret = 0;
out:
	free(src);
	free(dst_dir);
	free(dst);
	return ret;
}

static const char *const truth_files[4] = { "brain", "wm", "lesions", "lobes" };
static const char *const truth_cols[4] = { "mask", "wm", "lesions", "lobes" };

/* Copies DERIV/SUB/SUB_WHAT.nii.gz when it exists; 0 if absent. */
static int ingest_truth(const char *bids, const char *deriv, const char *out, const char *sub, const char *what,
			long long max_voxels, struct sul_buf *rel, struct sul_err *err)
{
	char *src = sul_xasprintf("%s/%s/%s/%s_%s.nii.gz", bids, deriv, sub, sub, what);
	char *dir = sul_xasprintf("%s/%s/%s", out, deriv, sub), *dst = NULL;
	struct sul_volume v;
	int ret = 0;

	if (sul_path_exists(src)) {
		if (sul_volume_read_max(src, max_voxels, &v, err)) {
			ret = -1;
			goto out;
		}
		sul_volume_release(&v);
		sul_buf_reset(rel);
		sul_buf_addf(rel, "%s/%s/%s_%s.nii.gz", deriv, sub, sub, what);
		dst = sul_xasprintf("%s/%s", out, rel->buf);
		ret = sul_mkdirs(dir, err) || sul_copy_file(src, dst, err) ? -1 : 1;
	}
out:
	free(src);
	free(dir);
	free(dst);
	return ret;
}

static int ingest_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	int given = *sul_ctx_str(ctx, "bids") != '\0';

	if (sul_check_list(ctx, "groups", MAX_ITEMS, about, err)
	    || sul_check_list(ctx, "modalities", MAX_ITEMS, about, err))
		return -1;
	if (given == (ctx->ninputs == 1) || ctx->ninputs > 1)
		return sul_err_set(err, SUL_ERR_INPUT,
				   "expected either parameter 'bids' (a BIDS folder) or one input stage that writes one "
				   "(synth), not %s",
				   given ? "both" : "neither");
	return 0;
}

static int ingest_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	char *bids = ctx->ninputs ? sul_xstrdup(ctx->inputs[0].dir) : sul_ctx_path(ctx, "bids");
	const char *deriv = sul_ctx_str(ctx, "derivatives");
	long long max_voxels = sul_ctx_int(ctx, "max_voxels");
	char *groups_buf = NULL, *mods_buf = NULL;
	char *participants = sul_xasprintf("%s/participants.tsv", bids);
	char *groups[MAX_ITEMS], *mods[MAX_ITEMS];
	size_t ngroups = 0, nmods = 0;
	size_t counts[MAX_ITEMS] = { 0 }, row, g, m;
	struct sul_buf table = SUL_BUF_INIT, rel = SUL_BUF_INIT;
	struct sul_tsv t;
	long id_col, group_col;
	char *path = NULL;
	int ret = -1, truth[4] = { 0 };

	memset(&t, 0, sizeof(t));
	if (sul_ctx_list(ctx, "groups", MAX_ITEMS, &groups_buf, groups, &ngroups, err)
	    || sul_ctx_list(ctx, "modalities", MAX_ITEMS, &mods_buf, mods, &nmods, err))
		goto out;
	if (ngroups < 2 || nmods < 1) {
		sul_err_set(err, SUL_ERR_INPUT, "parameters 'groups' and 'modalities': expected at least two groups "
			    "and one modality, comma-separated");
		goto out;
	}
	if (sul_tsv_read(participants, &t, err))
		goto out;
	id_col = sul_tsv_col(&t, "participant_id");
	group_col = sul_tsv_col(&t, sul_ctx_str(ctx, "group_column"));
	if (id_col < 0 || group_col < 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: expected columns 'participant_id' and '%s' in the header",
			    participants, sul_ctx_str(ctx, "group_column"));
		goto out;
	}
	/* Label columns: each kind the first subject has (then all must). */
	for (m = 0; m < 4; m++) {
		char *probe = t.nrows > 1 ? sul_xasprintf("%s/%s/%s/%s_%s.nii.gz", bids, deriv,
							 sul_tsv_at(&t, 1, (size_t)id_col), sul_tsv_at(&t, 1, (size_t)id_col),
							 truth_files[m])
					  : NULL;
		truth[m] = probe && sul_path_exists(probe);
		free(probe);
	}
	sul_buf_adds(&table, "subject\tgroup\tclass");
	for (m = 0; m < nmods; m++)
		sul_buf_addf(&table, "\t%s", mods[m]);
	for (m = 0; m < 4; m++)
		if (truth[m])
			sul_buf_addf(&table, "\t%s", truth_cols[m]);
	sul_buf_addc(&table, '\n');
	for (row = 1; row < t.nrows; row++) {
		const char *sub = sul_tsv_at(&t, row, (size_t)id_col);
		const char *grp = sul_tsv_at(&t, row, (size_t)group_col);

		for (g = 0; g < ngroups && strcmp(groups[g], grp); g++)
			;
		if (g == ngroups) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: subject '%s': group '%s' is not one of '%s' "
				    "(parameter 'groups')", participants, sub, grp, sul_ctx_str(ctx, "groups"));
			goto out;
		}
		if (strncmp(sub, "sub-", 4) || !sub[4] || strpbrk(sub, "/ ")) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: participant_id '%s': expected 'sub-<label>'", participants,
				    sub);
			goto out;
		}
		counts[g]++;
		sul_buf_addf(&table, "%s\t%s\t%zu", sub, grp, g);
		for (m = 0; m < nmods; m++) {
			if (ingest_image(bids, ctx->out, sub, mods[m], max_voxels, &rel, err))
				goto out;
			sul_buf_addf(&table, "\t%s", rel.buf);
		}
		for (m = 0; m < 4; m++) {
			int r;
			if (!truth[m])
				continue;
			r = ingest_truth(bids, deriv, ctx->out, sub, truth_files[m], max_voxels, &rel, err);
			if (r < 0)
				goto out;
			if (!r) {
				sul_err_set(err, SUL_ERR_INPUT, "subject '%s': missing %s/%s/%s_%s.nii.gz (the first subject "
					    "has one, so every subject needs it)", sub, deriv, sub, sub, truth_files[m]);
				goto out;
			}
			sul_buf_addf(&table, "\t%s", rel.buf);
		}
		sul_buf_addc(&table, '\n');
	}
	for (g = 0; g < ngroups; g++)
		if (!counts[g]) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: group '%s' has no subject: every class needs data",
				    participants, groups[g]);
			goto out;
		}
	path = sul_xasprintf("%s/subjects.tsv", ctx->out);
	if (sul_write_file_atomic(path, table.buf, table.len, err))
		goto out;
	for (g = 0; g < ngroups; g++) {
		char name[96];
		snprintf(name, sizeof(name), "subjects_%s", groups[g]);
		if (sul_ctx_metric(ctx, name, -1, (double)counts[g], err))
			goto out;
	}
	ret = 0;
out:
	sul_tsv_release(&t);
	sul_buf_release(&table);
	sul_buf_release(&rel);
	free(path);
	free(participants);
	free(groups_buf);
	free(mods_buf);
	free(bids);
	return ret;
}

const struct sul_kind sul_kind_ingest = {
	.name = "ingest",
	.version = 2,
	.doc = "read a BIDS folder (participants.tsv, sub-*/anat/*_T1w|T2w|FLAIR.nii[.gz]) into subjects.tsv",
	.params = ingest_params,
	.check = ingest_check,
	.run = ingest_run,
};
