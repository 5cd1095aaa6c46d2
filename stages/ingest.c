/*
 * ingest.c - the `ingest` kind: read a BIDS folder as it is found into the
 * table the preprocessing stages take.
 *
 *   BIDS/participants.tsv        participant_id, group (any name: group_column), other columns
 *   BIDS/dataset_description.json
 *   BIDS/sub-<label>[/ses-<label>]/anat/sub-<label>[_ses-<label>][_acq-..][_ce-..][_rec-..][_run-..]_<suffix>.nii[.gz]
 *   and the images' JSON sidecars, inherited from the dataset, subject and session levels
 *
 * Sessions: `session` keeps the first or last of each participant's
 * sessions (by label, numbers as numbers), a named one, or all of them,
 * each as its own row.  A row's `subject` is the participant (sub-01), or
 * with all sessions the participant and session (sub-01_ses-02); the
 * `participant` column always holds the participant, which is what
 * `split` keeps in one split.  Several images of one suffix: the filters
 * acq, ce and rec choose; without a filter, the image without the entity
 * (the default acquisition) wins where both exist; among runs `run` picks
 * (last, first or a label); whatever is still ambiguous is a problem.
 *
 * participants.tsv as found: Windows line ends, a byte-order mark,
 * quoted values and spaces around them, "n/a", ids with or without the
 * "sub-" prefix, extra columns (carried into the table; a name ingest uses
 * itself gets a "participants_" prefix), a group column matched without
 * regard to case when the exact name is missing.
 *
 * Every listed image is read in full (a truncated file fails here, naming
 * it) and copied unchanged into the output, beside `subjects.tsv`: subject,
 * group, class (the group's position in `groups`), one path per modality,
 * label images (below), participant, session, field_strength_t (the reference
 * image's sidecar), MOD_voxel_mm per modality, then participants.tsv's
 * other columns.  Label images in subject space under `derivatives`
 * (default derivatives/synth, the synthetic cohort's ground truth:
 * SUB[/SES][/anat]/SUB[_SES]_brain, _wm, _lesions, _lobes .nii[.gz]) become
 * columns mask, wm, lesions and lobes: each kind the first row has, every
 * row must have.  That is also how real data brings a lobe atlas (1
 * frontal, 2 temporal, 3 parietal, 4 occipital, 5 other) or lesion masks.
 *
 * Problems (a missing or ambiguous image, an unknown group, an unreadable
 * file, ...) are all collected in one pass, each naming its file or
 * participant, and listed in the log; the stage then fails, or with
 * missing = "drop" leaves those participants out and says so (log,
 * bids_participants table, metric subjects_dropped).  Tables: bids_images
 * (every image used, its entities, how it was chosen, its sidecar
 * metadata), bids_participants, bids_dataset.  It does not resample or
 * touch the images' geometry: that is for the preprocessing stages.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "bids.h"
#include "tsv.h"
#include "volume.h"

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct sul_param_spec ingest_params[] = {
	{ "bids", SUL_T_PATH, "", 0, 0, NULL, "the BIDS folder; empty: the output of the stage's one input (synth)" },
	{ "groups", SUL_T_STRING, "RRMS,SPMS,HC", 0, 0, NULL,
	  "participants.tsv group names, comma-separated, in class order" },
	{ "group_column", SUL_T_STRING, "group", 0, 0, NULL,
	  "the participants.tsv column holding the group (matched without regard to case if not exactly)" },
	{ "modalities", SUL_T_STRING, "T1w,T2w,FLAIR", 0, 0, NULL,
	  "BIDS suffixes of the images, comma-separated; the first is the reference" },
	{ "session", SUL_T_STRING, "first", 0, 0, NULL,
	  "first, last, all (each session its own row) or a session label (01 or ses-01)" },
	{ "run", SUL_T_STRING, "last", 0, 0, NULL, "among several runs of an image: last, first or a run label" },
	{ "acq", SUL_T_STRING, "", 0, 0, NULL,
	  "only images with this acq- label, or per modality (FLAIR:3d,T1w:mprage); empty: the default acquisition" },
	{ "ce", SUL_T_STRING, "", 0, 0, NULL,
	  "only images with this ce- label, or per modality (T1w:gadolinium); empty: without contrast agent" },
	{ "rec", SUL_T_STRING, "", 0, 0, NULL,
	  "only images with this rec- label, or per modality (T1w:norm); empty: the default reconstruction" },
	{ "missing", SUL_T_STRING, "fail", 0, 0, "fail|drop",
	  "a participant with a problem: fail the stage (listing every problem), or drop the participant and say so" },
	{ "derivatives", SUL_T_STRING, "derivatives/synth", 0, 0, NULL,
	  "folder of optional label images in subject space: SUB[/SES]/SUB[_SES]_brain, _wm, _lesions, _lobes" },
	{ "max_voxels", SUL_T_INT, "134217728", 1, 4294967296.0, NULL,
	  "largest image accepted, in voxels (refused from its header, before its data is read)" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

#define MAX_ITEMS 16
/* Problems quoted in the error message; all of them go to the log. */
#define QUOTED_PROBLEMS 5

static const char *const truth_files[4] = { "brain", "wm", "lesions", "lobes" };
static const char *const truth_cols[4] = { "mask", "wm", "lesions", "lobes" };
static const char *const own_cols[] = { "subject", "group", "class", "participant", "session", "field_strength_t",
					"mask", "wm", "lesions", "lobes" };

struct ingest {
	const struct sul_stage_ctx *ctx;
	char *bids;
	char *groups[MAX_ITEMS], *mods[MAX_ITEMS];
	size_t ngroups, nmods;
	const char *acq, *ce, *rec, *run;  /* entity filters and the run rule */
	const char *session, *deriv;
	long long max_voxels;
	int drop;
	int truth[4];             /* label columns, from the first row */
	int truth_known;
	struct sul_buf problems;  /* one per line */
	size_t nproblems;
	struct sul_buf table, images, participants;
	size_t counts[MAX_ITEMS], dropped, rows;
};

/* A participant's problems go to *mine; problem() counts them. */
static void problem(struct sul_buf *mine, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(struct sul_buf *mine, size_t *n, const char *fmt, ...)
{
	char line[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One problem, one line. */
	line[strcspn(line, "\n")] = '\0';
	sul_buf_addf(mine, "%s\n", line);
	(*n)++;
}

/* A participants.tsv cell as found: spaces and one pair of quotes around
 * it go; "n/a" is empty. */
static char *clean_cell(char *s)
{
	char *end;

	while (*s == ' ')
		s++;
	end = s + strlen(s);
	while (end > s && end[-1] == ' ')
		*--end = '\0';
	if (end - s >= 2 && ((s[0] == '"' && end[-1] == '"') || (s[0] == '\'' && end[-1] == '\''))) {
		*--end = '\0';
		s++;
	}
	if (!strcmp(s, "n/a"))
		*s = '\0';
	return s;
}

static void clean_table(struct sul_tsv *t)
{
	size_t i;

	/* A UTF-8 byte-order mark before the first column name. */
	if (t->nrows && !strncmp(t->cells[0], "\xEF\xBB\xBF", 3))
		t->cells[0] += 3;
	for (i = 0; i < t->nrows * t->ncols; i++)
		t->cells[i] = clean_cell(t->cells[i]);
}

/* The column named name, else the one that matches it without regard to case. */
static long find_col(const struct sul_tsv *t, const char *name)
{
	long c = sul_tsv_col(t, name), found = -1;
	size_t i;

	if (c >= 0)
		return c;
	for (i = 0; i < t->ncols; i++)
		if (!strcasecmp(sul_tsv_at(t, 0, i), name)) {
			if (found >= 0)
				return -1;  /* two candidates: none */
			found = (long)i;
		}
	return found;
}

/* DERIV/P[/S][/anat]/P[_S]_WHAT.nii[.gz], the most specific first. */
static char *find_truth(const struct ingest *in, const char *part, const char *ses, const char *what)
{
	static const char *const exts[] = { ".nii.gz", ".nii" };
	char *tries[4];
	size_t k = 0, i, e;
	char *found = NULL;

	if (*ses) {
		tries[k++] = sul_xasprintf("%s/%s/ses-%s/anat/%s_ses-%s_%s", in->deriv, part, ses, part, ses, what);
		tries[k++] = sul_xasprintf("%s/%s/ses-%s/%s_ses-%s_%s", in->deriv, part, ses, part, ses, what);
	}
	tries[k++] = sul_xasprintf("%s/%s/anat/%s_%s", in->deriv, part, part, what);
	tries[k++] = sul_xasprintf("%s/%s/%s_%s", in->deriv, part, part, what);
	for (i = 0; i < k; i++) {
		for (e = 0; e < 2 && !found; e++) {
			char *full = sul_xasprintf("%s/%s%s", in->bids, tries[i], exts[e]);
			if (sul_path_exists(full))
				found = sul_xasprintf("%s%s", tries[i], exts[e]);
			free(full);
		}
		free(tries[i]);
	}
	return found;
}

/* Reads bids/rel in full (so a truncated file fails here) and copies it. */
static int take_file(const struct ingest *in, const char *rel, struct sul_volume *v, struct sul_err *err)
{
	char *src = sul_xasprintf("%s/%s", in->bids, rel), *dst = sul_xasprintf("%s/%s", in->ctx->out, rel);
	int r = sul_volume_read_max(src, in->max_voxels, v, err) || sul_copy_file(src, dst, err) ? -1 : 0;

	free(src);
	free(dst);
	return r;
}

/*
 * The label that entity filter spec ("3d", or "FLAIR:3d,T1w:mprage") asks
 * of modality mod: its own item, else an item for every modality, else ""
 * (no filter).  Returns -1 when spec is malformed.
 */
static int filter_for(const char *spec, const char *mod, char out[SUL_BIDS_LABEL_MAX])
{
	const char *p = spec;
	int found_own = 0;

	out[0] = '\0';
	while (*p) {
		size_t len = strcspn(p, ","), mlen;
		const char *colon = memchr(p, ':', len), *label = colon ? colon + 1 : p;
		size_t llen = len - (size_t)(label - p), i;
		while (llen && label[0] == ' ')
			label++, llen--;
		while (llen && label[llen - 1] == ' ')
			llen--;
		if (!llen || llen >= SUL_BIDS_LABEL_MAX)
			return -1;
		for (i = 0; i < llen; i++)
			if (!((label[i] >= 'a' && label[i] <= 'z') || (label[i] >= 'A' && label[i] <= 'Z')
			      || (label[i] >= '0' && label[i] <= '9')))
				return -1;
		if (colon) {
			const char *m = p;
			mlen = (size_t)(colon - p);
			while (mlen && *m == ' ')
				m++, mlen--;
			if (mod && mlen == strlen(mod) && !strncmp(m, mod, mlen)) {
				memcpy(out, label, llen);
				out[llen] = '\0';
				found_own = 1;
			}
		} else if (!found_own) {
			memcpy(out, label, llen);
			out[llen] = '\0';
		}
		p += len + (p[len] == ',');
	}
	return 0;
}

/* One row: a participant's session ("" when it has none).  Appends to row
 * and images; problems to *mine. */
static int ingest_row(struct ingest *in, const char *part, const char *ses, const char *subject,
		      struct sul_buf *row, struct sul_buf *images, struct sul_buf *mine, size_t *nmine,
		      struct sul_err *err)
{
	struct sul_buf rel = SUL_BUF_INIT, why = SUL_BUF_INIT, voxels = SUL_BUF_INIT;
	char field_t[128] = "";
	size_t m;
	int ret = 0;

	for (m = 0; m < in->nmods; m++) {
		struct sul_bids_meta meta;
		struct sul_bids_name nm;
		struct sul_volume v;
		const char *file;
		char acq[SUL_BIDS_LABEL_MAX], ce[SUL_BIDS_LABEL_MAX], rec[SUL_BIDS_LABEL_MAX];
		struct sul_bids_pick pick = { acq, ce, rec, in->run };
		size_t k;
		int r;

		/* Checked by ingest_check. */
		filter_for(in->acq, in->mods[m], acq);
		filter_for(in->ce, in->mods[m], ce);
		filter_for(in->rec, in->mods[m], rec);
		r = sul_bids_find_image(in->bids, part, ses, in->mods[m], &pick, &rel, &why, err);

		if (r < 0)
			goto fail;
		if (!r) {
			problem(mine, nmine, "participant '%s'%s%s: %s image: %s", part, *ses ? " session " : "", ses,
				in->mods[m], why.buf);
			sul_buf_addf(row, "\t");
			sul_buf_adds(&voxels, "\t");
			continue;
		}
		if (take_file(in, rel.buf, &v, err)) {
			problem(mine, nmine, "%s", err->msg);
			sul_err_clear(err);
			sul_buf_addf(row, "\t");
			sul_buf_adds(&voxels, "\t");
			continue;
		}
		if (sul_bids_sidecar(in->bids, rel.buf, &meta, err)) {
			problem(mine, nmine, "%s", err->msg);
			sul_err_clear(err);
		}
		if (m == 0)
			memcpy(field_t, meta.value[SUL_BIDS_FIELD_T], sizeof(field_t));
		sul_buf_addf(row, "\t%s", rel.buf);
		sul_buf_addf(&voxels, "\t%.3gx%.3gx%.3g", v.pixdim[0], v.pixdim[1], v.pixdim[2]);
		file = strrchr(rel.buf, '/') + 1;
		sul_bids_parse_name(file, &nm);
		sul_buf_addf(images, "%s\t%s\t%s\t%s\t%s", subject, part, *ses ? ses : "", in->mods[m], rel.buf);
		sul_buf_addf(images, "\t%s\t%s\t%s\t%s", sul_bids_entity(&nm, "acq") ? sul_bids_entity(&nm, "acq") : "",
			     sul_bids_entity(&nm, "ce") ? sul_bids_entity(&nm, "ce") : "",
			     sul_bids_entity(&nm, "rec") ? sul_bids_entity(&nm, "rec") : "",
			     sul_bids_entity(&nm, "run") ? sul_bids_entity(&nm, "run") : "");
		sul_buf_addf(images, "\t%s\t%lld\t%lld\t%lld\t%.4g\t%.4g\t%.4g\t%zu", why.buf, (long long)v.nx,
			     (long long)v.ny, (long long)v.nz, v.pixdim[0], v.pixdim[1], v.pixdim[2], meta.nsidecars);
		for (k = 0; k < SUL_BIDS_NMETA; k++)
			sul_buf_addf(images, "\t%s", meta.value[k]);
		sul_buf_addc(images, '\n');
		sul_volume_release(&v);
	}
	/* Label images: the kinds the first row has, every row must have. */
	if (!in->truth_known) {
		for (m = 0; m < 4; m++) {
			char *t = find_truth(in, part, ses, truth_files[m]);
			in->truth[m] = t != NULL;
			free(t);
		}
		in->truth_known = 1;
	}
	for (m = 0; m < 4; m++) {
		char *t;
		struct sul_volume v;
		if (!in->truth[m])
			continue;
		t = find_truth(in, part, ses, truth_files[m]);
		if (!t) {
			problem(mine, nmine, "participant '%s'%s%s: no %s/%s/..._%s.nii.gz (the first row has one, so every "
				"row needs it)", part, *ses ? " session " : "", ses, in->deriv, part, truth_files[m]);
			sul_buf_adds(row, "\t");
			continue;
		}
		if (take_file(in, t, &v, err)) {
			problem(mine, nmine, "%s", err->msg);
			sul_err_clear(err);
		} else {
			sul_volume_release(&v);
		}
		sul_buf_addf(row, "\t%s", t);
		free(t);
	}
	sul_buf_addf(row, "\t%s\t%s\t%s%s", part, *ses ? ses : "", field_t, voxels.buf);
	goto out;
fail:
	ret = -1;
out:
	sul_buf_release(&rel);
	sul_buf_release(&why);
	sul_buf_release(&voxels);
	return ret;
}

/* The sessions of a participant that the `session` parameter keeps. */
static int choose_sessions(struct ingest *in, const char *part, char ***list, size_t *n, size_t *found,
			   struct sul_buf *mine, size_t *nmine, struct sul_err *err)
{
	const char *want = in->session;
	size_t i;

	if (sul_bids_sessions(in->bids, part, list, n, err))
		return -1;
	*found = *n;
	if (!*n) {
		/* No sessions: one row from sub-X/anat, whatever the parameter. */
		*list = sul_xcalloc(1, sizeof(**list));
		(*list)[0] = sul_xstrdup("");
		*n = 1;
		return 0;
	}
	if (!strcmp(want, "all"))
		return 0;
	if (!strcmp(want, "first") || !strcmp(want, "last")) {
		size_t keep = want[0] == 'f' ? 0 : *n - 1;
		char *k = (*list)[keep];
		(*list)[keep] = NULL;
		sul_bids_free_list(*list, *n);
		*list = sul_xcalloc(1, sizeof(**list));
		(*list)[0] = k;
		*n = 1;
		return 0;
	}
	if (!strncmp(want, "ses-", 4))
		want += 4;
	for (i = 0; i < *n && sul_bids_label_cmp((*list)[i], want); i++)
		;
	if (i == *n) {
		struct sul_buf have = SUL_BUF_INIT;
		size_t j;
		for (j = 0; j < *n; j++)
			sul_buf_addf(&have, "%sses-%s", j ? ", " : "", (*list)[j]);
		problem(mine, nmine, "participant '%s': no session '%s' (parameter 'session'; it has %s)", part, want,
			have.buf);
		sul_buf_release(&have);
		sul_bids_free_list(*list, *n);
		*list = NULL;
		*n = 0;
		return 0;
	}
	{
		char *k = (*list)[i];
		(*list)[i] = NULL;
		sul_bids_free_list(*list, *n);
		*list = sul_xcalloc(1, sizeof(**list));
		(*list)[0] = k;
		*n = 1;
	}
	return 0;
}

/* Subject folders on disk that participants.tsv does not list. */
static void unlisted_subjects(struct ingest *in, const struct sul_tsv *t, long id_col)
{
	struct dirent **names = NULL;
	int n = scandir(in->bids, &names, NULL, alphasort), i;

	for (i = 0; i < n; i++) {
		const char *d = names[i]->d_name;
		size_t r;
		if (!strncmp(d, "sub-", 4)) {
			for (r = 1; r < t->nrows; r++) {
				const char *id = sul_tsv_at(t, r, (size_t)id_col);
				if (!strcmp(id, d) || (strncmp(id, "sub-", 4) && !strcmp(id, d + 4)))
					break;
			}
			if (r == t->nrows) {
				fprintf(stderr, "ingest: note: %s/%s is not listed in participants.tsv: left out\n",
					in->bids, d);
				sul_buf_addf(&in->participants, "%s\t\tunlisted\t\t\tnot in participants.tsv\n", d);
			}
		}
		free(names[i]);
	}
	free(names);
}

/* dataset_description.json into the bids_dataset table. */
static int read_description(struct ingest *in, struct sul_buf *out, struct sul_err *err)
{
	static const char *const keys[] = { "Name", "BIDSVersion", "DatasetType", "License" };
	char values[4][128], *path = sul_xasprintf("%s/dataset_description.json", in->bids);
	int r = sul_bids_json_get(path, keys, 4, values, err);

	if (r < 0) {
		problem(&in->problems, &in->nproblems, "%s", err->msg);
		sul_err_clear(err);
	} else if (r > 0) {
		fprintf(stderr, "ingest: note: %s has no dataset_description.json (BIDS asks for one)\n", in->bids);
	}
	sul_buf_adds(out, "bids_path\tname\tbids_version\tdataset_type\tlicense\n");
	sul_buf_addf(out, "%s\t%s\t%s\t%s\t%s\n", in->bids, values[0], values[1], values[2], values[3]);
	free(path);
	return 0;
}

static int write_out(const struct ingest *in, const char *rel, const struct sul_buf *b, struct sul_err *err)
{
	char *path = sul_xasprintf("%s/%s", in->ctx->out, rel);
	int r = sul_write_file_atomic(path, b->buf ? b->buf : "", b->len, err);

	free(path);
	return r;
}

/* The error message: the problems, as many as fit; all of them are in the log. */
static int report_problems(const struct ingest *in, struct sul_err *err)
{
	struct sul_buf msg = SUL_BUF_INIT;
	const char *p = in->problems.buf;
	size_t k;

	fprintf(stderr, "ingest: %zu problem%s in %s:\n", in->nproblems, in->nproblems == 1 ? "" : "s", in->bids);
	for (k = 0; p && *p; k++) {
		const char *nl = strchr(p, '\n');
		fprintf(stderr, "  %.*s\n", (int)(nl - p), p);
		if (k < QUOTED_PROBLEMS)
			sul_buf_addf(&msg, "%s%.*s", in->nproblems > 1 ? "\n  " : "", (int)(nl - p), p);
		p = nl + 1;
	}
	if (in->nproblems > 1)
		sul_err_set(err, SUL_ERR_INPUT, "%zu problems in the BIDS folder%s (every one in the stage's log; "
			    "missing = \"drop\" leaves those participants out):%s%s",
			    in->nproblems, in->nproblems > QUOTED_PROBLEMS ? ", the first 5" : "", msg.buf,
			    in->nproblems > QUOTED_PROBLEMS ? "\n  ..." : "");
	else
		sul_err_set(err, SUL_ERR_INPUT, "%s", msg.buf);
	sul_buf_release(&msg);
	return -1;
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
	{
		static const char *const filters[3] = { "acq", "ce", "rec" };
		char label[SUL_BIDS_LABEL_MAX];
		int f;
		for (f = 0; f < 3; f++)
			if (filter_for(sul_ctx_str(ctx, filters[f]), NULL, label)) {
				*about = filters[f];
				return sul_err_set(err, SUL_ERR_INPUT, "parameter '%s': expected a label (letters and digits) "
						   "or MODALITY:label items, comma-separated, got '%s'", filters[f],
						   sul_ctx_str(ctx, filters[f]));
			}
	}
	if (!*sul_ctx_str(ctx, "session") || !*sul_ctx_str(ctx, "run")) {
		*about = !*sul_ctx_str(ctx, "session") ? "session" : "run";
		return sul_err_set(err, SUL_ERR_INPUT, "parameter '%s': expected first, last%s or a label, got ''",
				   *about, !strcmp(*about, "session") ? ", all" : "");
	}
	return 0;
}

/* Header of the output table: own columns, then participants.tsv's others. */
static void table_header(struct ingest *in, const struct sul_tsv *t, long id_col, long group_col)
{
	size_t m, c, k;

	sul_buf_adds(&in->table, "subject\tgroup\tclass");
	for (m = 0; m < in->nmods; m++)
		sul_buf_addf(&in->table, "\t%s", in->mods[m]);
	for (m = 0; m < 4; m++)
		if (in->truth[m])
			sul_buf_addf(&in->table, "\t%s", truth_cols[m]);
	sul_buf_adds(&in->table, "\tparticipant\tsession\tfield_strength_t");
	for (m = 0; m < in->nmods; m++)
		sul_buf_addf(&in->table, "\t%s_voxel_mm", in->mods[m]);
	for (c = 0; c < t->ncols; c++) {
		const char *name = sul_tsv_at(t, 0, c);
		int clash = 0;
		if ((long)c == id_col || (long)c == group_col)
			continue;
		for (k = 0; k < sizeof(own_cols) / sizeof(own_cols[0]); k++)
			clash |= !strcmp(name, own_cols[k]);
		for (m = 0; m < in->nmods; m++)
			clash |= !strcmp(name, in->mods[m]) || (!strncmp(name, in->mods[m], strlen(in->mods[m]))
								 && !strcmp(name + strlen(in->mods[m]), "_voxel_mm"));
		sul_buf_addf(&in->table, "\t%s%s", clash ? "participants_" : "", *name ? name : "unnamed");
	}
	sul_buf_addc(&in->table, '\n');
}

static int ingest_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	struct ingest in;
	char *groups_buf = NULL, *mods_buf = NULL, *participants = NULL;
	struct sul_buf rows = SUL_BUF_INIT, dataset = SUL_BUF_INIT;
	struct sul_tsv t;
	long id_col, group_col;
	size_t r, g, c;
	int ret = -1;

	memset(&in, 0, sizeof(in));
	memset(&t, 0, sizeof(t));
	in.ctx = ctx;
	in.bids = ctx->ninputs ? sul_xstrdup(ctx->inputs[0].dir) : sul_ctx_path(ctx, "bids");
	in.deriv = sul_ctx_str(ctx, "derivatives");
	in.max_voxels = sul_ctx_int(ctx, "max_voxels");
	in.session = sul_ctx_str(ctx, "session");
	in.drop = !strcmp(sul_ctx_str(ctx, "missing"), "drop");
	in.acq = sul_ctx_str(ctx, "acq");
	in.ce = sul_ctx_str(ctx, "ce");
	in.rec = sul_ctx_str(ctx, "rec");
	in.run = sul_ctx_str(ctx, "run");
	participants = sul_xasprintf("%s/participants.tsv", in.bids);
	if (sul_ctx_list(ctx, "groups", MAX_ITEMS, &groups_buf, in.groups, &in.ngroups, err)
	    || sul_ctx_list(ctx, "modalities", MAX_ITEMS, &mods_buf, in.mods, &in.nmods, err))
		goto out;
	if (in.ngroups < 2 || in.nmods < 1) {
		sul_err_set(err, SUL_ERR_INPUT, "parameters 'groups' and 'modalities': expected at least two groups "
			    "and one modality, comma-separated");
		goto out;
	}
	if (sul_tsv_read(participants, &t, err))
		goto out;
	clean_table(&t);
	id_col = find_col(&t, "participant_id");
	group_col = find_col(&t, sul_ctx_str(ctx, "group_column"));
	if (id_col < 0 || group_col < 0) {
		struct sul_buf have = SUL_BUF_INIT;
		for (c = 0; c < t.ncols; c++)
			sul_buf_addf(&have, "%s'%s'", c ? ", " : "", sul_tsv_at(&t, 0, c));
		sul_err_set(err, SUL_ERR_INPUT, "%s: expected columns 'participant_id' and '%s' (parameter "
			    "'group_column') in the header, got %s", participants, sul_ctx_str(ctx, "group_column"),
			    have.buf);
		sul_buf_release(&have);
		goto out;
	}
	sul_buf_adds(&in.images, "subject\tparticipant\tsession\tmodality\tpath\tacq\tce\trec\trun\tchosen_by\tnx\tny\tnz"
				 "\tdx_mm\tdy_mm\tdz_mm\tsidecars\tfield_strength_t\tmanufacturer\tmodel\tsequence\ttr_s\tte_s\tti_s"
				 "\tflip_deg\n");
	sul_buf_adds(&in.participants, "participant\tgroup_name\tstatus\tsessions_found\tsessions_used\treason\n");
	if (read_description(&in, &dataset, err))
		goto out;
	unlisted_subjects(&in, &t, id_col);

	for (r = 1; r < t.nrows; r++) {
		const char *id = sul_tsv_at(&t, r, (size_t)id_col), *grp = sul_tsv_at(&t, r, (size_t)group_col);
		struct sul_buf mine = SUL_BUF_INIT, prow = SUL_BUF_INIT, pimages = SUL_BUF_INIT, used = SUL_BUF_INIT;
		char *part = strncmp(id, "sub-", 4) ? sul_xasprintf("sub-%s", id) : sul_xstrdup(id);
		char **sessions = NULL;
		size_t nses = 0, found = 0, nmine = 0, s, q;

		if (!*id || strpbrk(part + 4, "/ _-.") || !part[4]) {
			problem(&mine, &nmine, "%s:%zu: participant_id '%s': expected sub-<label> (letters and digits)",
				participants, r + 1, id);
		}
		for (q = 1; q < r; q++)
			if (!strcmp(sul_tsv_at(&t, q, (size_t)id_col), id))
				problem(&mine, &nmine, "%s:%zu: participant '%s' is listed twice (line %zu too)", participants,
					r + 1, id, q + 1);
		for (g = 0; g < in.ngroups && strcmp(in.groups[g], grp); g++)
			;
		if (g == in.ngroups)
			problem(&mine, &nmine, "%s:%zu: participant '%s': group '%s' is not one of '%s' (parameter "
				"'groups'; column '%s')", participants, r + 1, id, *grp ? grp : "n/a",
				sul_ctx_str(ctx, "groups"), sul_tsv_at(&t, 0, (size_t)group_col));
		if (!nmine && choose_sessions(&in, part, &sessions, &nses, &found, &mine, &nmine, err))
			goto fail_row;
		for (s = 0; !nmine && s < nses; s++) {
			char *subject = !strcmp(in.session, "all") && *sessions[s] ? sul_xasprintf("%s_ses-%s", part, sessions[s])
									    : sul_xstrdup(part);
			sul_buf_addf(&prow, "%s\t%s\t%zu", subject, grp, g);
			if (ingest_row(&in, part, sessions[s], subject, &prow, &pimages, &mine, &nmine, err)) {
				free(subject);
				goto fail_row;
			}
			for (c = 0; c < t.ncols; c++)
				if ((long)c != id_col && (long)c != group_col)
					sul_buf_addf(&prow, "\t%s", sul_tsv_at(&t, r, c));
			sul_buf_addc(&prow, '\n');
			sul_buf_addf(&used, "%s%s", used.len ? "," : "", *sessions[s] ? sessions[s] : "");
			free(subject);
		}
		if (nmine && in.drop) {
			fprintf(stderr, "ingest: dropped %s (missing = \"drop\"): %.*s\n", part,
				(int)strcspn(mine.buf, "\n"), mine.buf);
			sul_buf_addf(&in.participants, "%s\t%s\tdropped\t%zu\t\t%.*s\n", part, grp, found,
				     (int)strcspn(mine.buf, "\n"), mine.buf);
			in.dropped++;
		} else if (nmine) {
			sul_buf_add(&in.problems, mine.buf, mine.len);
			in.nproblems += nmine;
			if (g < in.ngroups)
				in.counts[g]++;  /* its group is not what is wrong */
		} else {
			sul_buf_add(&rows, prow.buf, prow.len);
			sul_buf_add(&in.images, pimages.buf, pimages.len);
			sul_buf_addf(&in.participants, "%s\t%s\tused\t%zu\t%s\t\n", part, grp, found, used.buf);
			in.counts[g]++;
			in.rows += nses;
		}
		sul_bids_free_list(sessions, nses);
		sul_buf_release(&mine);
		sul_buf_release(&prow);
		sul_buf_release(&pimages);
		sul_buf_release(&used);
		free(part);
		continue;
fail_row:
		sul_bids_free_list(sessions, nses);
		sul_buf_release(&mine);
		sul_buf_release(&prow);
		sul_buf_release(&pimages);
		sul_buf_release(&used);
		free(part);
		goto out;
	}
	for (g = 0; g < in.ngroups; g++)
		if (!in.counts[g])
			problem(&in.problems, &in.nproblems, "%s: group '%s' has no %ssubject: every class needs data",
				participants, in.groups[g], in.dropped ? "remaining " : "");
	if (in.nproblems) {
		report_problems(&in, err);
		goto out;
	}
	table_header(&in, &t, id_col, group_col);
	sul_buf_add(&in.table, rows.buf, rows.len);
	{
		char *tables = sul_xasprintf("%s/tables", ctx->out);
		int bad = sul_mkdirs(tables, err);
		free(tables);
		if (bad || write_out(&in, "subjects.tsv", &in.table, err)
		    || write_out(&in, "tables/bids_images.tsv", &in.images, err)
		    || write_out(&in, "tables/bids_participants.tsv", &in.participants, err)
		    || write_out(&in, "tables/bids_dataset.tsv", &dataset, err))
			goto out;
	}
	for (g = 0; g < in.ngroups; g++) {
		char name[96];
		snprintf(name, sizeof(name), "subjects_%s", in.groups[g]);
		if (sul_ctx_metric(ctx, name, -1, (double)in.counts[g], err))
			goto out;
	}
	if (sul_ctx_metric(ctx, "subjects_dropped", -1, (double)in.dropped, err)
	    || sul_ctx_metric(ctx, "rows", -1, (double)in.rows, err))
		goto out;
	ret = 0;
out:
	sul_tsv_release(&t);
	sul_buf_release(&in.table);
	sul_buf_release(&in.images);
	sul_buf_release(&in.participants);
	sul_buf_release(&in.problems);
	sul_buf_release(&rows);
	sul_buf_release(&dataset);
	free(participants);
	free(groups_buf);
	free(mods_buf);
	free(in.bids);
	return ret;
}

static const struct sul_table_spec ingest_tables[] = {
	{ "bids_images", "every image ingest used: its BIDS entities, how it was chosen, its geometry and sidecar",
	  "subject      TEXT NOT NULL,        -- the row's id in subjects.tsv\n"
	  "  participant  TEXT NOT NULL,\n"
	  "  session      TEXT,                 -- the ses- label; NULL without sessions\n"
	  "  modality     TEXT NOT NULL,        -- the BIDS suffix (T1w, T2w, FLAIR)\n"
	  "  path         TEXT NOT NULL,        -- relative to the BIDS folder\n"
	  "  acq TEXT, ce TEXT, rec TEXT, run TEXT,  -- the file name's entities\n"
	  "  chosen_by    TEXT NOT NULL,        -- why this file among the candidates\n"
	  "  nx INTEGER, ny INTEGER, nz INTEGER,\n"
	  "  dx_mm REAL, dy_mm REAL, dz_mm REAL,\n"
	  "  sidecars     INTEGER,              -- JSON sidecars that applied (BIDS inheritance)\n"
	  "  field_strength_t      REAL,                 -- MagneticFieldStrength\n"
	  "  manufacturer TEXT, model TEXT,     -- Manufacturer, ManufacturersModelName\n"
	  "  sequence     TEXT,                 -- SequenceName\n"
	  "  tr_s REAL, te_s REAL, ti_s REAL,   -- RepetitionTime, EchoTime, InversionTime\n"
	  "  flip_deg     REAL                  -- FlipAngle",
	  "participant" },
	{ "bids_participants", "every participant of participants.tsv (and unlisted sub- folders): used or why not",
	  "participant    TEXT NOT NULL,\n"
	  "  group_name     TEXT,               -- as participants.tsv has it\n"
	  "  status         TEXT NOT NULL,      -- used, dropped (missing = \"drop\") or unlisted\n"
	  "  sessions_found INTEGER,\n"
	  "  sessions_used  TEXT,               -- comma-separated ses- labels; empty without sessions\n"
	  "  reason         TEXT                -- why dropped or left out",
	  "participant" },
	{ "bids_dataset", "the BIDS folder's dataset_description.json",
	  "bids_path    TEXT NOT NULL,\n"
	  "  name         TEXT,\n"
	  "  bids_version TEXT,\n"
	  "  dataset_type TEXT,\n"
	  "  license      TEXT",
	  NULL },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_ingest = {
	.name = "ingest",
	.version = 3,
	.doc = "read a BIDS folder as found (sessions, runs, acquisitions, sidecars, participants.tsv quirks) "
	       "into subjects.tsv",
	.params = ingest_params,
	.check = ingest_check,
	.tables = ingest_tables,
	.run = ingest_run,
};
