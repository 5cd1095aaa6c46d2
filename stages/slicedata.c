/*
 * slicedata.c - labelled slice images for the Darknet kinds; see
 * slicedata.h.
 */
#include "slicedata.h"

#include "../engine/fsutil.h"
#include "../engine/strbuf.h"
#include "pngio.h"
#include "tsv.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const split_names[] = { "train", "val", "test" };

int sul_split_from_name(const char *name)
{
	int i;

	for (i = 0; i < 3; i++)
		if (!strcmp(name, split_names[i]))
			return i;
	return -1;
}

static long need_col(const struct sul_tsv *t, const char *name, const char *path, struct sul_err *err)
{
	long c = sul_tsv_col(t, name);

	if (c < 0)
		sul_err_set(err, SUL_ERR_INPUT, "%s: no '%s' column (expected subject, slice, group, class, path%s)", path,
			    name, strcmp(name, "split") ? "" : ", split");
	return c;
}

int sul_slicedata_read(const struct sul_stage_ctx *ctx, const char *table, struct sul_slicedata *d,
		       struct sul_err *err)
{
	long cs, csl, cg, cc, cp, csp, copt[3];
	static const char *const opt_cols[3] = { "ref", "lobes", "lesions" };
	char *path = NULL;
	struct sul_tsv t;
	size_t i, r, k, j;
	int ret = -1;

	memset(d, 0, sizeof(*d));
	memset(&t, 0, sizeof(t));
	for (i = 0; i < ctx->ninputs && !path; i++) {
		char *p = sul_xasprintf("%s/%s", ctx->inputs[i].dir, table);
		if (sul_path_exists(p))
			path = p;
		else
			free(p);
	}
	if (!path)
		return sul_err_set(err, SUL_ERR_INPUT, "no input holds '%s' (expected a split stage among the inputs)",
				   table);
	if (sul_tsv_read(path, &t, err))
		goto out;
	if ((cs = need_col(&t, "subject", path, err)) < 0 || (cg = need_col(&t, "group", path, err)) < 0
	    || (cc = need_col(&t, "class", path, err)) < 0 || (cp = need_col(&t, "path", path, err)) < 0)
		goto out;
	csl = sul_tsv_col(&t, "slice");
	for (k = 0; k < 3; k++)
		copt[k] = sul_tsv_col(&t, opt_cols[k]);
	csp = sul_tsv_col(&t, "split");
	if (t.nrows < 2) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: no rows", path);
		goto out;
	}
	d->rows = sul_xcalloc(t.nrows - 1, sizeof(*d->rows));
	for (r = 1; r < t.nrows; r++) {
		struct sul_slice *s = &d->rows[d->n];
		const char *cls = sul_tsv_at(&t, r, (size_t)cc), *rel = sul_tsv_at(&t, r, (size_t)cp);
		char *end;
		long label = strtol(cls, &end, 10);

		if (!*cls || *end || label < 0 || label > 255) {
			sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: class '%s': expected an integer 0..255", path, r + 1, cls);
			goto out;
		}
		s->subject = sul_xstrdup(sul_tsv_at(&t, r, (size_t)cs));
		s->group = sul_xstrdup(sul_tsv_at(&t, r, (size_t)cg));
		d->n++;  /* from here on, release() frees this row */
		s->label = (int)label;
		s->slice = -1;
		if (csl >= 0) {
			const char *v = sul_tsv_at(&t, r, (size_t)csl);
			long sl = strtol(v, &end, 10);
			if (!*v || *end || sl < 0 || sl > 1000000) {
				sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: slice '%s': expected a slice index", path, r + 1, v);
				goto out;
			}
			s->slice = (int)sl;
		}
		s->split = SUL_SPLIT_NONE;
		if (csp >= 0) {
			s->split = sul_split_from_name(sul_tsv_at(&t, r, (size_t)csp));
			if (s->split < 0) {
				sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: split '%s': expected train, val or test", path,
					    r + 1, sul_tsv_at(&t, r, (size_t)csp));
				goto out;
			}
		}
		for (k = 0; k < ctx->ninputs && !s->path; k++) {
			char *p = sul_path_resolve(ctx->inputs[k].dir, rel);
			if (sul_path_exists(p))
				s->path = p;
			else
				free(p);
		}
		if (!s->path) {
			sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: image '%s' is in none of the inputs (list the slices "
				    "stage among the inputs)", path, r + 1, rel);
			goto out;
		}
		for (j = 0; j < 3; j++) {
			const char *v = copt[j] >= 0 ? sul_tsv_at(&t, r, (size_t)copt[j]) : "";
			char **dst = j == 0 ? &s->ref : j == 1 ? &s->lobes : &s->lesions;
			for (k = 0; k < ctx->ninputs && *v && !*dst; k++) {
				char *p = sul_path_resolve(ctx->inputs[k].dir, v);
				if (sul_path_exists(p))
					*dst = p;
				else
					free(p);
			}
		}
		if (s->label >= d->classes) {
			d->class_names = sul_xrealloc(d->class_names, (size_t)(s->label + 1) * sizeof(char *));
			memset(d->class_names + d->classes, 0, (size_t)(s->label + 1 - d->classes) * sizeof(char *));
			d->classes = s->label + 1;
		}
		if (!d->class_names[s->label]) {
			d->class_names[s->label] = sul_xstrdup(s->group);
		} else if (strcmp(d->class_names[s->label], s->group)) {
			sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: class %d is group '%s' here and '%s' above", path, r + 1,
				    s->label, s->group, d->class_names[s->label]);
			goto out;
		}
	}
	for (k = 0; k < (size_t)d->classes; k++)
		if (!d->class_names[k]) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: no row of class %zu (classes must be 0..%d without gaps)", path,
				    k, d->classes - 1);
			goto out;
		}
	ret = 0;
out:
	sul_tsv_release(&t);
	free(path);
	if (ret)
		sul_slicedata_release(d);
	return ret;
}

/* Bilinear resize of 8-bit RGB, sampling pixel centres. */
static void resize_rgb(const uint8_t *src, uint32_t sw, uint32_t sh, uint8_t *dst, int w, int h)
{
	int x, y, ch;

	for (y = 0; y < h; y++) {
		double fy = ((double)y + 0.5) * sh / h - 0.5;
		int y0 = (int)floor(fy);
		double ay = fy - y0;
		int ya = y0 < 0 ? 0 : y0, yb = y0 + 1 >= (int)sh ? (int)sh - 1 : y0 + 1;
		for (x = 0; x < w; x++) {
			double fx = ((double)x + 0.5) * sw / w - 0.5;
			int x0 = (int)floor(fx);
			double ax = fx - x0;
			int xa = x0 < 0 ? 0 : x0, xb = x0 + 1 >= (int)sw ? (int)sw - 1 : x0 + 1;
			for (ch = 0; ch < 3; ch++) {
				double v = (1 - ay) * ((1 - ax) * src[((size_t)ya * sw + xa) * 3 + ch]
						       + ax * src[((size_t)ya * sw + xb) * 3 + ch])
					   + ay * ((1 - ax) * src[((size_t)yb * sw + xa) * 3 + ch]
						   + ax * src[((size_t)yb * sw + xb) * 3 + ch]);
				dst[((size_t)y * w + x) * 3 + ch] = (uint8_t)lrint(v);
			}
		}
	}
}

int sul_slicedata_load(struct sul_slicedata *d, int w, int h, unsigned split_mask, struct sul_err *err)
{
	size_t i, one = (size_t)w * h * 3;

	free(d->pixels);
	d->w = w, d->h = h;
	d->pixels = sul_xcalloc(d->n, one);
	for (i = 0; i < d->n; i++) {
		uint8_t *rgb = NULL;
		uint32_t pw, ph;

		if (!(split_mask & (1u << d->rows[i].split)))
			continue;
		if (sul_png_read_rgb(d->rows[i].path, &rgb, &pw, &ph, err))
			return -1;
		if ((int)pw == w && (int)ph == h)
			memcpy(d->pixels + i * one, rgb, one);
		else
			resize_rgb(rgb, pw, ph, d->pixels + i * one, w, h);
		free(rgb);
	}
	return 0;
}

void sul_slicedata_chw(const struct sul_slicedata *d, size_t i, float *out)
{
	const size_t plane = (size_t)d->w * d->h;
	const uint8_t *p = d->pixels + i * plane * 3;
	size_t k;
	int ch;

	for (ch = 0; ch < 3; ch++)
		for (k = 0; k < plane; k++)
			out[ch * plane + k] = p[k * 3 + ch] / 255.0f;
}

void sul_slicedata_release(struct sul_slicedata *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->rows[i].subject);
		free(d->rows[i].group);
		free(d->rows[i].path);
		free(d->rows[i].ref);
		free(d->rows[i].lobes);
		free(d->rows[i].lesions);
	}
	for (i = 0; i < (size_t)d->classes && d->class_names; i++)
		free(d->class_names[i]);
	free(d->class_names);
	free(d->rows);
	free(d->pixels);
	memset(d, 0, sizeof(*d));
}

void sul_augment_chw(const float *src, float *dst, int c, int h, int w, double angle_deg, double scale, double tx,
		     double ty, int flip)
{
	const double a = angle_deg * M_PI / 180.0, ca = cos(a), sa = sin(a);
	const double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
	const size_t plane = (size_t)w * h;
	int x, y, ch;

	/* For each output pixel, the source point: undo translation, rotation
	 * (image y points down, so counter-clockwise on screen is -a here) and
	 * scaling, about the centre. */
	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++) {
			double dx = (flip ? (w - 1 - x) : x) - cx - tx * w, dy = y - cy - ty * h;
			double sx = (ca * dx - sa * dy) / scale + cx, sy = (sa * dx + ca * dy) / scale + cy;
			int x0 = (int)floor(sx), y0 = (int)floor(sy);
			double ax = sx - x0, ay = sy - y0;

			for (ch = 0; ch < c; ch++) {
				const float *s = src + ch * plane;
				double v = 0;
				if (y0 >= 0 && y0 < h && x0 >= 0 && x0 < w)
					v += (1 - ax) * (1 - ay) * s[(size_t)y0 * w + x0];
				if (y0 >= 0 && y0 < h && x0 + 1 >= 0 && x0 + 1 < w)
					v += ax * (1 - ay) * s[(size_t)y0 * w + x0 + 1];
				if (y0 + 1 >= 0 && y0 + 1 < h && x0 >= 0 && x0 < w)
					v += (1 - ax) * ay * s[(size_t)(y0 + 1) * w + x0];
				if (y0 + 1 >= 0 && y0 + 1 < h && x0 + 1 >= 0 && x0 + 1 < w)
					v += ax * ay * s[(size_t)(y0 + 1) * w + x0 + 1];
				dst[ch * plane + (size_t)y * w + x] = (float)v;
			}
		}
}
