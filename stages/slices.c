/*
 * slices.c - the `slices` kind: axial slices of each subject's images as
 * 8-bit RGB PNG files for a 2-D CNN (Darknet), with T1, T2 and FLAIR (the
 * `channels` parameter) as red, green and blue.
 *
 * Its one input holds a table (default subjects.tsv, as `ingest` and the
 * preprocessing kinds write it): subject, group, class, and one column of
 * image paths (relative to the input's folder) per modality; an optional
 * `mask` column names a brain mask (nonzero = brain) on the same grid.
 * Per subject:
 *
 *  - brain mask: the `mask` image, else Otsu's threshold of the first
 *    channel over ALL its voxels, zeros included.  (Over the nonzero voxels
 *    only, a skull-stripped image, whose background is exactly 0, would be
 *    split between grey and white matter instead of brain and background;
 *    the test otsu_mask_is_the_whole_brain pins this.)  No morphology: a
 *    bright background speck counts as brain.
 *  - slices: the `keep` axial slices (fixed k) with the most brain voxels,
 *    ties to the slice nearer the middle, written in their original order.
 *    Slices without any brain are never written, and with
 *    min_brain_fraction > 0 neither are those whose brain covers less of
 *    the slice than that.  A subject left with fewer than `keep` slices is
 *    counted in the metric subjects_below_keep.
 *  - intensities, per channel over the brain voxels of the whole volume (so
 *    a subject's slices agree): histogram equalization maps them to 1..255
 *    by their empirical CDF, or (equalize = false) linearly from the 0.5th
 *    to the 99.5th percentile to 1..255, clipped.  Non-brain voxels are 0.
 *    A channel constant inside the brain becomes 128.  NaN and infinite
 *    voxels read as 0.
 *  - layout (stages/slicegeom.h, which also maps PNG pixels back to
 *    voxels): each slice is padded to a square (centred, zeros) and
 *    resampled bilinearly to size x size.  Pixels are voxels: anisotropic
 *    in-plane voxels are not corrected.  The first channel's ijk_to_xyz
 *    orients it in the radiological convention: anterior (+y) at the top,
 *    the subject's right (+x) on the image's left.  Of i and j, the axis
 *    closer to x runs along the image's columns, and each is flipped as
 *    needed; k must be the axis closest to z (axially stored images),
 *    otherwise the stage fails rather than write sagittal "axial" slices.
 *  - label slices: each column of `labels` (default lobes and lesions, the
 *    synthetic cohort's lobe labels and lesion masks) names integer label
 *    images on the channels' grid.  Every kept slice of them is laid out
 *    the same way but resampled to the nearest pixel, so a label PNG holds
 *    only values of its image (0 to 255; anything else fails, naming the
 *    file), the same in R, G and B.  They let a later stage (cam) measure
 *    heatmaps per lobe and against lesions in the PNGs' space.  A listed
 *    column absent from the table is skipped when it is one of the defaults
 *    (real BIDS data has no lesion masks); any other is an error.  An
 *    empty `labels` writes none.
 *  - reference: the first channel's file, copied unchanged: the grid on
 *    which heatmaps go back into volumes (slicegeom.h), and over which
 *    users view them.
 *
 * Output: <group>/<subject>_z<k, 3 digits>.png, per label column
 * labels/<column>/<group>/<subject>_z<k>.png, ref/<subject>.nii.gz (.nii
 * when the first channel's file is), and index.tsv: subject, slice, group,
 * class, path, brain_fraction, ref, then one column per label column
 * present, named like it, with the label PNG's path (all paths relative to
 * the output folder), and `participant` when the input table has one (so
 * that split keeps a participant's sessions together).  `darknet classifier` takes a label from an image's
 * path by substring search (data.c fill_truth), so no group name may occur
 * in another group's name or in a subject id: the stage checks both.  It
 * cannot check the absolute cache path the files end up under; group names
 * like "a" would match hex digits there.
 *
 * It does not co-register, correct bias fields, skull-strip or split
 * subjects: those are other kinds.  All images of a subject must already
 * be on one grid (same nx, ny, nz); only the sizes are checked.
 * Deterministic: the same inputs give the same bytes.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "intensity.h"
#include "pngio.h"
#include "slicegeom.h"
#include "tsv.h"
#include "volume.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCHAN 3
#define MAX_LABELS 16
/* Label columns skipped when the table lacks them (see the top of the file). */
#define DEFAULT_LABELS "lobes, lesions"

static const struct sul_param_spec slices_params[] = {
	{ "table", SUL_T_STRING, "subjects.tsv", 0, 0, NULL, "the input's table, relative to its folder" },
	{ "channels", SUL_T_STRING, "T1w,T2w,FLAIR", 0, 0, NULL,
	  "three table columns of images: red, green, blue (the first also gives the mask and orientation)" },
	{ "keep", SUL_T_INT, "135", 1, 100000, NULL,
	  "axial slices kept per subject: those with the most brain (135 of MNI's 156 at 1 mm)" },
	{ "min_brain_fraction", SUL_T_FLOAT, "0", 0, 1, NULL,
	  "also drop slices whose brain covers less than this fraction of the slice (0: off)" },
	{ "size", SUL_T_INT, "224", 16, 1024, NULL, "width and height of the PNG slices in pixels" },
	{ "equalize", SUL_T_BOOL, "true", 0, 0, NULL,
	  "histogram-equalize inside the brain; false: linear from the 0.5th to the 99.5th percentile" },
	{ "labels", SUL_T_STRING, DEFAULT_LABELS, 0, 0, NULL,
	  "table columns of label images (0-255) sliced by nearest neighbour into labels/COLUMN/; "
	  "absent default columns are skipped, others are an error; empty: none" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

static int parse_channels(const char *text, char **buf, char *names[NCHAN], struct sul_err *err)
{
	int malformed;

	*buf = sul_xstrdup(text);
	if (sul_split_list(*buf, names, NCHAN, &malformed) != NCHAN || malformed)
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'channels': expected three comma-separated "
				   "column names (red, green, blue), got '%s'", text);
	return 0;
}

/* index.tsv's own columns, in order; the label columns follow. */
static const char *const index_cols[] = { "subject", "slice", "group", "class", "path", "brain_fraction", "ref" };

/* Splits `labels` into *n names (none when blank): each becomes a folder
 * name and a column of index.tsv.  *buf holds them; the caller frees it,
 * on failure too. */
static int parse_labels(const char *text, char **buf, char *names[MAX_LABELS], size_t *n, struct sul_err *err)
{
	size_t i, q;
	int malformed;

	*buf = sul_xstrdup(text);
	*n = 0;
	if (!text[strspn(text, " ")])
		return 0;
	*n = sul_split_list(*buf, names, MAX_LABELS, &malformed);
	if (malformed) {
		*n = 0;
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'labels': expected at most %d comma-separated column "
				   "names, none empty, got '%s'", MAX_LABELS, text);
	}
	for (i = 0; i < *n; i++) {
		if (*names[i] == '.' || strchr(names[i], '/'))
			return sul_err_set(err, SUL_ERR_INPUT, "parameter 'labels': column '%s': expected a name usable "
					   "as a folder name (no '/', not starting with '.')", names[i]);
		for (q = 0; q < sizeof(index_cols) / sizeof(index_cols[0]); q++)
			if (!strcmp(names[i], index_cols[q]))
				return sul_err_set(err, SUL_ERR_INPUT, "parameter 'labels': column '%s' is one of "
						   "index.tsv's own columns", names[i]);
		for (q = 0; q < i; q++)
			if (!strcmp(names[i], names[q]))
				return sul_err_set(err, SUL_ERR_INPUT, "parameter 'labels': column '%s' is listed twice",
						   names[i]);
	}
	return 0;
}

/* Whether name is one of the default label columns, which may be absent. */
static int is_default_label(const char *name)
{
	char buf[] = DEFAULT_LABELS, *items[MAX_LABELS];
	size_t i, n = sul_split_list(buf, items, MAX_LABELS, NULL);

	for (i = 0; i < n; i++)
		if (!strcmp(items[i], name))
			return 1;
	return 0;
}

static int slices_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	char *names[NCHAN], *labels[MAX_LABELS], *buf = NULL, *lbuf = NULL;
	size_t nlabels;
	int ret = 0;

	if (parse_channels(sul_ctx_str(ctx, "channels"), &buf, names, err)) {
		*about = "channels";
		ret = -1;
	} else if (parse_labels(sul_ctx_str(ctx, "labels"), &lbuf, labels, &nlabels, err)) {
		*about = "labels";
		ret = -1;
	}
	free(buf);
	free(lbuf);
	return ret;
}

/* --- names ------------------------------------------------------------------ */

/* Subject and group names become file and folder names. */
static int check_name(const char *table, const char *what, const char *s, struct sul_err *err)
{
	if (!*s || *s == '.' || strchr(s, '/'))
		return sul_err_set(err, SUL_ERR_INPUT, "%s: %s '%s': expected a name usable as a file name "
				   "(not empty, no '/', not starting with '.')", table, what, s);
	return 0;
}

/* Distinct subjects; no group name inside another group name or a subject
 * id (Darknet labels by substring, see the top of the file). */
static int check_names(const struct sul_tsv *t, const char *table, long scol, long gcol, struct sul_err *err)
{
	size_t r, q;

	for (r = 1; r < t->nrows; r++) {
		const char *s = sul_tsv_at(t, r, (size_t)scol), *g = sul_tsv_at(t, r, (size_t)gcol);
		if (check_name(table, "subject", s, err) || check_name(table, "group", g, err))
			return -1;
		for (q = 1; q < t->nrows; q++) {
			const char *s2 = sul_tsv_at(t, q, (size_t)scol), *g2 = sul_tsv_at(t, q, (size_t)gcol);
			if (q < r && !strcmp(s, s2))
				return sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: subject '%s' is listed twice (line %zu too)",
						   table, r + 1, s, q + 1);
			if (strcmp(g, g2) && strstr(g2, g))
				return sul_err_set(err, SUL_ERR_INPUT, "%s: group '%s' occurs in group '%s': Darknet "
						   "labels a slice by the group name in its path, so no group name may "
						   "contain another", table, g, g2);
			if (strstr(s2, g))
				return sul_err_set(err, SUL_ERR_INPUT, "%s: group '%s' occurs in subject '%s': Darknet "
						   "labels a slice by the group name in its path, so no subject id may "
						   "contain a group name", table, g, s2);
		}
	}
	return 0;
}

/* --- voxels (masks and intensities: intensity.h) ----------------------- */

static size_t nvox(const struct sul_volume *v)
{
	return (size_t)(v->nx * v->ny * v->nz);
}

/* --- one subject ------------------------------------------------------------ */

struct opts {
	const char *out;
	int64_t keep, size;
	double min_fraction;
	int equalize;
	char *const *labels;  /* the label columns present in the table */
	size_t nlabels;
};

struct totals {
	long kept, dropped, below_keep;
};

struct rank {
	size_t count;
	int64_t dist, k;
};

/* Most brain first; ties to the middle, then to the lower slice. */
static int cmp_rank(const void *pa, const void *pb)
{
	const struct rank *a = pa, *b = pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	if (a->dist != b->dist)
		return a->dist < b->dist ? -1 : 1;
	return (a->k > b->k) - (a->k < b->k);
}

static int same_grid(const struct sul_volume *a, const char *pa, const struct sul_volume *b, const char *pb,
		     struct sul_err *err)
{
	if (a->nx == b->nx && a->ny == b->ny && a->nz == b->nz)
		return 0;
	return sul_err_set(err, SUL_ERR_INPUT, "'%s' is %lldx%lldx%lld but '%s' is %lldx%lldx%lld: expected one "
			   "grid for all of a subject's images (co-register them first)", pa, (long long)a->nx,
			   (long long)a->ny, (long long)a->nz, pb, (long long)b->nx, (long long)b->ny, (long long)b->nz);
}

static void zero_nonfinite(struct sul_volume *v)
{
	size_t i, n = nvox(v);

	for (i = 0; i < n; i++)
		if (!isfinite(v->data[i]))
			v->data[i] = 0;
}

/* A label image holds integers 0..255: one byte of a PNG, and the nearest
 * neighbour never invents a value between two. */
static int check_labels(const struct sul_volume *v, const char *path, struct sul_err *err)
{
	size_t i, n = nvox(v);

	for (i = 0; i < n; i++) {
		float x = v->data[i];
		if (!(x >= 0 && x <= 255 && x == floorf(x)))
			return sul_err_set(err, SUL_ERR_INPUT, "'%s': voxel (%lld, %lld, %lld) holds %g: expected a "
					   "label image (integers 0 to 255, one byte of a PNG)", path,
					   (long long)(i % (size_t)v->nx), (long long)(i / (size_t)v->nx % (size_t)v->ny),
					   (long long)(i / (size_t)(v->nx * v->ny)), (double)x);
	}
	return 0;
}

/* The extension of the reference copy: the same bytes must stay a valid
 * file of that name (FSLeyes and nibabel trust ".gz"); NULL: neither. */
static const char *nifti_ext(const char *path)
{
	size_t n = strlen(path);

	if (n > 7 && !strcmp(path + n - 7, ".nii.gz"))
		return ".nii.gz";
	if (n > 4 && !strcmp(path + n - 4, ".nii"))
		return ".nii";
	return NULL;
}

/* Scratch buffers of one subject's slices. */
struct scratch {
	float *plane;   /* side * side */
	double *px;     /* size * size */
	float *lab;     /* size * size */
	uint8_t *rgb;   /* size * size * 3 */
};

/*
 * Writes the kept slices (kept[k] != 0) of label image `path` of column
 * `name` as OUT/labels/NAME/GRP/SUB_zNNN.png, the value in R, G and B.  v0
 * (named v0p) is the first channel: the grid it must share.  On failure err
 * names the file.
 */
static int write_label_slices(const struct opts *o, const struct sul_slicegeom *g, const struct sul_volume *v0,
			      const char *v0p, const char *name, const char *path, const char *sub, const char *grp,
			      const uint8_t *kept, struct scratch *sc, struct sul_err *err)
{
	struct sul_volume lv;
	char *dir = NULL, *png = NULL;
	int64_t k, p, npx = o->size * o->size;
	int ret = -1;

	memset(&lv, 0, sizeof(lv));
	if (sul_volume_read(path, &lv, err) || same_grid(v0, v0p, &lv, path, err) || check_labels(&lv, path, err))
		goto out;
	dir = sul_xasprintf("%s/labels/%s/%s", o->out, name, grp);
	if (sul_mkdirs(dir, err))
		goto out;
	for (k = 0; k < lv.nz; k++) {
		if (!kept[k])
			continue;
		sul_slicegeom_plane(g, &lv, k, sc->plane);
		sul_slicegeom_nearest(g, sc->plane, sc->lab);
		for (p = 0; p < npx; p++)
			sc->rgb[p * 3] = sc->rgb[p * 3 + 1] = sc->rgb[p * 3 + 2] = (uint8_t)sc->lab[p];
		free(png);
		png = sul_xasprintf("%s/%s_z%03lld.png", dir, sub, (long long)k);
		if (sul_png_write_rgb(png, sc->rgb, (uint32_t)o->size, (uint32_t)o->size, err))
			goto out;
	}
	ret = 0;
out:
	sul_volume_release(&lv);
	free(dir);
	free(png);
	return ret;
}

/*
 * Writes the PNG slices of one subject, its label slices and reference
 * copy, and appends their rows to index.  paths: the channels' images;
 * mask: the mask image or NULL; label_paths: one image per o->labels.  On
 * failure err names the file and some files may have been written.
 */
static int slice_subject(const struct opts *o, const char *sub, const char *grp, const char *cls,
			 const char *participant, char *const paths[NCHAN], const char *mask, char *const *label_paths,
			 struct sul_buf *index, struct totals *tot, struct sul_err *err)
{
	struct sul_volume v[NCHAN], mv;
	struct sul_slicegeom geom;
	struct scratch sc = { NULL, NULL, NULL, NULL };
	struct rank *ranks = NULL;
	uint8_t *brain = NULL, *kept = NULL;
	size_t *count = NULL, nbrain = 0, i, n, area, l;
	const char *ext = nifti_ext(paths[0]);
	char *dir = NULL, *png = NULL, *ref = NULL;
	int64_t k, p, nkept = 0, want;
	int c, ret = -1;

	memset(v, 0, sizeof(v));
	memset(&mv, 0, sizeof(mv));
	if (!ext)
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': expected a .nii or .nii.gz file (it is copied as the "
				   "subject's reference volume)", paths[0]);
	for (c = 0; c < NCHAN; c++) {
		if (sul_volume_read(paths[c], &v[c], err) || (c && same_grid(&v[0], paths[0], &v[c], paths[c], err)))
			goto out;
		zero_nonfinite(&v[c]);
	}
	n = nvox(&v[0]);
	area = (size_t)(v[0].nx * v[0].ny);
	brain = sul_xmalloc(n);
	if (mask) {
		if (sul_volume_read(mask, &mv, err) || same_grid(&v[0], paths[0], &mv, mask, err))
			goto out;
		for (i = 0; i < n; i++)
			brain[i] = mv.data[i] != 0 && !isnan(mv.data[i]);
	} else {
		sul_intensity_otsu_mask(&v[0], brain);
	}
	if (sul_slicegeom_init(&v[0], paths[0], o->size, &geom, err))
		goto out;

	/* Which slices. */
	count = sul_xcalloc((size_t)v[0].nz, sizeof(*count));
	for (i = 0; i < n; i++)
		if (brain[i]) {
			count[i / area]++;
			nbrain++;
		}
	if (!nbrain) {
		sul_err_set(err, SUL_ERR_INPUT, "subject '%s': empty brain mask (from '%s')", sub,
			    mask ? mask : paths[0]);
		goto out;
	}
	ranks = sul_xcalloc((size_t)v[0].nz, sizeof(*ranks));
	for (k = 0; k < v[0].nz; k++) {
		ranks[k].count = count[k];
		ranks[k].dist = llabs(2 * k - (v[0].nz - 1));
		ranks[k].k = k;
	}
	qsort(ranks, (size_t)v[0].nz, sizeof(*ranks), cmp_rank);
	kept = sul_xcalloc((size_t)v[0].nz, 1);
	want = o->keep < v[0].nz ? o->keep : v[0].nz;
	for (k = 0; k < want; k++) {
		const struct rank *rk = &ranks[k];
		if (rk->count && (double)rk->count / (double)area >= o->min_fraction) {
			kept[rk->k] = 1;
			nkept++;
		}
	}

	/* Intensities, then the images. */
	for (c = 0; c < NCHAN; c++)
		sul_intensity_to_bytes(&v[c], brain, nbrain, o->equalize);
	dir = sul_xasprintf("%s/%s", o->out, grp);
	if (nkept && sul_mkdirs(dir, err))
		goto out;
	sc.plane = sul_xmalloc((size_t)(geom.side * geom.side) * sizeof(*sc.plane));
	sc.px = sul_xmalloc((size_t)(o->size * o->size) * sizeof(*sc.px));
	sc.lab = sul_xmalloc((size_t)(o->size * o->size) * sizeof(*sc.lab));
	sc.rgb = sul_xmalloc((size_t)(o->size * o->size * 3));
	ref = sul_xasprintf("ref/%s%s", sub, ext);
	for (k = 0; k < v[0].nz; k++) {
		if (!kept[k])
			continue;
		for (c = 0; c < NCHAN; c++) {
			sul_slicegeom_plane(&geom, &v[c], k, sc.plane);
			sul_slicegeom_bilinear(&geom, sc.plane, sc.px);
			for (p = 0; p < o->size * o->size; p++) {
				double x = sc.px[p];
				sc.rgb[p * 3 + c] = (uint8_t)lrint(x < 0 ? 0 : x > 255 ? 255 : x);
			}
		}
		free(png);
		png = sul_xasprintf("%s/%s_z%03lld.png", grp, sub, (long long)k);
		{
			char *abs = sul_xasprintf("%s/%s", o->out, png);
			int r = sul_png_write_rgb(abs, sc.rgb, (uint32_t)o->size, (uint32_t)o->size, err);
			free(abs);
			if (r)
				goto out;
		}
		sul_buf_addf(index, "%s\t%lld\t%s\t%s\t%s\t%.6f\t%s", sub, (long long)k, grp, cls, png,
			     (double)count[k] / (double)area, ref);
		for (l = 0; l < o->nlabels; l++)
			sul_buf_addf(index, "\tlabels/%s/%s/%s_z%03lld.png", o->labels[l], grp, sub, (long long)k);
		if (participant)
			sul_buf_addf(index, "\t%s", participant);
		sul_buf_addc(index, '\n');
	}
	if (nkept) {
		char *abs = sul_xasprintf("%s/%s", o->out, ref);
		int r = sul_copy_file(paths[0], abs, err);
		free(abs);
		if (r)
			goto out;
		for (l = 0; l < o->nlabels; l++)
			if (write_label_slices(o, &geom, &v[0], paths[0], o->labels[l], label_paths[l], sub, grp, kept,
					       &sc, err))
				goto out;
	}
	tot->kept += nkept;
	tot->dropped += v[0].nz - nkept;
	tot->below_keep += nkept < o->keep;
	ret = 0;
out:
	for (c = 0; c < NCHAN; c++)
		sul_volume_release(&v[c]);
	sul_volume_release(&mv);
	free(brain);
	free(kept);
	free(count);
	free(ranks);
	free(sc.plane);
	free(sc.px);
	free(sc.lab);
	free(sc.rgb);
	free(dir);
	free(png);
	free(ref);
	return ret;
}

/* --- the kind ------------------------------------------------------------------ */

static int slices_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const char *indir = ctx->ninputs == 1 ? ctx->inputs[0].dir : NULL;
	char *table;
	char *names[NCHAN], *chan_buf = NULL, *paths[NCHAN] = { NULL }, *mask = NULL, *ipath = NULL;
	char *lnames[MAX_LABELS], *labels[MAX_LABELS], *lbuf = NULL, *lpaths[MAX_LABELS] = { NULL };
	struct sul_buf index = SUL_BUF_INIT;
	struct totals tot = { 0, 0, 0 };
	struct opts o;
	struct sul_tsv t;
	long scol, gcol, ccol, mcol, pcol, chcol[NCHAN], lcol[MAX_LABELS];
	size_t row, l, nlnames = 0, nlabels = 0;
	int c, ret = -1;

	if (!indir)  /* slices_check refuses this before anything runs */
		return sul_err_set(err, SUL_ERR_INPUT, "expected exactly one input (the table's stage), got %zu",
				   ctx->ninputs);
	table = sul_xasprintf("%s/%s", indir, sul_ctx_str(ctx, "table"));
	memset(&t, 0, sizeof(t));
	o.out = ctx->out;
	o.keep = sul_ctx_int(ctx, "keep");
	o.size = sul_ctx_int(ctx, "size");
	o.min_fraction = sul_ctx_float(ctx, "min_brain_fraction");
	o.equalize = sul_ctx_int(ctx, "equalize") != 0;
	o.labels = labels;
	o.nlabels = 0;
	if (parse_channels(sul_ctx_str(ctx, "channels"), &chan_buf, names, err)
	    || parse_labels(sul_ctx_str(ctx, "labels"), &lbuf, lnames, &nlnames, err))
		goto out;
	if (sul_tsv_read(table, &t, err))
		goto out;
	scol = sul_tsv_col(&t, "subject");
	gcol = sul_tsv_col(&t, "group");
	ccol = sul_tsv_col(&t, "class");
	mcol = sul_tsv_col(&t, "mask");
	pcol = sul_tsv_col(&t, "participant");
	if (scol < 0 || gcol < 0 || ccol < 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: expected columns 'subject', 'group' and 'class'", table);
		goto out;
	}
	for (c = 0; c < NCHAN; c++) {
		chcol[c] = sul_tsv_col(&t, names[c]);
		if (chcol[c] < 0) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: no column '%s' (parameter 'channels': '%s')", table,
				    names[c], sul_ctx_str(ctx, "channels"));
			goto out;
		}
	}
	for (l = 0; l < nlnames; l++) {
		long col = sul_tsv_col(&t, lnames[l]);
		if (col < 0 && is_default_label(lnames[l]))
			continue;  /* real data has no lesion masks or lobe labels */
		if (col < 0) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: no column '%s' (parameter 'labels': '%s')", table,
				    lnames[l], sul_ctx_str(ctx, "labels"));
			goto out;
		}
		lcol[nlabels] = col;
		labels[nlabels++] = lnames[l];
	}
	o.nlabels = nlabels;
	if (check_names(&t, table, scol, gcol, err))
		goto out;

	for (c = 0; c < (int)(sizeof(index_cols) / sizeof(index_cols[0])); c++)
		sul_buf_addf(&index, "%s%s", c ? "\t" : "", index_cols[c]);
	for (l = 0; l < nlabels; l++)
		sul_buf_addf(&index, "\t%s", labels[l]);
	if (pcol >= 0)  /* sessions of one participant: split keeps them together */
		sul_buf_adds(&index, "\tparticipant");
	sul_buf_addc(&index, '\n');
	for (row = 1; row < t.nrows; row++) {
		const char *sub = sul_tsv_at(&t, row, (size_t)scol);
		for (c = 0; c < NCHAN; c++) {
			free(paths[c]);
			paths[c] = sul_path_resolve(indir, sul_tsv_at(&t, row, (size_t)chcol[c]));
		}
		free(mask);
		mask = mcol >= 0 ? sul_path_resolve(indir, sul_tsv_at(&t, row, (size_t)mcol)) : NULL;
		for (l = 0; l < nlabels; l++) {
			const char *cell = sul_tsv_at(&t, row, (size_t)lcol[l]);
			if (!*cell) {
				sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: subject '%s': no image in column '%s' (parameter "
					    "'labels')", table, row + 1, sub, labels[l]);
				goto out;
			}
			free(lpaths[l]);
			lpaths[l] = sul_path_resolve(indir, cell);
		}
		if (slice_subject(&o, sub, sul_tsv_at(&t, row, (size_t)gcol), sul_tsv_at(&t, row, (size_t)ccol),
				  pcol >= 0 ? sul_tsv_at(&t, row, (size_t)pcol) : NULL, paths, mask, lpaths, &index, &tot,
				  err)) {
			if (strncmp(err->msg, "subject '", 9))
				sul_err_prefix(err, "subject '%s'", sub);
			goto out;
		}
	}
	ipath = sul_xasprintf("%s/index.tsv", ctx->out);
	if (sul_write_file_atomic(ipath, index.buf, index.len, err)
	    || sul_ctx_metric(ctx, "subjects", -1, (double)(t.nrows - 1), err)
	    || sul_ctx_metric(ctx, "slices_kept", -1, (double)tot.kept, err)
	    || sul_ctx_metric(ctx, "slices_dropped", -1, (double)tot.dropped, err)
	    || sul_ctx_metric(ctx, "subjects_below_keep", -1, (double)tot.below_keep, err))
		goto out;
	ret = 0;
out:
	sul_tsv_release(&t);
	sul_buf_release(&index);
	for (c = 0; c < NCHAN; c++)
		free(paths[c]);
	for (l = 0; l < MAX_LABELS; l++)
		free(lpaths[l]);
	free(mask);
	free(ipath);
	free(chan_buf);
	free(lbuf);
	free(table);
	return ret;
}

const struct sul_kind sul_kind_slices = {
	.name = "slices",
	.version = 3,
	.doc = "axial slices with the most brain as 8-bit RGB PNG (T1, T2, FLAIR as R, G, B), their label slices "
	       "(lobes, lesions), each subject's reference volume and index.tsv",
	.params = slices_params,
	.inputs = { 1, 1, "exactly one input (the table's stage)" },
	.check = slices_check,
	.run = slices_run,
};
