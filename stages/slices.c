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
 *  - layout: each slice is padded to a square (centred, zeros) and
 *    resampled bilinearly to size x size.  Pixels are voxels: anisotropic
 *    in-plane voxels are not corrected.  The first channel's ijk_to_xyz
 *    orients it in the radiological convention: anterior (+y) at the top,
 *    the subject's right (+x) on the image's left.  Of i and j, the axis
 *    closer to x runs along the image's columns, and each is flipped as
 *    needed; k must be the axis closest to z (axially stored images),
 *    otherwise the stage fails rather than write sagittal "axial" slices.
 *
 * Output: <group>/<subject>_z<k, 3 digits>.png and index.tsv (subject,
 * slice, group, class, path, brain_fraction).  `darknet classifier` takes a
 * label from an image's path by substring search (data.c fill_truth), so
 * no group name may occur in another group's name or in a subject id: the
 * stage checks both.  It cannot check the absolute cache path the files end
 * up under; group names like "a" would match hex digits there.
 *
 * It does not co-register, correct bias fields, skull-strip or split
 * subjects: those are other kinds.  All channels of a subject must already
 * be on one grid (same nx, ny, nz); only the sizes are checked.
 * Deterministic: the same inputs give the same bytes.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../engine/workflow.h"
#include "pngio.h"
#include "tsv.h"
#include "volume.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NCHAN 3

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
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* Splits buf ("a, b,c") in place into at most max trimmed items; returns
 * how many there were, counting any beyond max and empty ones. */
static size_t split_list(char *buf, char **items, size_t max)
{
	size_t n = 0;
	char *p = buf;

	while (p) {
		char *comma = strchr(p, ','), *end;
		if (comma)
			*comma = '\0';
		while (*p == ' ')
			p++;
		end = p + strlen(p);
		while (end > p && end[-1] == ' ')
			*--end = '\0';
		if (n < max)
			items[n] = p;
		if (!*p)
			return max + 1;  /* an empty item: never valid */
		n++;
		p = comma ? comma + 1 : NULL;
	}
	return n;
}

static int parse_channels(const char *text, char **buf, char *names[NCHAN], struct sul_err *err)
{
	*buf = sul_xstrdup(text);
	if (split_list(*buf, names, NCHAN) != NCHAN)
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'channels': expected three comma-separated "
				   "column names (red, green, blue), got '%s'", text);
	return 0;
}

static int slices_check(const struct sul_stage *st, struct sul_err *err)
{
	long i = sul_params_find(st->params, st->nparams, "channels");
	char *names[NCHAN], *buf = NULL;
	int ret = 0;

	if (st->ninputs != 1)
		return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: stage '%s': expected exactly one input (the table's "
				   "stage), got %zu", st->file, st->line, st->id, st->ninputs);
	if (i >= 0 && parse_channels(st->params[i].v.s, &buf, names, err))
		ret = sul_err_prefix(err, "%s:%d: stage '%s'", st->file, st->line, st->id);
	free(buf);
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

/* --- mask and intensities ----------------------------------------------- */

static size_t nvox(const struct sul_volume *v)
{
	return (size_t)(v->nx * v->ny * v->nz);
}

static int bin_of(float x, double lo, double hi)
{
	int b = (int)(((double)x - lo) / (hi - lo) * 256.0);
	return b < 0 ? 0 : b > 255 ? 255 : b;
}

/* brain[i] = 1 above Otsu's threshold over a 256-bin histogram of all voxels. */
static void otsu_mask(const struct sul_volume *v, uint8_t *brain)
{
	size_t i, n = nvox(v), hist[256] = { 0 };
	double lo = v->data[0], hi = v->data[0], sum = 0, sum0 = 0, w0 = 0, best = -1;
	int b, t = 255;

	for (i = 0; i < n; i++) {
		lo = v->data[i] < lo ? v->data[i] : lo;
		hi = v->data[i] > hi ? v->data[i] : hi;
	}
	if (hi <= lo) {
		memset(brain, 0, n);  /* a constant image has no brain to find */
		return;
	}
	for (i = 0; i < n; i++)
		hist[bin_of(v->data[i], lo, hi)]++;
	for (b = 0; b < 256; b++)
		sum += (double)b * (double)hist[b];
	/* Class 0 is bins 0..b; maximize w0 w1 (mu0 - mu1)^2, the first maximum. */
	for (b = 0; b < 255; b++) {
		double w1, between;
		w0 += (double)hist[b];
		sum0 += (double)b * (double)hist[b];
		w1 = (double)n - w0;
		if (w0 == 0 || w1 == 0)
			continue;
		between = w0 * w1 * pow(sum0 / w0 - (sum - sum0) / w1, 2);
		if (between > best) {
			best = between;
			t = b;
		}
	}
	for (i = 0; i < n; i++)
		brain[i] = bin_of(v->data[i], lo, hi) > t;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

/* How many of sorted[0..n) are <= x. */
static size_t count_le(const float *sorted, size_t n, float x)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sorted[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Maps v's brain voxels to 1..255 (see the top of the file), the rest to 0,
 * in place.  nbrain > 0. */
static void map_intensities(struct sul_volume *v, const uint8_t *brain, size_t nbrain, int equalize)
{
	size_t i, k = 0, n = nvox(v);
	float *vals = sul_xmalloc(nbrain * sizeof(*vals));

	for (i = 0; i < n; i++)
		if (brain[i])
			vals[k++] = v->data[i];
	qsort(vals, nbrain, sizeof(*vals), cmp_float);
	if (equalize) {
		/* The lowest value maps to 1, the highest to 255. */
		size_t first = count_le(vals, nbrain, vals[0]);
		for (i = 0; i < n; i++) {
			if (!brain[i])
				v->data[i] = 0;
			else if (first == nbrain)
				v->data[i] = 128;
			else
				v->data[i] = (float)(1.0 + 254.0 * (double)(count_le(vals, nbrain, v->data[i]) - first)
							   / (double)(nbrain - first));
		}
	} else {
		double lo = vals[(size_t)(0.005 * (double)(nbrain - 1) + 0.5)];
		double hi = vals[(size_t)(0.995 * (double)(nbrain - 1) + 0.5)];
		for (i = 0; i < n; i++) {
			double x;
			if (!brain[i]) {
				v->data[i] = 0;
				continue;
			}
			x = hi > lo ? 1.0 + 254.0 * ((double)v->data[i] - lo) / (hi - lo) : 128.0;
			v->data[i] = (float)(x < 1 ? 1 : x > 255 ? 255 : x);
		}
	}
	free(vals);
}

/* --- layout ------------------------------------------------------------------ */

/* How a slice of voxels (i, j) lies on the screen (r, c), before resampling. */
struct layout {
	int col_axis;              /* 0: i runs along the columns, j down the rows; 1: the reverse */
	int flip_col, flip_row;
	int64_t w, h;              /* the slice's columns and rows */
	int64_t side, off_c, off_r;  /* the padded square and where the slice sits in it */
};

static int make_layout(const struct sul_volume *v, const char *path, struct layout *l, struct sul_err *err)
{
	const double (*m)[4] = (const double (*)[4])v->ijk_to_xyz;
	double kz = fabs(m[2][2]);
	int row_axis;

	if (!(kz > fabs(m[0][2]) && kz > fabs(m[1][2])))
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': the third voxel axis runs along (%g, %g, %g) mm: expected "
				   "axially stored images (k inferior-superior); reorient them first", path, m[0][2],
				   m[1][2], m[2][2]);
	l->col_axis = fabs(m[0][0]) >= fabs(m[0][1]) ? 0 : 1;
	row_axis = 1 - l->col_axis;
	/* Radiological: x (towards the subject's right) decreases along the
	 * columns; anterior at the top: y decreases down the rows. */
	l->flip_col = m[0][l->col_axis] > 0;
	l->flip_row = m[1][row_axis] > 0;
	l->w = l->col_axis == 0 ? v->nx : v->ny;
	l->h = l->col_axis == 0 ? v->ny : v->nx;
	l->side = l->w > l->h ? l->w : l->h;
	l->off_c = (l->side - l->w) / 2;
	l->off_r = (l->side - l->h) / 2;
	return 0;
}

/* Slice k of v laid out in the padded square plane (side * side). */
static void fill_plane(const struct sul_volume *v, const struct layout *l, int64_t k, float *plane)
{
	int64_t r, c;

	memset(plane, 0, (size_t)(l->side * l->side) * sizeof(*plane));
	for (r = 0; r < l->h; r++)
		for (c = 0; c < l->w; c++) {
			int64_t a = l->flip_col ? l->w - 1 - c : c, b = l->flip_row ? l->h - 1 - r : r;
			int64_t i = l->col_axis == 0 ? a : b, j = l->col_axis == 0 ? b : a;
			plane[(r + l->off_r) * l->side + c + l->off_c] = v->data[i + v->nx * (j + v->ny * k)];
		}
}

/* Where output pixel d samples the side-wide input (pixel centres aligned). */
struct tap {
	int64_t a, b;
	double f;
};

static void make_taps(int64_t side, int64_t size, struct tap *taps)
{
	int64_t d;

	for (d = 0; d < size; d++) {
		double s = ((double)d + 0.5) * (double)side / (double)size - 0.5;
		if (s < 0)
			s = 0;
		if (s > (double)(side - 1))
			s = (double)(side - 1);
		taps[d].a = (int64_t)floor(s);
		taps[d].b = taps[d].a + 1 < side ? taps[d].a + 1 : taps[d].a;
		taps[d].f = s - (double)taps[d].a;
	}
}

/* Bilinear resampling of plane into channel ch of the RGB image. */
static void resample(const float *plane, int64_t side, const struct tap *taps, int64_t size, int ch, uint8_t *rgb)
{
	int64_t r, c;

	for (r = 0; r < size; r++) {
		const struct tap *tr = &taps[r];
		for (c = 0; c < size; c++) {
			const struct tap *tc = &taps[c];
			double top = plane[tr->a * side + tc->a] * (1 - tc->f) + plane[tr->a * side + tc->b] * tc->f;
			double bot = plane[tr->b * side + tc->a] * (1 - tc->f) + plane[tr->b * side + tc->b] * tc->f;
			double x = top * (1 - tr->f) + bot * tr->f;
			rgb[(r * size + c) * 3 + ch] = (uint8_t)lrint(x < 0 ? 0 : x > 255 ? 255 : x);
		}
	}
}

/* --- one subject ------------------------------------------------------------ */

struct opts {
	const char *out;
	int64_t keep, size;
	double min_fraction;
	int equalize;
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

/*
 * Writes the PNG slices of one subject and appends their rows to index.
 * paths: the channels' images; mask: the mask image or NULL.  On failure
 * err names the file and some PNG files may have been written.
 */
static int slice_subject(const struct opts *o, const char *sub, const char *grp, const char *cls,
			 char *const paths[NCHAN], const char *mask, struct sul_buf *index, struct totals *tot,
			 struct sul_err *err)
{
	struct sul_volume v[NCHAN], mv;
	struct layout lay;
	struct rank *ranks = NULL;
	struct tap *taps = NULL;
	uint8_t *brain = NULL, *kept = NULL, *rgb = NULL;
	size_t *count = NULL, nbrain = 0, i, n, area;
	float *plane = NULL;
	char *dir = NULL, *png = NULL;
	int64_t k, nkept = 0, want;
	int c, ret = -1;

	memset(v, 0, sizeof(v));
	memset(&mv, 0, sizeof(mv));
	memset(&lay, 0, sizeof(lay));
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
		otsu_mask(&v[0], brain);
	}
	if (make_layout(&v[0], paths[0], &lay, err))
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
		map_intensities(&v[c], brain, nbrain, o->equalize);
	dir = sul_xasprintf("%s/%s", o->out, grp);
	if (nkept && sul_mkdirs(dir, err))
		goto out;
	plane = sul_xmalloc((size_t)(lay.side * lay.side) * sizeof(*plane));
	taps = sul_xmalloc((size_t)o->size * sizeof(*taps));
	rgb = sul_xmalloc((size_t)(o->size * o->size * 3));
	make_taps(lay.side, o->size, taps);
	for (k = 0; k < v[0].nz; k++) {
		if (!kept[k])
			continue;
		for (c = 0; c < NCHAN; c++) {
			fill_plane(&v[c], &lay, k, plane);
			resample(plane, lay.side, taps, o->size, c, rgb);
		}
		free(png);
		png = sul_xasprintf("%s/%s_z%03lld.png", grp, sub, (long long)k);
		{
			char *abs = sul_xasprintf("%s/%s", o->out, png);
			int r = sul_png_write_rgb(abs, rgb, (uint32_t)o->size, (uint32_t)o->size, err);
			free(abs);
			if (r)
				goto out;
		}
		sul_buf_addf(index, "%s\t%lld\t%s\t%s\t%s\t%.6f\n", sub, (long long)k, grp, cls, png,
			     (double)count[k] / (double)area);
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
	free(plane);
	free(taps);
	free(rgb);
	free(dir);
	free(png);
	return ret;
}

/* --- the kind ------------------------------------------------------------------ */

static int slices_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const char *indir = ctx->ninputs == 1 ? ctx->inputs[0].dir : NULL;
	char *table;
	char *names[NCHAN], *chan_buf = NULL, *paths[NCHAN] = { NULL }, *mask = NULL, *ipath = NULL;
	struct sul_buf index = SUL_BUF_INIT;
	struct totals tot = { 0, 0, 0 };
	struct opts o;
	struct sul_tsv t;
	long scol, gcol, ccol, mcol, chcol[NCHAN];
	size_t row;
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
	if (parse_channels(sul_ctx_str(ctx, "channels"), &chan_buf, names, err))
		goto out;
	if (sul_tsv_read(table, &t, err))
		goto out;
	scol = sul_tsv_col(&t, "subject");
	gcol = sul_tsv_col(&t, "group");
	ccol = sul_tsv_col(&t, "class");
	mcol = sul_tsv_col(&t, "mask");
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
	if (check_names(&t, table, scol, gcol, err))
		goto out;

	sul_buf_adds(&index, "subject\tslice\tgroup\tclass\tpath\tbrain_fraction\n");
	for (row = 1; row < t.nrows; row++) {
		const char *sub = sul_tsv_at(&t, row, (size_t)scol);
		for (c = 0; c < NCHAN; c++) {
			free(paths[c]);
			paths[c] = sul_path_resolve(indir, sul_tsv_at(&t, row, (size_t)chcol[c]));
		}
		free(mask);
		mask = mcol >= 0 ? sul_path_resolve(indir, sul_tsv_at(&t, row, (size_t)mcol)) : NULL;
		if (slice_subject(&o, sub, sul_tsv_at(&t, row, (size_t)gcol), sul_tsv_at(&t, row, (size_t)ccol), paths,
				  mask, &index, &tot, err)) {
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
	free(mask);
	free(ipath);
	free(chan_buf);
	free(table);
	return ret;
}

const struct sul_kind sul_kind_slices = {
	.name = "slices",
	.version = 1,
	.doc = "axial slices with the most brain as 8-bit RGB PNG (T1, T2, FLAIR as R, G, B) and index.tsv",
	.params = slices_params,
	.check = slices_check,
	.run = slices_run,
};
