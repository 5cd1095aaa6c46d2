/*
 * group_maps.c - the `group_maps` kind: every subject's heatmap volumes
 * (from `cam`) brought into template space through the `atlas` stage's
 * warps, and the study's group-level results there.
 *
 * Inputs: an `atlas` stage first (subjects.tsv with the groups,
 * transforms.tsv with each subject's affine and B-spline field, template/
 * with the template's brain, lobes and white-matter tracts), then one or
 * more `cam` stages (volumes/<method>/<subject>_<target>.nii.gz, on each
 * subject's own grid: the grid the atlas registered the template to).
 *
 * Every template brain voxel (on a grid of voxel_mm over the template) is
 * mapped into each subject through the inverse of its warp (warp.h
 * sul_warp_invert) and the heatmap sampled there (trilinear).  A voxel
 * that falls on a slice the cam stage did not compute (slices without
 * brain are dropped, `slices` may keep only some) has no value for that
 * subject: absent, never zero.  The analysis mask is the set of brain
 * voxels where every subject has a value in every map: the permutation
 * test, the consistency figures and the region shares use it, so that all
 * of them compare like with like.
 *
 * Per cam stage, method and group: the mean heatmap and its standard
 * deviation (maps/<cam>/<method>/<group>_mean.nii.gz, _sd.nii.gz, on the
 * template grid: they open over ch2 in any viewer), and per cam stage and
 * method a voxel-wise comparison of the groups (one-way ANOVA F over the
 * subjects, its p family-wise corrected by the maximum statistic over
 * `permutations` shufflings of the group labels, seeded; Nichols & Holmes
 * 2002): F.nii.gz, p_fwe.nii.gz and F_fwe.nii.gz (F where p_fwe < alpha).
 * Tables: group_map_tests (the test per cam and method), map_consistency
 * (mean pairwise Spearman correlation inside the mask: across the subjects
 * of a group, across methods within a subject, across networks within a
 * subject), map_regions (each subject's share of heat per lobe and per
 * white-matter tract) and map_region_tests (per region: the mean share per
 * group and the Kruskal-Wallis test of share against group).
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "rng.h"
#include "stats.h"
#include "tsv.h"
#include "volume.h"
#include "warp.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Methods (subfolders of a cam stage's volumes/) and groups, at most. */
#define MAX_METHODS 32
#define MAX_GROUPS 16
#define MAX_CAMS 64
/* Lobe labels of the template (atlas.c), and their names. */
#define NLOBES 5
static const char *const lobe_names[NLOBES] = { "frontal", "temporal", "parietal", "occipital", "other" };

static const struct sul_param_spec group_maps_params[] = {
	{ "target", SUL_T_STRING, "predicted", 0, 0, NULL,
	  "which of the cam stages' heatmaps: predicted, true, or a class name (with their target = \"all\")" },
	{ "values", SUL_T_STRING, "normalized", 0, 0, "normalized|raw",
	  "the heatmaps min-max normalized per slice (as the cam stage's statistics use them) or raw" },
	{ "voxel_mm", SUL_T_FLOAT, "3", 1, 10, NULL, "voxel size of the template-space grid (whole template voxels)" },
	{ "permutations", SUL_T_INT, "1000", 0, 1000000, NULL,
	  "shufflings of the group labels for the voxel-wise test (0: no test)" },
	{ "alpha", SUL_T_FLOAT, "0.05", 0, 1, NULL, "family-wise error rate of the thresholded F map" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "seed of the permutations" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* One subject: its group and its map from template voxels into its world. */
struct subject {
	char *name;
	int group;
	float *x;          /* 3 per brain voxel: the subject's world point, NaN when the warp did not invert */
};

/* Everything the stage holds at once. */
struct gm {
	const struct sul_stage_ctx *ctx;
	struct sul_volume grid;      /* the template grid at voxel_mm (data unused) */
	int64_t *vox;                /* brain voxels of grid */
	size_t nb;
	unsigned char *lobe, *tract; /* their labels */
	int ntracts;
	char **tract_names;          /* ntracts + 1, [0] unused */
	struct subject *sub;
	size_t nsub;
	char *groups[MAX_GROUPS];
	int ngroups;
	const char *cams[MAX_CAMS];  /* cam stage ids */
	const char *cam_dirs[MAX_CAMS];
	int ncam;
	char *methods[MAX_METHODS];  /* found in every cam stage */
	int nmeth;
	float **maps;                /* [(cam * nmeth + method) * nsub + subject]: nb values, NaN: none */
	unsigned char *mask;         /* nb: every subject has a value in every map */
	size_t nmask;
};

static float **map_at(struct gm *g, int c, int m, size_t s)
{
	return &g->maps[((size_t)c * (size_t)g->nmeth + (size_t)m) * g->nsub + s];
}

/* --- the template grid -------------------------------------------------- */

/* The grid every voxel_mm over the template, its brain voxels and labels. */
static int load_template(struct gm *g, const char *atlas_dir, double voxel_mm, struct sul_err *err)
{
	struct sul_volume brain, lobes, tracts;
	char *pb = sul_xasprintf("%s/template/brain.nii.gz", atlas_dir), *pl = sul_xasprintf("%s/template/lobes.nii.gz", atlas_dir);
	char *pt = sul_xasprintf("%s/template/wm_tracts.nii.gz", atlas_dir);
	char *pn = sul_xasprintf("%s/template/wm_tracts.tsv", atlas_dir);
	struct sul_tsv names;
	int64_t f, x, y, z;
	int a, b, r = -1;

	memset(&brain, 0, sizeof(brain));
	memset(&lobes, 0, sizeof(lobes));
	memset(&tracts, 0, sizeof(tracts));
	memset(&names, 0, sizeof(names));
	if (sul_volume_read(pb, &brain, err) || sul_volume_read(pl, &lobes, err) || sul_volume_read(pt, &tracts, err)
	    || sul_tsv_read(pn, &names, err))
		goto out;
	if (lobes.nx != brain.nx || lobes.ny != brain.ny || lobes.nz != brain.nz || tracts.nx != brain.nx
	    || tracts.ny != brain.ny || tracts.nz != brain.nz) {
		sul_err_set(err, SUL_ERR_INPUT, "%s/template: the brain, lobes and tracts differ in size", atlas_dir);
		goto out;
	}
	f = (int64_t)lrint(voxel_mm / brain.pixdim[0]);
	if (f < 1)
		f = 1;
	g->grid = brain;
	g->grid.data = NULL;
	g->grid.nx = (brain.nx + f - 1) / f;
	g->grid.ny = (brain.ny + f - 1) / f;
	g->grid.nz = (brain.nz + f - 1) / f;
	for (a = 0; a < 3; a++) {
		g->grid.pixdim[a] = brain.pixdim[a] * (double)f;
		for (b = 0; b < 3; b++)
			g->grid.ijk_to_xyz[b][a] = brain.ijk_to_xyz[b][a] * (double)f;
	}
	g->ntracts = 0;
	g->tract_names = sul_xcalloc(256, sizeof(char *));
	for (x = 1; x < (int64_t)names.nrows; x++) {
		long label = strtol(sul_tsv_at(&names, (size_t)x, 0), NULL, 10);
		if (label > 0 && label < 256 && names.ncols > 1) {
			free(g->tract_names[label]);
			g->tract_names[label] = sul_xstrdup(sul_tsv_at(&names, (size_t)x, 1));
			if (label > g->ntracts)
				g->ntracts = (int)label;
		}
	}
	g->vox = sul_xmalloc((size_t)(g->grid.nx * g->grid.ny * g->grid.nz) * sizeof(int64_t));
	g->lobe = sul_xmalloc((size_t)(g->grid.nx * g->grid.ny * g->grid.nz));
	g->tract = sul_xmalloc((size_t)(g->grid.nx * g->grid.ny * g->grid.nz));
	g->nb = 0;
	/* Each grid voxel is the template voxel at its corner (f x, f y, f z):
	 * the grid's geometry says so. */
	for (z = 0; z < g->grid.nz; z++)
		for (y = 0; y < g->grid.ny; y++)
			for (x = 0; x < g->grid.nx; x++) {
				int64_t t = f * x + brain.nx * (f * y + brain.ny * f * z);
				int lt = (int)lrintf(tracts.data[t]);
				if (brain.data[t] <= 0)
					continue;
				g->vox[g->nb] = x + g->grid.nx * (y + g->grid.ny * z);
				g->lobe[g->nb] = (unsigned char)lrintf(lobes.data[t]);
				g->tract[g->nb] = (unsigned char)(lt > 0 && lt <= g->ntracts ? lt : 0);
				g->nb++;
			}
	if (!g->nb) {
		sul_err_set(err, SUL_ERR_INPUT, "'%s': no brain voxel", pb);
		goto out;
	}
	r = 0;
out:
	sul_volume_release(&brain);
	sul_volume_release(&lobes);
	sul_volume_release(&tracts);
	sul_tsv_release(&names);
	free(pb);
	free(pl);
	free(pt);
	free(pn);
	return r;
}

static void grid_world(const struct sul_volume *v, int64_t i, double x[3])
{
	const double ijk[3] = { (double)(i % v->nx), (double)(i / v->nx % v->ny), (double)(i / v->nx / v->ny) };
	int a;

	for (a = 0; a < 3; a++)
		x[a] = v->ijk_to_xyz[a][0] * ijk[0] + v->ijk_to_xyz[a][1] * ijk[1] + v->ijk_to_xyz[a][2] * ijk[2]
		       + v->ijk_to_xyz[a][3];
}

/* --- subjects ----------------------------------------------------------- */

static int group_index(struct gm *g, const char *name, struct sul_err *err)
{
	int k;

	for (k = 0; k < g->ngroups; k++)
		if (!strcmp(g->groups[k], name))
			return k;
	if (g->ngroups == MAX_GROUPS)
		return sul_err_set(err, SUL_ERR_INPUT, "more than %d groups", MAX_GROUPS);
	g->groups[g->ngroups] = sul_xstrdup(name);
	return g->ngroups++;
}

/* Reads the atlas stage's tables and maps every brain voxel into every subject. */
static int load_subjects(struct gm *g, const char *atlas_dir, struct sul_err *err)
{
	char *ps = sul_xasprintf("%s/subjects.tsv", atlas_dir), *pt = sul_xasprintf("%s/transforms.tsv", atlas_dir);
	struct sul_tsv st, tr;
	long sc, gc, wc;
	size_t row, i;
	int r = -1;

	memset(&st, 0, sizeof(st));
	memset(&tr, 0, sizeof(tr));
	if (sul_tsv_read(ps, &st, err) || sul_tsv_read(pt, &tr, err))
		goto out;
	sc = sul_tsv_col(&st, "subject");
	gc = sul_tsv_col(&st, "group");
	wc = sul_tsv_col(&tr, "warp");
	if (sc < 0 || gc < 0 || sul_tsv_col(&tr, "m00") != 1 || wc < 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s, %s: expected the tables of an atlas stage (version 2 or later)", ps, pt);
		goto out;
	}
	g->sub = sul_xcalloc(tr.nrows, sizeof(*g->sub));
	for (row = 1; row < tr.nrows; row++) {
		const char *name = sul_tsv_at(&tr, row, 0), *wrel = sul_tsv_at(&tr, row, (size_t)wc);
		struct subject *s = &g->sub[g->nsub];
		struct sul_affine af;
		struct sul_warp w;
		size_t srow;
		int a, b;

		for (srow = 1; srow < st.nrows && strcmp(sul_tsv_at(&st, srow, (size_t)sc), name); srow++)
			;
		if (srow == st.nrows) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: subject '%s' is not in %s", pt, name, ps);
			goto out;
		}
		s->name = sul_xstrdup(name);
		s->group = group_index(g, sul_tsv_at(&st, srow, (size_t)gc), err);
		g->nsub++;
		if (s->group < 0)
			goto out;
		memset(&af, 0, sizeof(af));
		for (a = 0; a < 3; a++) {
			for (b = 0; b < 3; b++)
				af.a[a][b] = strtod(sul_tsv_at(&tr, row, (size_t)(1 + 3 * a + b)), NULL);
			af.t[a] = strtod(sul_tsv_at(&tr, row, (size_t)(10 + a)), NULL);
			af.center[a] = strtod(sul_tsv_at(&tr, row, (size_t)(13 + a)), NULL);
		}
		if (*wrel) {
			char *prefix = sul_xasprintf("%s/%s", atlas_dir, wrel);
			int bad = sul_warp_read(prefix, &af, &w, err);
			free(prefix);
			if (bad)
				goto out;
		} else {
			/* affine only: a zero field on any grid */
			struct sul_volume one;
			memset(&one, 0, sizeof(one));
			one.nx = one.ny = one.nz = 4;
			one.pixdim[0] = one.pixdim[1] = one.pixdim[2] = 1;
			for (a = 0; a < 4; a++)
				one.ijk_to_xyz[a][a] = 1;
			sul_warp_from_affine(&af, &one, 100, &w);
		}
		s->x = sul_xmalloc(g->nb * 3 * sizeof(float));
		for (i = 0; i < g->nb; i++) {
			double y[3], x[3];
			grid_world(&g->grid, g->vox[i], y);
			if (sul_warp_invert(&w, y, x)) {
				s->x[3 * i] = s->x[3 * i + 1] = s->x[3 * i + 2] = NAN;
			} else {
				s->x[3 * i] = (float)x[0];
				s->x[3 * i + 1] = (float)x[1];
				s->x[3 * i + 2] = (float)x[2];
			}
		}
		sul_warp_release(&w);
	}
	if (!g->nsub) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: no subject", pt);
		goto out;
	}
	r = 0;
out:
	sul_tsv_release(&st);
	sul_tsv_release(&tr);
	free(ps);
	free(pt);
	return r;
}

/* --- heatmaps ----------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The methods: the subfolders of the first cam stage's volumes/ that every
 * other cam stage has too. */
static int find_methods(struct gm *g, struct sul_err *err)
{
	char *dir = sul_xasprintf("%s/volumes", g->cam_dirs[0]);
	DIR *d = opendir(dir);
	struct dirent *e;
	int c, m;

	if (!d) {
		sul_err_set(err, SUL_ERR_INPUT, "'%s': no heatmap volumes (the cam stage writes them when its slices "
			    "stage kept its reference volumes)", dir);
		free(dir);
		return -1;
	}
	while ((e = readdir(d)) && g->nmeth < MAX_METHODS) {
		int everywhere = e->d_name[0] != '.';
		for (c = 1; c < g->ncam && everywhere; c++) {
			char *p = sul_xasprintf("%s/volumes/%s", g->cam_dirs[c], e->d_name);
			struct stat st;
			everywhere = stat(p, &st) == 0 && S_ISDIR(st.st_mode);
			free(p);
		}
		if (everywhere)
			g->methods[g->nmeth++] = sul_xstrdup(e->d_name);
	}
	closedir(d);
	free(dir);
	qsort(g->methods, (size_t)g->nmeth, sizeof(char *), cmp_str);
	m = g->nmeth;
	if (!m)
		return sul_err_set(err, SUL_ERR_INPUT, "no heatmap method that every cam input has");
	return 0;
}

/* Samples one heatmap volume at every brain voxel of subject s: NaN where
 * the point is off the volume or on a slice with no heatmap. */
static int sample(const struct gm *g, const struct subject *s, const char *path, float *out, struct sul_err *err)
{
	struct sul_volume v;
	unsigned char *has;
	double inv[3][4];
	int64_t k, plane;
	size_t i;

	if (sul_volume_read(path, &v, err))
		return -1;
	if (v.nx < 2 || v.ny < 2 || v.nz < 2) {
		sul_volume_release(&v);
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': expected a volume of at least 2 voxels along each axis", path);
	}
	plane = v.nx * v.ny;
	has = sul_xcalloc((size_t)v.nz, 1);
	for (k = 0; k < v.nz; k++) {
		int64_t p;
		for (p = 0; p < plane && !has[k]; p++)
			has[k] = v.data[k * plane + p] != 0;
	}
	sul_affine_inverse(v.ijk_to_xyz, inv);
	for (i = 0; i < g->nb; i++) {
		const float *x = s->x + 3 * i;
		double u[3], f[3], acc = 0;
		int64_t i0[3];
		int a, corner, ok = !isnan(x[0]);

		for (a = 0; a < 3 && ok; a++) {
			u[a] = inv[a][0] * x[0] + inv[a][1] * x[1] + inv[a][2] * x[2] + inv[a][3];
			i0[a] = (int64_t)floor(u[a]);
			f[a] = u[a] - (double)i0[a];
			ok = u[a] >= 0 && u[a] <= (double)((a == 0 ? v.nx : a == 1 ? v.ny : v.nz) - 1);
		}
		if (ok) {
			/* the top edge: the last voxel, weight 1 */
			if (i0[0] == v.nx - 1) { i0[0]--; f[0] = 1; }
			if (i0[1] == v.ny - 1) { i0[1]--; f[1] = 1; }
			if (i0[2] == v.nz - 1) { i0[2]--; f[2] = 1; }
			ok = has[i0[2]] && has[i0[2] + 1];
		}
		if (!ok) {
			out[i] = NAN;
			continue;
		}
		for (corner = 0; corner < 8; corner++) {
			int dx = corner & 1, dy = corner >> 1 & 1, dz = corner >> 2;
			double w = (dx ? f[0] : 1 - f[0]) * (dy ? f[1] : 1 - f[1]) * (dz ? f[2] : 1 - f[2]);
			acc += w * v.data[(i0[0] + dx) + v.nx * ((i0[1] + dy) + v.ny * (i0[2] + dz))];
		}
		out[i] = (float)acc;
	}
	free(has);
	sul_volume_release(&v);
	return 0;
}

/* Every map of every subject; then the mask where all have a value. */
static int load_maps(struct gm *g, struct sul_err *err)
{
	const char *target = sul_ctx_str(g->ctx, "target");
	const int raw = !strcmp(sul_ctx_str(g->ctx, "values"), "raw");
	size_t s, i, nmaps = (size_t)g->ncam * (size_t)g->nmeth * g->nsub;
	int c, m;

	g->maps = sul_xcalloc(nmaps, sizeof(float *));
	g->mask = sul_xmalloc(g->nb);
	memset(g->mask, 1, g->nb);
	for (c = 0; c < g->ncam; c++)
		for (m = 0; m < g->nmeth; m++)
			for (s = 0; s < g->nsub; s++) {
				char *p = sul_xasprintf("%s/volumes/%s/%s_%s%s.nii.gz", g->cam_dirs[c], g->methods[m],
							g->sub[s].name, target, raw ? "_raw" : "");
				float *v;
				int bad;
				if (!sul_path_exists(p)) {
					sul_err_set(err, SUL_ERR_INPUT, "input '%s': no heatmap '%s' for subject '%s' of the "
						    "atlas stage (cam ran on other subjects? its split and subjects parameters "
						    "choose them)", g->cams[c], p, g->sub[s].name);
					free(p);
					return -1;
				}
				v = *map_at(g, c, m, s) = sul_xmalloc(g->nb * sizeof(float));
				bad = sample(g, &g->sub[s], p, v, err);
				free(p);
				if (bad)
					return -1;
				for (i = 0; i < g->nb; i++)
					if (isnan(v[i]))
						g->mask[i] = 0;
			}
	g->nmask = 0;
	for (i = 0; i < g->nb; i++)
		g->nmask += g->mask[i];
	return 0;
}

/* --- outputs ------------------------------------------------------------ */

/* Writes nb values (NaN as 0) as a volume of the template grid. */
static int write_map(const struct gm *g, const char *rel, const double *val, struct sul_err *err)
{
	struct sul_volume v = g->grid;
	char *path = sul_xasprintf("%s/%s", g->ctx->out, rel), *dir = sul_xstrdup(path);
	size_t i;
	int r;

	*strrchr(dir, '/') = 0;
	v.data = sul_xcalloc((size_t)(v.nx * v.ny * v.nz), sizeof(float));
	for (i = 0; i < g->nb; i++)
		v.data[g->vox[i]] = isnan(val[i]) ? 0.0f : (float)val[i];
	r = sul_mkdirs(dir, err) || sul_volume_write(path, &v, SUL_VOL_FLOAT32, err) ? -1 : 0;
	free(v.data);
	free(path);
	free(dir);
	return r;
}

/* Mean and standard deviation per group of one cam stage and method. */
static int group_means(struct gm *g, int c, int m, struct sul_err *err)
{
	double *mean = sul_xmalloc(g->nb * sizeof(double)), *sd = sul_xmalloc(g->nb * sizeof(double));
	size_t i, s;
	int k, r = 0;

	for (k = 0; k < g->ngroups && !r; k++) {
		char *rel;
		for (i = 0; i < g->nb; i++) {
			double sum = 0, sq = 0;
			size_t n = 0;
			for (s = 0; s < g->nsub; s++) {
				float v = (*map_at(g, c, m, s))[i];
				if (g->sub[s].group != k || isnan(v))
					continue;
				sum += v;
				sq += (double)v * v;
				n++;
			}
			mean[i] = n ? sum / (double)n : NAN;
			sd[i] = n > 1 ? sqrt(fmax(0, (sq - sum * sum / (double)n) / (double)(n - 1))) : NAN;
		}
		rel = sul_xasprintf("maps/%s/%s/%s_mean.nii.gz", g->cams[c], g->methods[m], g->groups[k]);
		r = write_map(g, rel, mean, err);
		free(rel);
		if (r)
			break;
		rel = sul_xasprintf("maps/%s/%s/%s_sd.nii.gz", g->cams[c], g->methods[m], g->groups[k]);
		r = write_map(g, rel, sd, err);
		free(rel);
	}
	free(mean);
	free(sd);
	return r;
}

/*
 * One-way ANOVA F at each masked voxel for the group labels lab (nsub),
 * from the data matrix d (nsub rows of nv values).  total[v] is the
 * total sum of squares, which no permutation changes.
 */
static void anova_f(const float *d, size_t nsub, size_t nv, const int *lab, int ngroups, const double *grand,
		    const double *total, double *sums, double *f)
{
	size_t counts[MAX_GROUPS] = { 0 }, s, v;
	int k, used = 0;

	memset(sums, 0, (size_t)ngroups * nv * sizeof(double));
	for (s = 0; s < nsub; s++) {
		double *row = sums + (size_t)lab[s] * nv;
		const float *x = d + s * nv;
		counts[lab[s]]++;
		for (v = 0; v < nv; v++)
			row[v] += x[v];
	}
	for (k = 0; k < ngroups; k++)
		used += counts[k] > 0;
	for (v = 0; v < nv; v++) {
		double between = 0, within;
		for (k = 0; k < ngroups; k++)
			if (counts[k]) {
				double mk = sums[(size_t)k * nv + v] / (double)counts[k] - grand[v];
				between += (double)counts[k] * mk * mk;
			}
		within = total[v] - between;
		f[v] = within > 1e-12 * total[v] && within > 0
			       ? (between / (double)(used - 1)) / (within / (double)(nsub - (size_t)used))
			       : (between > 0 ? INFINITY : 0);
	}
}

/* The voxel-wise permutation test of one cam stage and method. */
static int permutation_test(struct gm *g, int c, int m, struct sul_buf *tests, struct sul_err *err)
{
	const long nperm = (long)sul_ctx_int(g->ctx, "permutations");
	const double alpha = sul_ctx_float(g->ctx, "alpha");
	size_t nv = g->nmask, s, i, v, per[MAX_GROUPS] = { 0 }, nsig = 0;
	int lab[4096], k, ntest = 0, r = -1;
	float *d;
	double *grand, *total, *sums, *f, *fp, *pmap, *fmap, f_max = 0, pmin = 1;
	long *exceed, p;
	struct sul_rng rng;

	for (s = 0; s < g->nsub; s++)
		per[g->sub[s].group]++;
	for (k = 0; k < g->ngroups; k++)
		ntest += per[k] >= 2;
	if (nperm == 0 || ntest < 2 || nv < 1 || g->nsub > 4096) {
		sul_buf_addf(tests, "%s\t%s\t%d\t%zu\t%zu\t\t\t\t%ld\t%s\n", g->cams[c], g->methods[m], ntest, g->nsub,
			     nv, nperm, nperm == 0 ? "permutations = 0" : nv < 1 ? "no voxel where every subject has a map"
			     : g->nsub > 4096 ? "more than 4096 subjects" : "fewer than two groups with two subjects");
		return 0;
	}
	d = sul_xmalloc(g->nsub * nv * sizeof(float));
	grand = sul_xcalloc(nv, sizeof(double));
	total = sul_xcalloc(nv, sizeof(double));
	sums = sul_xmalloc((size_t)g->ngroups * nv * sizeof(double));
	f = sul_xmalloc(nv * sizeof(double));
	fp = sul_xmalloc(nv * sizeof(double));
	exceed = sul_xcalloc(nv, sizeof(long));
	for (s = 0; s < g->nsub; s++) {
		const float *map = *map_at(g, c, m, s);
		lab[s] = g->sub[s].group;
		for (i = 0, v = 0; i < g->nb; i++)
			if (g->mask[i])
				d[s * nv + v++] = map[i];
	}
	for (v = 0; v < nv; v++) {
		for (s = 0; s < g->nsub; s++)
			grand[v] += d[s * nv + v];
		grand[v] /= (double)g->nsub;
		for (s = 0; s < g->nsub; s++)
			total[v] += (d[s * nv + v] - grand[v]) * (d[s * nv + v] - grand[v]);
	}
	anova_f(d, g->nsub, nv, lab, g->ngroups, grand, total, sums, f);
	sul_rng_seed(&rng, (uint64_t)sul_ctx_int(g->ctx, "seed"));
	for (p = 0; p < nperm; p++) {
		double mx = 0;
		for (s = g->nsub - 1; s > 0; s--) {  /* Fisher-Yates */
			size_t j = (size_t)sul_rng_below(&rng, s + 1);
			int t = lab[s];
			lab[s] = lab[j];
			lab[j] = t;
		}
		anova_f(d, g->nsub, nv, lab, g->ngroups, grand, total, sums, fp);
		for (v = 0; v < nv; v++)
			mx = fmax(mx, fp[v]);
		for (v = 0; v < nv; v++)
			exceed[v] += mx >= f[v];
	}
	pmap = sul_xmalloc(g->nb * sizeof(double));
	fmap = sul_xmalloc(g->nb * sizeof(double));
	for (i = 0, v = 0; i < g->nb; i++) {
		if (!g->mask[i]) {
			pmap[i] = fmap[i] = NAN;
			continue;
		}
		pmap[i] = (double)(1 + exceed[v]) / (double)(nperm + 1);
		fmap[i] = f[v];
		f_max = fmax(f_max, f[v]);
		pmin = fmin(pmin, pmap[i]);
		nsig += pmap[i] < alpha;
		v++;
	}
	{
		char *r1 = sul_xasprintf("maps/%s/%s/F.nii.gz", g->cams[c], g->methods[m]);
		char *r2 = sul_xasprintf("maps/%s/%s/p_fwe.nii.gz", g->cams[c], g->methods[m]);
		char *r3 = sul_xasprintf("maps/%s/%s/F_fwe.nii.gz", g->cams[c], g->methods[m]);
		int bad = write_map(g, r1, fmap, err) || write_map(g, r2, pmap, err);
		for (i = 0; i < g->nb && !bad; i++)
			if (!(pmap[i] < alpha))
				fmap[i] = NAN;
		bad = bad || write_map(g, r3, fmap, err);
		free(r1);
		free(r2);
		free(r3);
		if (bad)
			goto out;
	}
	sul_buf_addf(tests, "%s\t%s\t%d\t%zu\t%zu\t%.6g\t%.6g\t%zu\t%ld\t\n", g->cams[c], g->methods[m], ntest, g->nsub, nv,
		     f_max, pmin, nsig, nperm);
	r = 0;
out:
	free(d);
	free(grand);
	free(total);
	free(sums);
	free(f);
	free(fp);
	free(exceed);
	free(pmap);
	free(fmap);
	return r;
}

/* The masked values of a map. */
static void masked(const struct gm *g, const float *map, float *out)
{
	size_t i, v = 0;

	for (i = 0; i < g->nb; i++)
		if (g->mask[i])
			out[v++] = map[i];
}

/* Spearman of two maps inside the mask. */
static double masked_spearman(const struct gm *g, const float *a, const float *b, float *sa, float *sb)
{
	masked(g, a, sa);
	masked(g, b, sb);
	return sul_spearman(sa, sb, g->nmask);
}

static void consistency_row(struct sul_buf *out, const char *across, const char *cam, const char *method,
			    const char *group, const char *pair, double sum, size_t n)
{
	sul_buf_addf(out, "%s\t%s\t%s\t%s\t%s\t", across, cam, method, group, pair);
	if (n)
		sul_buf_addf(out, "%.6f\t%zu\n", sum / (double)n, n);
	else
		sul_buf_adds(out, "\t0\n");
}

/* The sum of the Spearman correlations, over the subjects of group k, of
 * each one's map of (c1, m1) with its map of (c2, m2); *n gets how many
 * were defined. */
static double within_subjects(struct gm *g, int k, int c1, int m1, int c2, int m2, float *sa, float *sb, size_t *n)
{
	double sum = 0;
	size_t s;

	*n = 0;
	for (s = 0; s < g->nsub; s++) {
		double rho;
		if (g->sub[s].group != k)
			continue;
		rho = masked_spearman(g, *map_at(g, c1, m1, s), *map_at(g, c2, m2, s), sa, sb);
		if (!isnan(rho)) {
			sum += rho;
			(*n)++;
		}
	}
	return sum;
}

/* Mean pairwise Spearman: across subjects of a group, across methods and
 * across networks within a subject, per group. */
static void consistency(struct gm *g, struct sul_buf *out)
{
	float *sa = sul_xmalloc((g->nmask + 1) * sizeof(float)), *sb = sul_xmalloc((g->nmask + 1) * sizeof(float));
	size_t s, t;
	int c, c2, m, m2, k;

	for (c = 0; c < g->ncam; c++)
		for (m = 0; m < g->nmeth; m++)
			for (k = 0; k < g->ngroups; k++) {
				double sum = 0;
				size_t n = 0;
				for (s = 0; s < g->nsub; s++)
					for (t = s + 1; t < g->nsub; t++) {
						double rho;
						if (g->sub[s].group != k || g->sub[t].group != k)
							continue;
						rho = masked_spearman(g, *map_at(g, c, m, s), *map_at(g, c, m, t), sa, sb);
						if (!isnan(rho)) {
							sum += rho;
							n++;
						}
					}
				consistency_row(out, "subjects", g->cams[c], g->methods[m], g->groups[k], "", sum, n);
			}
	for (c = 0; c < g->ncam; c++)
		for (m = 0; m < g->nmeth; m++)
			for (m2 = m + 1; m2 < g->nmeth; m2++)
				for (k = 0; k < g->ngroups; k++) {
					char *pair = sul_xasprintf("%s~%s", g->methods[m], g->methods[m2]);
					size_t n;
					double sum = within_subjects(g, k, c, m, c, m2, sa, sb, &n);
					consistency_row(out, "methods", g->cams[c], "", g->groups[k], pair, sum, n);
					free(pair);
				}
	for (m = 0; m < g->nmeth; m++)
		for (c = 0; c < g->ncam; c++)
			for (c2 = c + 1; c2 < g->ncam; c2++)
				for (k = 0; k < g->ngroups; k++) {
					char *pair = sul_xasprintf("%s~%s", g->cams[c], g->cams[c2]);
					size_t n;
					double sum = within_subjects(g, k, c, m, c2, m, sa, sb, &n);
					consistency_row(out, "networks", "", g->methods[m], g->groups[k], pair, sum, n);
					free(pair);
				}
	free(sa);
	free(sb);
}

/* --- regions ------------------------------------------------------------ */

/* Kruskal-Wallis H of x[0..n) by group g[0..n) (tie-corrected) and its
 * chi-square p with (groups present - 1) degrees of freedom; NaN when
 * fewer than two groups or no spread. */
static void kruskal_wallis(const double *x, const int *grp, size_t n, int ngroups, double *h, double *p)
{
	double *rank = sul_xmalloc((n + 1) * sizeof(double)), rsum[MAX_GROUPS] = { 0 }, ties = 0;
	size_t cnt[MAX_GROUPS] = { 0 }, i, j;
	int k, present = 0;

	for (i = 0; i < n; i++) {  /* average ranks, O(n^2): a few dozen subjects */
		size_t below = 0, equal = 0;
		for (j = 0; j < n; j++) {
			below += x[j] < x[i];
			equal += x[j] == x[i];
		}
		rank[i] = (double)below + (double)(equal + 1) / 2;
		ties += (double)equal * equal - 1;  /* sum over tie groups of t^3 - t, one t^2 - 1 per member */
		rsum[grp[i]] += rank[i];
		cnt[grp[i]]++;
	}
	for (k = 0; k < ngroups; k++)
		present += cnt[k] > 0;
	*h = *p = NAN;
	if (present >= 2 && n > (size_t)present) {
		double nn = (double)n, s = 0, corr = 1 - ties / (nn * nn * nn - nn);
		for (k = 0; k < ngroups; k++)
			if (cnt[k])
				s += rsum[k] * rsum[k] / (double)cnt[k];
		if (corr > 0) {
			*h = (12 / (nn * (nn + 1)) * s - 3 * (nn + 1)) / corr;
			*p = sul_gamma_q((present - 1) / 2.0, fmax(0, *h) / 2);
		}
	}
	free(rank);
}

/* Each subject's share of heat per region inside the mask, and per region
 * the mean share per group and the Kruskal-Wallis test. */
static void regions(struct gm *g, int c, int m, int tracts, struct sul_buf *rows, struct sul_buf *tests)
{
	const unsigned char *lab = tracts ? g->tract : g->lobe;
	const int nreg = tracts ? g->ntracts : NLOBES;
	const char *atlas = tracts ? "wm_tracts" : "lobes";
	double *share = sul_xmalloc((size_t)(nreg + 1) * g->nsub * sizeof(double)), *vol = sul_xcalloc((size_t)nreg + 1, sizeof(double));
	int *grp = sul_xmalloc((g->nsub + 1) * sizeof(int)), l, k;
	size_t s, i;

	for (i = 0; i < g->nb; i++)
		if (g->mask[i] && lab[i] && lab[i] <= nreg)
			vol[lab[i]] += 1.0 / (double)g->nmask;
	for (s = 0; s < g->nsub; s++) {
		const float *map = *map_at(g, c, m, s);
		double total = 0, *sh = share + (size_t)(nreg + 1) * s;
		memset(sh, 0, (size_t)(nreg + 1) * sizeof(double));
		for (i = 0; i < g->nb; i++)
			if (g->mask[i]) {
				total += map[i];
				if (lab[i] && lab[i] <= nreg)
					sh[lab[i]] += map[i];
			}
		grp[s] = g->sub[s].group;
		for (l = 1; l <= nreg; l++) {
			const char *name = tracts ? g->tract_names[l] : lobe_names[l - 1];
			sh[l] = total > 0 ? sh[l] / total : NAN;
			if (vol[l] <= 0)
				continue;  /* not in the mask: nothing to say */
			sul_buf_addf(rows, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t", g->cams[c], g->methods[m], g->sub[s].name,
				     g->groups[grp[s]], atlas, l, name ? name : "");
			if (isnan(sh[l]))
				sul_buf_addf(rows, "\t%.6f\n", vol[l]);
			else
				sul_buf_addf(rows, "%.6f\t%.6f\n", sh[l], vol[l]);
		}
	}
	for (l = 1; l <= nreg; l++) {
		const char *name = tracts ? g->tract_names[l] : lobe_names[l - 1];
		double *x = sul_xmalloc((g->nsub + 1) * sizeof(double)), h, p;
		int *gg = sul_xmalloc((g->nsub + 1) * sizeof(int));
		size_t n = 0;
		if (vol[l] <= 0) {
			free(x);
			free(gg);
			continue;
		}
		for (s = 0; s < g->nsub; s++)
			if (!isnan(share[(size_t)(nreg + 1) * s + (size_t)l])) {
				x[n] = share[(size_t)(nreg + 1) * s + (size_t)l];
				gg[n++] = grp[s];
			}
		kruskal_wallis(x, gg, n, g->ngroups, &h, &p);
		for (k = 0; k < g->ngroups; k++) {
			double sum = 0, sq = 0;
			size_t nk = 0, j;
			for (j = 0; j < n; j++)
				if (gg[j] == k) {
					sum += x[j];
					sq += x[j] * x[j];
					nk++;
				}
			sul_buf_addf(tests, "%s\t%s\t%s\t%d\t%s\t%s\t%zu\t", g->cams[c], g->methods[m], atlas, l, name ? name : "",
				     g->groups[k], nk);
			if (nk)
				sul_buf_addf(tests, "%.6f\t", sum / (double)nk);
			else
				sul_buf_adds(tests, "\t");
			if (nk > 1)
				sul_buf_addf(tests, "%.6f\t", sqrt(fmax(0, (sq - sum * sum / (double)nk) / (double)(nk - 1))));
			else
				sul_buf_adds(tests, "\t");
			sul_buf_addf(tests, "%.6f\t", vol[l]);
			if (isnan(h))
				sul_buf_adds(tests, "\t\n");
			else
				sul_buf_addf(tests, "%.6f\t%.6g\n", h, p);
		}
		free(x);
		free(gg);
	}
	free(share);
	free(vol);
	free(grp);
}

/* --- the kind ----------------------------------------------------------- */

static void gm_release(struct gm *g)
{
	size_t s, n = (size_t)g->ncam * (size_t)g->nmeth * g->nsub;
	int k;

	if (g->maps)
		for (s = 0; s < n; s++)
			free(g->maps[s]);
	free(g->maps);
	for (s = 0; s < g->nsub; s++) {
		free(g->sub[s].name);
		free(g->sub[s].x);
	}
	free(g->sub);
	for (k = 0; k < g->ngroups; k++)
		free(g->groups[k]);
	for (k = 0; k < g->nmeth; k++)
		free(g->methods[k]);
	if (g->tract_names)
		for (k = 0; k < 256; k++)
			free(g->tract_names[k]);
	free(g->tract_names);
	free(g->vox);
	free(g->lobe);
	free(g->tract);
	free(g->mask);
}

static int group_maps_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	struct sul_buf tests = SUL_BUF_INIT, cons = SUL_BUF_INIT, rows = SUL_BUF_INIT, rtests = SUL_BUF_INIT;
	struct gm g;
	size_t i;
	int c, m, r = -1;

	memset(&g, 0, sizeof(g));
	g.ctx = ctx;
	for (i = 1; i < ctx->ninputs && g.ncam < MAX_CAMS; i++) {
		g.cams[g.ncam] = ctx->inputs[i].id;
		g.cam_dirs[g.ncam++] = ctx->inputs[i].dir;
	}
	if (load_template(&g, ctx->inputs[0].dir, sul_ctx_float(ctx, "voxel_mm"), err)
	    || load_subjects(&g, ctx->inputs[0].dir, err) || find_methods(&g, err) || load_maps(&g, err))
		goto out;
	fprintf(stderr, "group_maps: %zu subjects in %d groups, %d cam inputs x %d methods; %zu of %zu template brain "
		"voxels have a map of every subject\n", g.nsub, g.ngroups, g.ncam, g.nmeth, g.nmask, g.nb);
	if (sul_ctx_metric(ctx, "brain_voxels", -1, (double)g.nb, err)
	    || sul_ctx_metric(ctx, "mask_voxels", -1, (double)g.nmask, err))
		goto out;
	sul_buf_adds(&tests, "cam\tmethod\tgroups\tsubjects\tvoxels\tf_max\tp_fwe_min\tvoxels_significant\tpermutations"
			     "\tnote\n");
	sul_buf_adds(&cons, "across\tcam\tmethod\tgroup_name\tpair\tspearman\tpairs\n");
	sul_buf_adds(&rows, "cam\tmethod\tsubject\tgroup_name\tatlas\tlabel\tregion\tshare\tvolume_share\n");
	sul_buf_adds(&rtests, "cam\tmethod\tatlas\tlabel\tregion\tgroup_name\tsubjects\tshare_mean\tshare_sd\tvolume_share"
			      "\tkruskal_h\tp\n");
	for (c = 0; c < g.ncam; c++)
		for (m = 0; m < g.nmeth; m++) {
			fprintf(stderr, "progress: %s %s: group means, test, regions\n", g.cams[c], g.methods[m]);
			if (group_means(&g, c, m, err) || permutation_test(&g, c, m, &tests, err))
				goto out;
			if (g.nmask) {
				regions(&g, c, m, 0, &rows, &rtests);
				regions(&g, c, m, 1, &rows, &rtests);
			}
		}
	if (g.nmask)
		consistency(&g, &cons);
	if (sul_ctx_table(ctx, "group_map_tests", &tests, err) || sul_ctx_table(ctx, "map_consistency", &cons, err)
	    || sul_ctx_table(ctx, "map_regions", &rows, err) || sul_ctx_table(ctx, "map_region_tests", &rtests, err))
		goto out;
	r = 0;
out:
	gm_release(&g);
	sul_buf_release(&tests);
	sul_buf_release(&cons);
	sul_buf_release(&rows);
	sul_buf_release(&rtests);
	return r;
}

/* The first input an atlas stage, the others cam stages. */
static int group_maps_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	size_t i;

	(void)about;
	if (strcmp(ctx->inputs[0].kind, "atlas"))
		return sul_err_set(err, SUL_ERR_INPUT, "input '%s' is a %s stage: expected the atlas stage first, then "
				   "cam stages", ctx->inputs[0].id, ctx->inputs[0].kind);
	for (i = 1; i < ctx->ninputs; i++)
		if (strcmp(ctx->inputs[i].kind, "cam"))
			return sul_err_set(err, SUL_ERR_INPUT, "input '%s' is a %s stage: expected cam stages after the "
					   "atlas stage", ctx->inputs[i].id, ctx->inputs[i].kind);
	return 0;
}

static const struct sul_table_spec group_maps_tables[] = {
	{ "group_map_tests", "per cam stage and method: the voxel-wise group comparison in template space",
	  "cam                TEXT NOT NULL,  -- the cam stage\n"
	  "  method             TEXT NOT NULL,\n"
	  "  groups             INTEGER,        -- groups with two subjects or more\n"
	  "  subjects           INTEGER,\n"
	  "  voxels             INTEGER,        -- template voxels tested: every subject has a map there\n"
	  "  f_max              REAL,           -- the largest one-way ANOVA F\n"
	  "  p_fwe_min          REAL,           -- its family-wise p by the maximum statistic over permutations\n"
	  "  voxels_significant INTEGER,        -- voxels with p_fwe < alpha\n"
	  "  permutations       INTEGER,\n"
	  "  note               TEXT            -- why no test, when there is none",
	  "cam, method" },
	{ "map_consistency", "mean pairwise Spearman correlation of heatmaps in template space",
	  "across     TEXT NOT NULL,  -- subjects (of a group), methods or networks (within a subject)\n"
	  "  cam        TEXT,           -- the cam stage (across subjects, methods)\n"
	  "  method     TEXT,           -- (across subjects, networks)\n"
	  "  group_name TEXT,\n"
	  "  pair       TEXT,           -- the two methods or cam stages compared (across methods, networks)\n"
	  "  spearman   REAL,           -- mean over pairs of subjects, or over subjects\n"
	  "  pairs      INTEGER         -- how many correlations the mean is of",
	  "across" },
	{ "map_regions", "one subject's share of heat on one atlas region, in template space",
	  "cam          TEXT NOT NULL,\n"
	  "  method       TEXT NOT NULL,\n"
	  "  subject      TEXT NOT NULL,\n"
	  "  group_name   TEXT,\n"
	  "  atlas        TEXT NOT NULL,  -- lobes or wm_tracts\n"
	  "  label        INTEGER,\n"
	  "  region       TEXT,\n"
	  "  share        REAL,           -- heat on the region / heat on the analysis mask\n"
	  "  volume_share REAL            -- the region's share of the mask: what a uniform map would give",
	  "cam, method, atlas" },
	{ "map_region_tests", "per region and group: the mean share of heat, and the test of share against group",
	  "cam          TEXT NOT NULL,\n"
	  "  method       TEXT NOT NULL,\n"
	  "  atlas        TEXT NOT NULL,\n"
	  "  label        INTEGER,\n"
	  "  region       TEXT,\n"
	  "  group_name   TEXT,\n"
	  "  subjects     INTEGER,\n"
	  "  share_mean   REAL,\n"
	  "  share_sd     REAL,\n"
	  "  volume_share REAL,\n"
	  "  kruskal_h    REAL,           -- Kruskal-Wallis H of share against group (the same on each group's row)\n"
	  "  p            REAL            -- its chi-square p",
	  "cam, method, atlas" },
	{ NULL, NULL, NULL, NULL },
};

const struct sul_kind sul_kind_group_maps = {
	.name = "group_maps",
	.version = 1,
	.doc = "heatmaps of cam stages in template space through the atlas stage's warps: group means, a "
	       "voxel-wise permutation test, consistency and region shares",
	.params = group_maps_params,
	.inputs = { 2, 1000, "the atlas stage, then one or more cam stages", "atlas|cam" },
	.tables = group_maps_tables,
	.check = group_maps_check,
	.run = group_maps_run,
};
