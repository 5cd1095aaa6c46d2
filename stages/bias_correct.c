/*
 * bias_correct.c - the `bias_correct` kind: N4-style correction of the
 * smooth multiplicative intensity non-uniformity of every image of every
 * subject (Tustison et al. 2010, "N4ITK: improved N3 bias correction").
 *
 * Per image, in the log domain and on a grid shrunk by `shrink`: sharpen the
 * intensity histogram by Wiener deconvolution of a Gaussian (the bias blurs
 * the tissue peaks), take as residual the difference between each voxel and
 * its expected sharpened intensity, fit that residual with a cubic B-spline
 * field (Lee et al.'s scattered data approximation) and add it to the
 * estimate; repeat until the update is negligible, then double the control
 * lattice for the next level.  The field, a sum of B-spline lattices, is
 * evaluated at full resolution and divided out.  It does not register,
 * resample or skull-strip.
 *
 * Input: one stage with subjects.tsv (ingest format).  Output: the same
 * table pointing at corrected float images, `mask` and per-image bias fields
 * under fields/, and metrics: coefficient of variation inside the mask (and
 * inside a white-matter mask, when the table has a `wm` column) before and
 * after.
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "intensity.h"
#include "tsv.h"
#include "volume.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec bias_params[] = {
	{ "table", SUL_T_STRING, "subjects.tsv", 0, 0, NULL, "the input's table, relative to its folder" },
	{ "modalities", SUL_T_STRING, "T1w,T2w,FLAIR", 0, 0, NULL, "columns of images to correct, comma-separated" },
	{ "levels", SUL_T_INT, "4", 1, 8, NULL, "fitting levels; the control lattice doubles at each" },
	{ "iterations", SUL_T_INT, "50", 1, 1000, NULL, "at most, per level" },
	{ "spans", SUL_T_INT, "1", 1, 32, NULL, "B-spline spans per axis at the first level" },
	{ "shrink", SUL_T_INT, "4", 1, 16, NULL, "fit on the image shrunk by this factor per axis" },
	{ "fwhm", SUL_T_FLOAT, "0.15", 0.01, 2, NULL, "width of the Gaussian that the bias blurs the log histogram with" },
	{ "bins", SUL_T_INT, "200", 16, 4096, NULL, "histogram bins for sharpening" },
	{ "convergence", SUL_T_FLOAT, "0.001", 0, 1, NULL, "stop a level when the update's std (log units) is below" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

struct lattice {
	int n[3];       /* control points per axis: spans + 3 */
	double *c;
};

/* Cubic B-spline basis weights at local coordinate u in [0, 1). */
static void bspline_weights(double u, double w[4])
{
	double v = 1 - u;

	w[0] = v * v * v / 6;
	w[1] = (3 * u * u * u - 6 * u * u + 4) / 6;
	w[2] = (-3 * u * u * u + 3 * u * u + 3 * u + 1) / 6;
	w[3] = u * u * u / 6;
}

/* Position p in [0, size-1] of a full-resolution axis to lattice cell + weights. */
static int locate(double p, double size, int spans, double w[4])
{
	double t = size > 1 ? p / (size - 1) * spans : 0;
	int cell = (int)floor(t);

	if (cell > spans - 1)
		cell = spans - 1;
	if (cell < 0)
		cell = 0;
	bspline_weights(t - cell, w);
	return cell;
}

struct grid {
	int64_t n[3];      /* voxels of this grid */
	double scale;      /* full-resolution index of voxel i = i * scale + offset */
	double offset;
	int64_t full[3];   /* full-resolution size */
};

/*
 * Adds the lattice's field at every voxel of g to out, separably: along z,
 * then y, then x (a tenth of the work of evaluating 64 weights per voxel).
 */
static void eval_add(const struct lattice *L, const struct grid *g, double *out)
{
	int64_t X = g->n[0], Y = g->n[1], Z = g->n[2], x, y, z;
	int Ax = L->n[0], Ay = L->n[1], Az = L->n[2], a, b, k;
	double *t1 = sul_xcalloc((size_t)(Ax * Ay * Z), sizeof(double));
	double *t2 = sul_xcalloc((size_t)(Ax * Y * Z), sizeof(double));
	double w[4];

	for (z = 0; z < Z; z++) {
		int cz = locate(z * g->scale + g->offset, (double)g->full[2], Az - 3, w);
		for (b = 0; b < Ay; b++)
			for (a = 0; a < Ax; a++) {
				double s = 0;
				for (k = 0; k < 4; k++)
					s += w[k] * L->c[a + Ax * (b + Ay * (cz + k))];
				t1[a + Ax * (b + Ay * z)] = s;
			}
	}
	for (y = 0; y < Y; y++) {
		int cy = locate(y * g->scale + g->offset, (double)g->full[1], Ay - 3, w);
		for (z = 0; z < Z; z++)
			for (a = 0; a < Ax; a++) {
				double s = 0;
				for (k = 0; k < 4; k++)
					s += w[k] * t1[a + Ax * ((cy + k) + Ay * z)];
				t2[a + Ax * (y + Y * z)] = s;
			}
	}
	for (x = 0; x < X; x++) {
		int cx = locate(x * g->scale + g->offset, (double)g->full[0], Ax - 3, w);
		for (z = 0; z < Z; z++)
			for (y = 0; y < Y; y++) {
				double s = 0;
				for (k = 0; k < 4; k++)
					s += w[k] * t2[(cx + k) + Ax * (y + Y * z)];
				out[x + X * (y + Y * z)] += s;
			}
	}
	free(t1);
	free(t2);
}

/* Lee, Wolberg and Shin's B-spline approximation of values r at the masked voxels of g. */
static void bsa_fit(const struct grid *g, const unsigned char *mask, const double *r, struct lattice *L)
{
	size_t nc = (size_t)L->n[0] * (size_t)L->n[1] * (size_t)L->n[2], i;
	double *delta = sul_xcalloc(nc, sizeof(double)), *omega = sul_xcalloc(nc, sizeof(double));
	int64_t x, y, z;

	for (z = 0; z < g->n[2]; z++) {
		double wz[4];
		int cz = locate(z * g->scale + g->offset, (double)g->full[2], L->n[2] - 3, wz);
		for (y = 0; y < g->n[1]; y++) {
			double wy[4];
			int cy = locate(y * g->scale + g->offset, (double)g->full[1], L->n[1] - 3, wy);
			for (x = 0; x < g->n[0]; x++) {
				int64_t v = x + g->n[0] * (y + g->n[1] * z);
				double wx[4], w[64], sum2 = 0;
				int cx, a, b, c, k = 0;

				if (!mask[v])
					continue;
				cx = locate(x * g->scale + g->offset, (double)g->full[0], L->n[0] - 3, wx);
				for (c = 0; c < 4; c++)
					for (b = 0; b < 4; b++)
						for (a = 0; a < 4; a++) {
							w[k] = wx[a] * wy[b] * wz[c];
							sum2 += w[k] * w[k];
							k++;
						}
				k = 0;
				for (c = 0; c < 4; c++)
					for (b = 0; b < 4; b++)
						for (a = 0; a < 4; a++, k++) {
							size_t ci = (size_t)(cx + a)
								    + (size_t)L->n[0] * ((size_t)(cy + b) + (size_t)L->n[1] * (size_t)(cz + c));
							double phi = w[k] * r[v] / sum2;
							delta[ci] += w[k] * w[k] * phi;
							omega[ci] += w[k] * w[k];
						}
			}
		}
	}
	for (i = 0; i < nc; i++)
		L->c[i] = omega[i] > 0 ? delta[i] / omega[i] : 0;
	free(delta);
	free(omega);
}

/*
 * N4's histogram sharpening: expected true log-intensity for each observed
 * one, by Wiener deconvolution of a Gaussian of the given FWHM.  Fills
 * map[bin] over nbins bins spanning [lo, hi].
 */
static void sharpen(const double *u, const unsigned char *mask, size_t n, int nbins, double fwhm, double lo,
		    double hi, double *map)
{
	int np = 1, k, j;
	double width = (hi - lo) / (nbins - 1), sigma, sum = 0;
	double *h, *g, *num, *den, *f;

	while (np < 2 * nbins)
		np *= 2;
	h = sul_xcalloc((size_t)np, sizeof(double));
	g = sul_xcalloc((size_t)np, sizeof(double));
	f = sul_xcalloc((size_t)np, sizeof(double));
	num = sul_xcalloc((size_t)np, sizeof(double));
	den = sul_xcalloc((size_t)np, sizeof(double));
	for (size_t i = 0; i < n; i++) {
		double pos;
		int b;
		if (!mask[i])
			continue;
		pos = (u[i] - lo) / width;
		b = (int)floor(pos);
		if (b < 0) {
			h[0] += 1;
		} else if (b >= nbins - 1) {
			h[nbins - 1] += 1;
		} else {
			h[b] += 1 - (pos - b);
			h[b + 1] += pos - b;
		}
	}
	/* The Gaussian in bins, centred at 0 with wrap-around (circular convolution). */
	sigma = fwhm / width / (2 * sqrt(2 * log(2)));
	for (k = 0; k < np; k++) {
		int d = k <= np / 2 ? k : k - np;
		g[k] = exp(-0.5 * d * d / (sigma * sigma));
		sum += g[k];
	}
	for (k = 0; k < np; k++)
		g[k] /= sum;
	/* Wiener deconvolution with a plain DFT over a table of the np roots of
	 * unity: np is a few hundred, and (k j) mod np indexes the table exactly. */
	{
		double *hr = sul_xcalloc((size_t)np, sizeof(double)), *hi_ = sul_xcalloc((size_t)np, sizeof(double));
		double *cs = sul_xmalloc((size_t)np * sizeof(double)), *sn = sul_xmalloc((size_t)np * sizeof(double));
		const double z = 0.01;
		for (k = 0; k < np; k++) {
			cs[k] = cos(2 * M_PI * k / np);
			sn[k] = sin(2 * M_PI * k / np);
		}
		for (k = 0; k < np; k++) {
			double sr = 0, si = 0, tr = 0, ti = 0;
			for (j = 0; j < np; j++) {
				int m = (int)(((long)k * j) % np);
				sr += h[j] * cs[m];
				si -= h[j] * sn[m];
				tr += g[j] * cs[m];
				ti -= g[j] * sn[m];
			}
			/* U = conj(G) H / (|G|^2 + z) */
			{
				double mag = tr * tr + ti * ti + z;
				hr[k] = (tr * sr + ti * si) / mag;
				hi_[k] = (tr * si - ti * sr) / mag;
			}
		}
		for (j = 0; j < np; j++) {
			double s = 0;
			for (k = 0; k < np; k++) {
				int m = (int)(((long)k * j) % np);
				s += hr[k] * cs[m] - hi_[k] * sn[m];
			}
			f[j] = s / np > 0 ? s / np : 0;
		}
		free(hr);
		free(hi_);
		free(cs);
		free(sn);
	}
	/* E[true | observed] = (G * (f v)) / (G * f), convolution done directly. */
	for (k = 0; k < nbins; k++) {
		double a = 0, b = 0;
		for (j = 0; j < nbins; j++) {
			int d = k - j;
			double gk = g[d >= 0 ? d : d + np];
			a += gk * f[j] * (lo + j * width);
			b += gk * f[j];
		}
		num[k] = a;
		den[k] = b;
		map[k] = b > 1e-12 ? a / b : lo + k * width;
	}
	free(h);
	free(g);
	free(f);
	free(num);
	free(den);
}

static double interp_map(const double *map, int nbins, double lo, double hi, double v)
{
	double pos = (v - lo) / ((hi - lo) / (nbins - 1));
	int b = (int)floor(pos);

	if (b < 0)
		return map[0];
	if (b >= nbins - 1)
		return map[nbins - 1];
	return map[b] + (pos - b) * (map[b + 1] - map[b]);
}

/* Coefficient of variation of v over the mask. */
static double cov(const float *v, const unsigned char *mask, int64_t n)
{
	double s = 0, s2 = 0, m;
	int64_t i, k = 0;

	for (i = 0; i < n; i++)
		if (mask[i]) {
			s += v[i];
			s2 += (double)v[i] * v[i];
			k++;
		}
	if (k < 2)
		return 0;
	m = s / (double)k;
	return m > 0 ? sqrt(fmax(s2 / (double)k - m * m, 0)) / m : 0;
}

struct n4_opts {
	int levels, iterations, spans, shrink, bins;
	double fwhm, convergence;
};

/* Estimates the log bias field of v inside mask; fills field (full size, log units). */
static void n4(const struct sul_volume *v, const unsigned char *mask, const struct n4_opts *o, double *field)
{
	int64_t nx = v->nx, ny = v->ny, nz = v->nz, s = o->shrink;
	struct grid g = { { (nx + s - 1) / s, (ny + s - 1) / s, (nz + s - 1) / s }, (double)s, (s - 1) / 2.0,
			  { nx, ny, nz } };
	struct grid full = { { nx, ny, nz }, 1, 0, { nx, ny, nz } };
	int64_t ns = g.n[0] * g.n[1] * g.n[2], i, x, y, z;
	double *logv = sul_xcalloc((size_t)ns, sizeof(double)), *f = sul_xcalloc((size_t)ns, sizeof(double));
	double *u = sul_xcalloc((size_t)ns, sizeof(double)), *r = sul_xcalloc((size_t)ns, sizeof(double));
	double *map = sul_xcalloc((size_t)o->bins, sizeof(double)), *upd = sul_xcalloc((size_t)ns, sizeof(double));
	unsigned char *m = sul_xcalloc((size_t)ns, 1);
	struct lattice *lat = sul_xcalloc((size_t)o->levels, sizeof(*lat));
	int level, it, d;

	/*
	 * Shrink: the log-intensity of one voxel per block, the one at its
	 * centre, as ITK's ShrinkImageFilter does for N4.  Not the block's mean:
	 * a mean mixes the tissues of a block into intermediate values, which
	 * flattens the histogram peaks that sharpening relies on, and the
	 * field then absorbs the anatomy's partial-volume pattern (field error
	 * 0.100 with means against 0.086 with centres on bench/preprocess.sh).
	 */
	for (z = 0; z < g.n[2]; z++)
		for (y = 0; y < g.n[1]; y++)
			for (x = 0; x < g.n[0]; x++) {
				int64_t cx = x * s + (s - 1) / 2, cy = y * s + (s - 1) / 2, cz = z * s + (s - 1) / 2, vi, si;
				if (cx >= nx || cy >= ny || cz >= nz)
					continue;
				vi = cx + nx * (cy + ny * cz);
				si = x + g.n[0] * (y + g.n[1] * z);
				if (mask[vi] && v->data[vi] > 0) {
					logv[si] = log(v->data[vi]);
					m[si] = 1;
				}
			}
	for (level = 0; level < o->levels; level++) {
		int spans = o->spans << level;
		lat[level].n[0] = lat[level].n[1] = lat[level].n[2] = spans + 3;
		lat[level].c = sul_xcalloc((size_t)(spans + 3) * (size_t)(spans + 3) * (size_t)(spans + 3), sizeof(double));
		for (it = 0; it < o->iterations; it++) {
			double lo = INFINITY, hi = -INFINITY, s1 = 0, s2 = 0;
			struct lattice step = { { spans + 3, spans + 3, spans + 3 }, NULL };
			int64_t k = 0;
			size_t nc = (size_t)(spans + 3) * (size_t)(spans + 3) * (size_t)(spans + 3);

			for (i = 0; i < ns; i++)
				if (m[i]) {
					u[i] = logv[i] - f[i];
					lo = fmin(lo, u[i]);
					hi = fmax(hi, u[i]);
				}
			if (!(hi > lo))
				break;
			sharpen(u, m, (size_t)ns, o->bins, o->fwhm, lo, hi, map);
			for (i = 0; i < ns; i++)
				r[i] = m[i] ? u[i] - interp_map(map, o->bins, lo, hi, u[i]) : 0;
			step.c = sul_xcalloc(nc, sizeof(double));
			bsa_fit(&g, m, r, &step);
			memset(upd, 0, (size_t)ns * sizeof(double));
			eval_add(&step, &g, upd);
			for (i = 0; i < ns; i++) {
				f[i] += upd[i];
				if (m[i]) {
					s1 += upd[i];
					s2 += upd[i] * upd[i];
					k++;
				}
			}
			for (size_t c = 0; c < nc; c++)
				lat[level].c[c] += step.c[c];
			free(step.c);
			if (k > 1 && sqrt(fmax(s2 / (double)k - (s1 / (double)k) * (s1 / (double)k), 0)) < o->convergence)
				break;
		}
	}
	memset(field, 0, (size_t)(nx * ny * nz) * sizeof(double));
	for (d = 0; d < o->levels; d++) {
		eval_add(&lat[d], &full, field);
		free(lat[d].c);
	}
	free(lat);
	free(logv);
	free(f);
	free(u);
	free(r);
	free(map);
	free(upd);
	free(m);
}

#define MAX_MODS 8

static int same_grid(const struct sul_volume *a, const struct sul_volume *b)
{
	return a->nx == b->nx && a->ny == b->ny && a->nz == b->nz;
}

/* Corrects one image; writes it and its field; appends metrics. */
static int correct_image(const struct sul_stage_ctx *ctx, const struct n4_opts *o, const char *in_dir,
			 const char *sub, const char *mod, const char *rel, const char *mask_rel, const char *wm_rel,
			 struct sul_buf *out_rel, struct sul_err *err)
{
	struct sul_volume v, mv, wm, fv;
	char *path = sul_xasprintf("%s/%s", in_dir, rel), *dst = NULL, *fdst = NULL, *dir = NULL;
	unsigned char *mask = NULL, *wmask = NULL;
	double *field = NULL;
	int64_t n, i;
	int ret = -1;
	char name[256];

	memset(&mv, 0, sizeof(mv));
	memset(&wm, 0, sizeof(wm));
	memset(&fv, 0, sizeof(fv));
	if (sul_volume_read(path, &v, err))
		goto out_path;
	n = v.nx * v.ny * v.nz;
	mask = sul_xcalloc((size_t)n, 1);
	if (mask_rel) {
		char *mp = sul_xasprintf("%s/%s", in_dir, mask_rel);
		int r = sul_volume_read(mp, &mv, err);
		if (!r && !same_grid(&mv, &v))
			r = sul_err_set(err, SUL_ERR_INPUT, "'%s' (%lldx%lldx%lld) and its mask '%s' (%lldx%lldx%lld): "
					"expected the same grid", path, (long long)v.nx, (long long)v.ny, (long long)v.nz,
					mp, (long long)mv.nx, (long long)mv.ny, (long long)mv.nz);
		free(mp);
		if (r)
			goto out;
		for (i = 0; i < n; i++)
			mask[i] = mv.data[i] > 0 && v.data[i] > 0;
	} else {
		sul_intensity_head_mask(&v, mask);
	}
	if (wm_rel) {
		char *wp = sul_xasprintf("%s/%s", in_dir, wm_rel);
		int r = sul_volume_read(wp, &wm, err);
		free(wp);
		if (r)
			goto out;
		if (same_grid(&wm, &v)) {
			wmask = sul_xcalloc((size_t)n, 1);
			for (i = 0; i < n; i++)
				wmask[i] = wm.data[i] > 0 && v.data[i] > 0;
		}
	}
	snprintf(name, sizeof(name), "cov_%s_%s_before", sub, mod);
	if (sul_ctx_metric(ctx, name, -1, cov(v.data, mask, n), err))
		goto out;
	if (wmask) {
		snprintf(name, sizeof(name), "wm_cov_%s_%s_before", sub, mod);
		if (sul_ctx_metric(ctx, name, -1, cov(v.data, wmask, n), err))
			goto out;
	}
	field = sul_xmalloc((size_t)n * sizeof(double));
	n4(&v, mask, o, field);
	sul_volume_like(&fv, &v);
	for (i = 0; i < n; i++) {
		double b = exp(field[i]);
		fv.data[i] = (float)b;
		v.data[i] = (float)(v.data[i] / b);
	}
	snprintf(name, sizeof(name), "cov_%s_%s_after", sub, mod);
	if (sul_ctx_metric(ctx, name, -1, cov(v.data, mask, n), err))
		goto out;
	if (wmask) {
		snprintf(name, sizeof(name), "wm_cov_%s_%s_after", sub, mod);
		if (sul_ctx_metric(ctx, name, -1, cov(v.data, wmask, n), err))
			goto out;
	}
	dir = sul_xasprintf("%s/%s", ctx->out, sub);
	dst = sul_xasprintf("%s/%s_%s.nii.gz", dir, sub, mod);
	fdst = sul_xasprintf("%s/%s_%s_biasfield.nii.gz", dir, sub, mod);
	if (sul_mkdirs(dir, err) || sul_volume_write(dst, &v, SUL_VOL_FLOAT32, err)
	    || sul_volume_write(fdst, &fv, SUL_VOL_FLOAT32, err))
		goto out;
	sul_buf_reset(out_rel);
	sul_buf_addf(out_rel, "%s/%s_%s.nii.gz", sub, sub, mod);
	ret = 0;
out:
	sul_volume_release(&v);
	sul_volume_release(&mv);
	sul_volume_release(&wm);
	sul_volume_release(&fv);
	free(mask);
	free(wmask);
	free(field);
	free(dst);
	free(fdst);
	free(dir);
out_path:
	free(path);
	return ret;
}

static int bias_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	return sul_check_list(ctx, "modalities", MAX_MODS, about, err);
}

static int bias_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	struct n4_opts o = { (int)sul_ctx_int(ctx, "levels"), (int)sul_ctx_int(ctx, "iterations"),
			     (int)sul_ctx_int(ctx, "spans"), (int)sul_ctx_int(ctx, "shrink"),
			     (int)sul_ctx_int(ctx, "bins"), sul_ctx_float(ctx, "fwhm"), sul_ctx_float(ctx, "convergence") };
	const char *in_dir = ctx->inputs[0].dir;
	char *table = sul_xasprintf("%s/%s", in_dir, sul_ctx_str(ctx, "table"));
	char *mods_buf = NULL, *mods[MAX_MODS];
	long mcol[MAX_MODS], mask_col, wm_col;
	size_t nmods = 0, row, c, m;
	struct sul_buf out = SUL_BUF_INIT, rel = SUL_BUF_INIT;
	struct sul_tsv t;
	char *path = NULL;
	int ret = -1;

	memset(&t, 0, sizeof(t));
	if (sul_ctx_list(ctx, "modalities", MAX_MODS, &mods_buf, mods, &nmods, err))
		goto out;
	if (sul_tsv_read(table, &t, err))
		goto out;
	for (m = 0; m < nmods; m++) {
		mcol[m] = sul_tsv_col(&t, mods[m]);
		if (mcol[m] < 0) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: no column '%s' (parameter 'modalities')", table, mods[m]);
			goto out;
		}
	}
	if (sul_tsv_col(&t, "subject") < 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: expected a 'subject' column", table);
		goto out;
	}
	mask_col = sul_tsv_col(&t, "mask");
	wm_col = sul_tsv_col(&t, "wm");
	/* The same table, with corrected images in place of the originals. */
	for (row = 0; row < t.nrows; row++) {
		const char *sub = sul_tsv_at(&t, row, (size_t)sul_tsv_col(&t, "subject"));
		for (c = 0; c < t.ncols; c++) {
			const char *cell = sul_tsv_at(&t, row, c);
			for (m = 0; m < nmods && (long)c != mcol[m]; m++)
				;
			if (row > 0 && m < nmods) {
				if (correct_image(ctx, &o, in_dir, sub, mods[m], cell,
						  mask_col >= 0 ? sul_tsv_at(&t, row, (size_t)mask_col) : NULL,
						  wm_col >= 0 ? sul_tsv_at(&t, row, (size_t)wm_col) : NULL, &rel, err)) {
					sul_err_prefix(err, "subject '%s'", sub);
					goto out;
				}
				cell = rel.buf;
			}
			sul_buf_addf(&out, "%s%s", c ? "\t" : "", cell);
		}
		sul_buf_addc(&out, '\n');
	}
	{
		/* Masks and other files come along unchanged. */
		const char *skip[MAX_MODS + 3] = { "subject", "group", "class" };
		for (m = 0; m < nmods; m++)
			skip[3 + m] = mods[m];
		if (sul_tsv_carry(&t, skip, 3 + nmods, in_dir, ctx->out, err))
			goto out;
	}
	path = sul_xasprintf("%s/subjects.tsv", ctx->out);
	if (sul_write_file_atomic(path, out.buf, out.len, err))
		goto out;
	ret = 0;
out:
	sul_tsv_release(&t);
	sul_buf_release(&out);
	sul_buf_release(&rel);
	free(path);
	free(table);
	free(mods_buf);
	return ret;
}

const struct sul_kind sul_kind_bias_correct = {
	.name = "bias_correct",
	.version = 2,
	.doc = "N4-style bias-field (non-uniformity) correction of every image in subjects.tsv",
	.params = bias_params,
	.check = bias_check,
	.inputs = { 1, 1, "exactly one input (the images' stage)" },
	.run = bias_run,
};
