/*
 * synth.c - the `synth` kind: a synthetic MS cohort built on real anatomy,
 * written as a BIDS folder that `ingest` reads, with its ground truth.
 *
 * The anatomy is the Colin27 single-subject brain shipped by Debian's
 * mricron-data (ch2 T1, ch2bet brain, AAL labels on one 181x217x181 1 mm
 * grid).  Once per run: tissue classes by k-means of the brain's T1
 * intensities, lobes from AAL (thousands digit of the code: 2 frontal,
 * 5 occipital, 6 parietal, 8 temporal, the rest "other"; filled into the
 * white matter by nearest label), ventricles, and distance maps.  Per
 * subject: a random size change and smooth deformation (or, with
 * deform_wavelength_mm, local deformations at 1-2 times that wavelength:
 * small sine warps composed, each too gentle to fold, so the whole never
 * does, as real heads differ from each other); white-matter lesions
 * whose load and location depend on the group (RRMS: periventricular and
 * juxtacortical; SPMS: more and larger, enlarged ventricles, atrophy; HC:
 * none or a few tiny ones); T2 and FLAIR from tissue classes (CSF bright on
 * T2, dark on FLAIR; lesions dark on T1, bright on T2 and FLAIR); a smooth
 * multiplicative bias field per image; Rician noise; a small rigid
 * misalignment of T2 and FLAIR against T1.
 *
 * It is not patient data, and does not pretend to be: it is a test bed where
 * the evidence (lesions) and its location (lobes) are known.  `evidence`
 * narrows what tells the groups apart, down to a known answer: with
 * "focal", a cluster of lesions in the occipital white matter of every
 * RRMS subject and in the frontal of every SPMS subject, and nothing else
 * (no other lesion, no atrophy, no ventricle change), so a model that
 * tells the groups apart can only be looking there.  Deterministic for a
 * seed.
 *
 * This file holds the kind and the subjects; the anatomy is built in
 * synth_anatomy.c (synth_int.h is what the two share).
 *
 * Output (BIDS):  participants.tsv, sub-NN/anat/sub-NN_{T1w,T2w,FLAIR}.nii.gz
 * Ground truth:   derivatives/synth/sub-NN/ lesions, lobes (1 frontal,
 *                 2 temporal, 3 parietal, 4 occipital, 5 other), brain and
 *                 white-matter masks on the T1 grid, the bias fields, and
 *                 derivatives/synth/transforms.tsv (the T2/FLAIR misalignment).
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "rigid.h"
#include "rng.h"
#include "synth_int.h"
#include "volume.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec synth_params[] = {
	{ "templates", SUL_T_PATH, "/usr/share/mricron/templates", 0, 0, NULL,
	  "folder with ch2.nii.gz, ch2bet.nii.gz, aal.nii.gz, aal.nii.txt (Debian's mricron-data)" },
	{ "rrms", SUL_T_INT, "10", 0, 1000, NULL, "subjects with relapsing-remitting MS" },
	{ "spms", SUL_T_INT, "9", 0, 1000, NULL, "subjects with secondary-progressive MS" },
	{ "hc", SUL_T_INT, "19", 0, 1000, NULL, "healthy controls" },
	{ "matrix", SUL_T_STRING, "181x217x156", 0, 0, NULL,
	  "output voxels XxYxZ over the template's field of view (Z: axial slices)" },
	{ "lesion_load", SUL_T_FLOAT, "1.0", 0, 10, NULL, "scales the number of lesions of every group" },
	{ "noise", SUL_T_FLOAT, "0.03", 0, 1, NULL, "Rician noise, as a fraction of the white-matter intensity" },
	{ "bias", SUL_T_FLOAT, "0.2", 0, 1, NULL, "bias field strength: log-field amplitude (0.2: about 0.82 to 1.22)" },
	{ "misalign_deg", SUL_T_FLOAT, "3", 0, 30, NULL, "largest rotation of T2/FLAIR against T1, degrees per axis" },
	{ "misalign_mm", SUL_T_FLOAT, "3", 0, 50, NULL, "largest translation of T2/FLAIR against T1, mm per axis" },
	{ "deform_mm", SUL_T_FLOAT, "2", 0, 20, NULL, "amplitude of the smooth random deformation of the anatomy" },
	{ "deform_wavelength_mm", SUL_T_FLOAT, "0", 0, 200, NULL,
	  "0: one smooth warp of the whole head (wavelengths over 120 mm); else local deformations at 1-2 times "
	  "this wavelength moving points by deform_mm on average (less where folding would threaten), composed so "
	  "that they never fold" },
	{ "evidence", SUL_T_STRING, "all", 0, 0, "all|lesions|focal",
	  "what tells the groups apart: all (lesion load and place, SPMS atrophy and ventricles: the study's cohort); "
	  "lesions (lesions alone: every group the same size and ventricles, no lesion in HC); focal (a known "
	  "answer: nothing but a cluster of lesions in the occipital white matter of every RRMS subject and in the "
	  "frontal of every SPMS subject; the lesion masks mark it)" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "random seed" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};

/* The `evidence` parameter. */
enum evidence { EV_ALL, EV_LESIONS, EV_FOCAL };

static const char *const group_names[3] = { "RRMS", "SPMS", "HC" };

struct lesion {
	double c[3];   /* centre, template voxels */
	double r[3];   /* radii, voxels */
};

/* Steps of the local deformation: each moves a point by at most l_amp. */
#define LOCAL_STEPS 8

struct subject {
	char id[16];
	int group;                  /* 0 RRMS, 1 SPMS, 2 HC */
	double scale;               /* size change */
	double amp[3][3], freq[3][3][3], phase[3][3];  /* smooth deformation, per axis and term */
	/* Local deformation (deform_wavelength_mm > 0): LOCAL_STEPS small warps
	 * composed, per step and axis a sine along a direction. */
	int local;
	double l_dir[LOCAL_STEPS][3][3], l_wave[LOCAL_STEPS][3], l_phase[LOCAL_STEPS][3], l_amp;
	double vent_enlarge;        /* voxels of ventricle growth (SPMS) */
	struct lesion *les;
	size_t nles;
	double rot[2][3], trans[2][3];  /* T2 and FLAIR misalignment: degrees, mm */
	double bias[3][9];          /* log bias field coefficients per modality */
};

static double uniform(struct sul_rng *r, double lo, double hi)
{
	return lo + (hi - lo) * sul_rng_uniform(r);
}

static void add_lesions(struct subject *s, const struct anatomy *a, struct sul_rng *r, size_t n, double rmin,
			double rmax, double peri_share)
{
	size_t k;

	s->les = sul_xrealloc(s->les, (s->nles + n + 1) * sizeof(*s->les));
	for (k = 0; k < n; k++) {
		struct lesion *l = &s->les[s->nles++];
		const int64_t *pool;
		size_t npool;
		int64_t v;
		double rad = uniform(r, rmin, rmax);
		int d;

		if (s->group == 2) {
			pool = a->wm;
			npool = a->nwm;
		} else if (sul_rng_uniform(r) < peri_share) {
			pool = a->peri;
			npool = a->nperi;
		} else {
			pool = a->juxta;
			npool = a->njuxta;
		}
		v = pool[sul_rng_below(r, npool)];
		l->c[0] = (double)(v % a->nx);
		l->c[1] = (double)((v / a->nx) % a->ny);
		l->c[2] = (double)(v / (a->nx * a->ny));
		for (d = 0; d < 3; d++)
			l->r[d] = rad * uniform(r, 0.7, 1.3);
	}
}

/*
 * The known answer (evidence = focal): three lesions of 4-5.5 voxels'
 * radius centred on white-matter voxels of `lobe`, the second and third
 * within 8 voxels of the first, so that the cluster stays in its lobe.
 */
static void add_focal(struct subject *s, const struct anatomy *a, struct sul_rng *r, int lobe)
{
	int64_t *pool = sul_xmalloc(sizeof(int64_t) * (a->nwm ? a->nwm : 1)), v;
	size_t n = 0, k, tries;
	double c0[3];
	int d;

	for (k = 0; k < a->nwm; k++)
		if (a->lobe[a->wm[k]] == lobe)
			pool[n++] = a->wm[k];
	if (!n) {  /* a template without that lobe's white matter: nothing to plant */
		free(pool);
		return;
	}
	s->les = sul_xrealloc(s->les, (s->nles + 3) * sizeof(*s->les));
	for (k = 0; k < 3; k++) {
		struct lesion *l = &s->les[s->nles++];
		const double rad = uniform(r, 4, 5.5);
		double c[3], dist2;
		for (tries = 0;; tries++) {
			v = pool[sul_rng_below(r, n)];
			c[0] = (double)(v % a->nx);
			c[1] = (double)((v / a->nx) % a->ny);
			c[2] = (double)(v / (a->nx * a->ny));
			dist2 = k ? (c[0] - c0[0]) * (c[0] - c0[0]) + (c[1] - c0[1]) * (c[1] - c0[1])
					    + (c[2] - c0[2]) * (c[2] - c0[2])
				  : 0;
			if (dist2 <= 64 || tries == 10000)
				break;
		}
		if (!k)
			memcpy(c0, c, sizeof(c0));
		for (d = 0; d < 3; d++) {
			l->c[d] = dist2 <= 64 ? c[d] : c0[d];
			l->r[d] = rad * uniform(r, 0.8, 1.2);
		}
	}
	free(pool);
}

static void make_subject(struct subject *s, const struct anatomy *a, int group, int index, double load,
			 double deform, double wavelength, double deg, double mm, enum evidence ev, struct sul_rng *r)
{
	int i, t, d;

	memset(s, 0, sizeof(*s));
	snprintf(s->id, sizeof(s->id), "sub-%02d", index);
	s->group = group;
	s->scale = uniform(r, 0.94, 1.06) * (group == 1 && ev == EV_ALL ? 0.97 : 1.0);
	for (i = 0; i < 3; i++)
		for (t = 0; t < 3; t++) {
			s->amp[i][t] = deform / sqrt(3.0) * uniform(r, -1, 1);
			s->phase[i][t] = uniform(r, 0, 2 * M_PI);
			for (d = 0; d < 3; d++)
				s->freq[i][t][d] = uniform(r, -1.5, 1.5);
		}
	/* The draws of evidence = all as they always were: earlier cohorts stay. */
	if (ev == EV_FOCAL) {
		if (group < 2)
			add_focal(s, a, r, group == 0 ? LOBE_OCCIPITAL : LOBE_FRONTAL);
	} else if (group == 0) {
		add_lesions(s, a, r, (size_t)lrint(load * uniform(r, 6, 10)), 2.0, 4.5, 0.6);
	} else if (group == 1) {
		add_lesions(s, a, r, (size_t)lrint(load * uniform(r, 12, 18)), 2.5, 5.5, 0.7);
		s->vent_enlarge = ev == EV_ALL ? uniform(r, 2, 4) : 0;
	} else if (ev == EV_ALL && sul_rng_uniform(r) < 0.5) {
		add_lesions(s, a, r, (size_t)lrint(load * uniform(r, 1, 2.5)), 1.2, 2.0, 0);
	}
	for (i = 0; i < 2; i++)
		for (d = 0; d < 3; d++) {
			s->rot[i][d] = uniform(r, -deg, deg);
			s->trans[i][d] = uniform(r, -mm, mm);
		}
	for (i = 0; i < 3; i++)
		for (t = 0; t < 9; t++)
			s->bias[i][t] = uniform(r, -1, 1) / (t < 3 ? 1.0 : 2.0);
	/* Drawn last, and only when asked for: the cohorts of earlier seeds stay as they were. */
	if (wavelength > 0) {
		/* A step x -> x + d(x) never folds when |grad d| < 1: three rows of
		 * 2 pi A / lambda each bound it by sqrt(3) 2 pi A / lambda_min.  At
		 * half that bound, 8 steps of A move points by 3.2 A on average
		 * (4.4 mm mean, 13 mm at most, the Jacobian's determinant above 0.14
		 * for deform_mm 6 at 30 mm, checked numerically over the head). */
		double cap = 0.5 * wavelength / (2 * M_PI * sqrt(3.0));
		s->local = 1;
		memset(s->amp, 0, sizeof(s->amp));  /* the local warp replaces the global one */
		s->l_amp = fmin(deform / 3.2, cap);
		for (t = 0; t < LOCAL_STEPS; t++)
			for (i = 0; i < 3; i++) {
				double n = 0;
				for (d = 0; d < 3; d++) {
					s->l_dir[t][i][d] = sul_rng_normal(r);
					n += s->l_dir[t][i][d] * s->l_dir[t][i][d];
				}
				for (d = 0; d < 3; d++)
					s->l_dir[t][i][d] /= sqrt(n);
				s->l_wave[t][i] = wavelength * uniform(r, 1, 2);
				s->l_phase[t][i] = uniform(r, 0, 2 * M_PI);
			}
	}
}

static double trilinear(const float *img, const struct anatomy *a, const double u[3])
{
	double x = u[0], y = u[1], z = u[2], fx, fy, fz, v = 0;
	int64_t x0, y0, z0;
	int dx, dy, dz;

	if (x < 0 || y < 0 || z < 0 || x > a->nx - 1 || y > a->ny - 1 || z > a->nz - 1)
		return 0;
	x0 = (int64_t)x;
	y0 = (int64_t)y;
	z0 = (int64_t)z;
	if (x0 >= a->nx - 1)
		x0 = a->nx - 2;
	if (y0 >= a->ny - 1)
		y0 = a->ny - 2;
	if (z0 >= a->nz - 1)
		z0 = a->nz - 2;
	fx = x - (double)x0;
	fy = y - (double)y0;
	fz = z - (double)z0;
	for (dz = 0; dz < 2; dz++)
		for (dy = 0; dy < 2; dy++)
			for (dx = 0; dx < 2; dx++)
				v += (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy) * (dz ? fz : 1 - fz)
				     * img[sul_synth_at(a, x0 + dx, y0 + dy, z0 + dz)];
	return v;
}

static int64_t nearest(const struct anatomy *a, const double u[3])
{
	int64_t x = lrint(u[0]), y = lrint(u[1]), z = lrint(u[2]);

	if (x < 0 || y < 0 || z < 0 || x >= a->nx || y >= a->ny || z >= a->nz)
		return -1;
	return sul_synth_at(a, x, y, z);
}

static double smoothstep(double edge0, double edge1, double x)
{
	double t = (x - edge0) / (edge1 - edge0);
	t = t < 0 ? 0 : t > 1 ? 1 : t;
	return t * t * (3 - 2 * t);
}

struct outgrid {
	struct sul_volume geo;   /* the output grid: size and ijk_to_xyz */
	double t_inv[3][4];      /* template world -> template voxel */
	double center[3];        /* world centre of the output grid */
};

/*
 * Where output voxel (i, j, k) of an image looks in the template: through the
 * image's misalignment M (identity for T1), then the subject's size change
 * and deformation.  M = T^-1, with T the transform that registration must
 * find (T1 world -> T2 world); see transforms.tsv.
 */
static void locate_template(const struct anatomy *a, const struct outgrid *g, const struct subject *s,
			    const double Rinv[3][3], const double *trans, int64_t i, int64_t j, int64_t k, double u[3])
{
	double p[3], q[3], u0[3];
	int r, t;

	for (r = 0; r < 3; r++)
		p[r] = g->geo.ijk_to_xyz[r][0] * (double)i + g->geo.ijk_to_xyz[r][1] * (double)j
		       + g->geo.ijk_to_xyz[r][2] * (double)k + g->geo.ijk_to_xyz[r][3];
	if (Rinv) {
		double d[3];
		for (r = 0; r < 3; r++)
			d[r] = p[r] - g->center[r] - trans[r];
		for (r = 0; r < 3; r++)
			q[r] = Rinv[r][0] * d[0] + Rinv[r][1] * d[1] + Rinv[r][2] * d[2] + g->center[r];
	} else {
		memcpy(q, p, sizeof(q));
	}
	for (r = 0; r < 3; r++)
		u0[r] = g->t_inv[r][0] * q[0] + g->t_inv[r][1] * q[1] + g->t_inv[r][2] * q[2] + g->t_inv[r][3];
	if (s->local) {
		/* u0 is in template voxels, which are 1 mm. */
		int step;
		for (step = 0; step < LOCAL_STEPS; step++) {
			double d[3];
			for (r = 0; r < 3; r++) {
				const double *n = s->l_dir[step][r];
				d[r] = s->l_amp * sin(2 * M_PI * (n[0] * u0[0] + n[1] * u0[1] + n[2] * u0[2]) / s->l_wave[step][r]
						      + s->l_phase[step][r]);
			}
			for (r = 0; r < 3; r++)
				u0[r] += d[r];
		}
	}
	for (r = 0; r < 3; r++) {
		double d = 0;
		for (t = 0; t < 3; t++)
			d += s->amp[r][t] * sin(2 * M_PI * (s->freq[r][t][0] * u0[0] + s->freq[r][t][1] * u0[1]
							     + s->freq[r][t][2] * u0[2]) / 181.0 + s->phase[r][t]);
		u[r] = a->center[r] + (u0[r] - a->center[r]) / s->scale + d;
	}
}

/* Lesion weight at template position u (1 inside, 0 outside, smooth edge), white matter only. */
static double lesion_weight(const struct subject *s, const double u[3])
{
	double w = 0;
	size_t l;

	for (l = 0; l < s->nles; l++) {
		const struct lesion *e = &s->les[l];
		double dx = (u[0] - e->c[0]) / e->r[0], dy = (u[1] - e->c[1]) / e->r[1], dz = (u[2] - e->c[2]) / e->r[2];
		double d2 = dx * dx + dy * dy + dz * dz;
		if (d2 < 1.44)
			w = fmax(w, 1 - smoothstep(0.8, 1.2, sqrt(d2)));
	}
	return w;
}

enum { MOD_T1, MOD_T2, MOD_FLAIR };
static const char *const mod_names[3] = { "T1w", "T2w", "FLAIR" };

/* One image of one subject on the output grid; ground truth from the T1 pass. */
static void render(const struct anatomy *a, const struct outgrid *g, const struct subject *s, int mod,
		   double noise, double bias, struct sul_rng *r, struct sul_volume *img, struct sul_volume *field,
		   struct sul_volume *lesions, struct sul_volume *lobes, struct sul_volume *brain, struct sul_volume *wm)
{
	/* CSF and lesion intensities per modality (white matter = 1 on T1). */
	static const double csf[3] = { 0.25, 1.00, 0.10 }, les[3] = { 0.45, 0.90, 1.05 };
	const float *base = mod == MOD_T1 ? a->t1.data : mod == MOD_T2 ? a->t2 : a->flair;
	double R[3][3], Rinv[3][3], bmax = 0;
	int64_t i, j, k, n = img->nx * img->ny * img->nz;
	double *logb = sul_xmalloc((size_t)n * sizeof(double));
	int x, y;

	{
		/* The same convention as coregister's: R = Rz Ry Rx, radians there. */
		const double *deg = s->rot[mod == MOD_FLAIR];
		double p[6] = { deg[0] * M_PI / 180, deg[1] * M_PI / 180, deg[2] * M_PI / 180, 0, 0, 0 };
		sul_rigid_matrix(p, R);
	}
	for (x = 0; x < 3; x++)
		for (y = 0; y < 3; y++)
			Rinv[x][y] = R[y][x];
	for (k = 0; k < img->nz; k++)
		for (j = 0; j < img->ny; j++)
			for (i = 0; i < img->nx; i++) {
				int64_t v = i + img->nx * (j + img->ny * k), near;
				double u[3], val, w, xn = 2.0 * (double)i / (double)(img->nx - 1) - 1,
				       yn = 2.0 * (double)j / (double)(img->ny - 1) - 1, zn = 2.0 * (double)k / (double)(img->nz - 1) - 1;
				const double *c = s->bias[mod];

				locate_template(a, g, s, mod == MOD_T1 ? NULL : Rinv, s->trans[mod == MOD_FLAIR], i, j, k, u);
				val = trilinear(base, a, u);
				near = nearest(a, u);
				if (near >= 0 && a->tissue[near]) {
					if (s->vent_enlarge > 0) {
						w = smoothstep(s->vent_enlarge + 0.5, s->vent_enlarge - 0.5, a->vent_dist[near]);
						val = val * (1 - w) + csf[mod] * w;
					}
					w = a->tissue[near] == WM ? lesion_weight(s, u) : 0;
					val = val * (1 - w) + les[mod] * w;
					if (mod == MOD_T1) {
						lesions->data[v] = w > 0.5f;
						lobes->data[v] = a->lobe[near];
						brain->data[v] = 1;
						wm->data[v] = a->tissue[near] == WM && w <= 0.5
							      && !(s->vent_enlarge > 0 && a->vent_dist[near] <= s->vent_enlarge);
					}
				}
				img->data[v] = (float)val;
				logb[v] = c[0] * xn + c[1] * yn + c[2] * zn + c[3] * xn * yn + c[4] * yn * zn + c[5] * xn * zn
					  + c[6] * (xn * xn - 1.0 / 3) + c[7] * (yn * yn - 1.0 / 3) + c[8] * (zn * zn - 1.0 / 3);
				bmax = fmax(bmax, fabs(logb[v]));
			}
	for (i = 0; i < n; i++) {
		double f = exp(bmax > 0 ? logb[i] * bias / bmax : 0), s1, s2, val;
		/* Rician noise: the magnitude of a complex signal with Gaussian noise on both parts. */
		val = img->data[i] * f;
		s1 = val + noise * sul_rng_normal(r);
		s2 = noise * sul_rng_normal(r);
		img->data[i] = (float)(1000.0 * sqrt(s1 * s1 + s2 * s2));
		field->data[i] = (float)f;
	}
	free(logb);
}

static int parse_matrix(const char *s, int64_t n[3], struct sul_err *err)
{
	long long a, b, c;
	char tail;

	if (sscanf(s, "%lldx%lldx%lld%c", &a, &b, &c, &tail) != 3 || a < 8 || b < 8 || c < 8 || a > 1024 || b > 1024
	    || c > 1024)
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'matrix': expected XxYxZ with 8 to 1024 each, got '%s'", s);
	n[0] = a;
	n[1] = b;
	n[2] = c;
	return 0;
}

/* The output grid covers the template's field of view with the requested matrix. */
static void make_grid(const struct anatomy *a, const int64_t n[3], struct outgrid *g)
{
	const int64_t nt[3] = { a->nx, a->ny, a->nz };
	double s[3];
	int r, c;

	memset(g, 0, sizeof(*g));
	g->geo = a->t1;
	g->geo.data = NULL;
	g->geo.nx = n[0];
	g->geo.ny = n[1];
	g->geo.nz = n[2];
	for (c = 0; c < 3; c++) {
		s[c] = (double)nt[c] / (double)n[c];
		g->geo.pixdim[c] = a->t1.pixdim[c] * s[c];
	}
	/* template voxel u = s (i + 0.5) - 0.5, composed with the template's affine */
	for (r = 0; r < 3; r++) {
		g->geo.ijk_to_xyz[r][3] = a->t1.ijk_to_xyz[r][3];
		for (c = 0; c < 3; c++) {
			g->geo.ijk_to_xyz[r][c] = a->t1.ijk_to_xyz[r][c] * s[c];
			g->geo.ijk_to_xyz[r][3] += a->t1.ijk_to_xyz[r][c] * (0.5 * s[c] - 0.5);
		}
	}
	sul_affine_inverse(a->t1.ijk_to_xyz, g->t_inv);
	for (r = 0; r < 3; r++)
		g->center[r] = g->geo.ijk_to_xyz[r][0] * (double)(n[0] - 1) / 2 + g->geo.ijk_to_xyz[r][1] * (double)(n[1] - 1) / 2
			       + g->geo.ijk_to_xyz[r][2] * (double)(n[2] - 1) / 2 + g->geo.ijk_to_xyz[r][3];
}

static int write_vol(const char *dir, const char *sub, const char *what, const struct sul_volume *v,
		     enum sul_volume_type t, struct sul_err *err)
{
	char *path = sul_xasprintf("%s/%s_%s.nii.gz", dir, sub, what);
	int r = sul_volume_write(path, v, t, err);
	free(path);
	return r;
}

/* One subject's images of one modality on the output grid. */
struct subject_images {
	struct sul_volume img, field;               /* the image, its bias field */
	struct sul_volume lesions, lobes, brain, wm; /* ground truth, from the T1 pass */
};

static enum evidence evidence_of(const struct sul_stage_ctx *ctx)
{
	const char *e = sul_ctx_str(ctx, "evidence");

	return !strcmp(e, "lesions") ? EV_LESIONS : !strcmp(e, "focal") ? EV_FOCAL : EV_ALL;
}

/*
 * Simulates subject `index` of `group` (drawing from rng), writes its
 * images and ground truth, and appends its lines to participants.tsv and
 * transforms.tsv.
 */
static int write_subject(const struct sul_stage_ctx *ctx, const struct anatomy *a, const struct outgrid *g,
			 int group, int index, struct sul_rng *rng, struct sul_buf *participants,
			 struct sul_buf *transforms, struct sul_err *err)
{
	const double voxel_ml = g->geo.pixdim[0] * g->geo.pixdim[1] * g->geo.pixdim[2] / 1000;
	const int64_t nv = g->geo.nx * g->geo.ny * g->geo.nz;
	struct subject sub;
	struct subject_images im;
	char *anat, *deriv;
	int mod, ok = 1;
	double lesion_ml = 0;
	int64_t v;

	make_subject(&sub, a, group, index, sul_ctx_float(ctx, "lesion_load"), sul_ctx_float(ctx, "deform_mm"),
		     sul_ctx_float(ctx, "deform_wavelength_mm"), sul_ctx_float(ctx, "misalign_deg"),
		     sul_ctx_float(ctx, "misalign_mm"), evidence_of(ctx), rng);
	anat = sul_xasprintf("%s/%s/anat", ctx->out, sub.id);
	deriv = sul_xasprintf("%s/derivatives/synth/%s", ctx->out, sub.id);
	sul_volume_like(&im.img, &g->geo);
	sul_volume_like(&im.field, &g->geo);
	sul_volume_like(&im.lesions, &g->geo);
	sul_volume_like(&im.lobes, &g->geo);
	sul_volume_like(&im.brain, &g->geo);
	sul_volume_like(&im.wm, &g->geo);
	if (sul_mkdirs(anat, err) || sul_mkdirs(deriv, err))
		ok = 0;
	for (mod = 0; ok && mod < 3; mod++) {
		char what[64];
		render(a, g, &sub, mod, sul_ctx_float(ctx, "noise"), sul_ctx_float(ctx, "bias"), rng, &im.img, &im.field,
		       &im.lesions, &im.lobes, &im.brain, &im.wm);
		snprintf(what, sizeof(what), "%s_biasfield", mod_names[mod]);
		ok = !write_vol(anat, sub.id, mod_names[mod], &im.img, SUL_VOL_INT16, err)
		     && !write_vol(deriv, sub.id, what, &im.field, SUL_VOL_FLOAT32, err);
		if (ok && mod != MOD_T1)
			sul_buf_addf(transforms, "%s\t%s\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.4f\t%.4f\t%.4f\n", sub.id,
				     mod_names[mod], sub.rot[mod - 1][0], sub.rot[mod - 1][1], sub.rot[mod - 1][2],
				     sub.trans[mod - 1][0], sub.trans[mod - 1][1], sub.trans[mod - 1][2], g->center[0],
				     g->center[1], g->center[2]);
	}
	if (ok)
		ok = !write_vol(deriv, sub.id, "lesions", &im.lesions, SUL_VOL_UINT8, err)
		     && !write_vol(deriv, sub.id, "lobes", &im.lobes, SUL_VOL_UINT8, err)
		     && !write_vol(deriv, sub.id, "brain", &im.brain, SUL_VOL_UINT8, err)
		     && !write_vol(deriv, sub.id, "wm", &im.wm, SUL_VOL_UINT8, err);
	for (v = 0; v < nv; v++)
		lesion_ml += im.lesions.data[v] > 0 ? voxel_ml : 0;
	sul_buf_addf(participants, "%s\t%s\t%zu\t%.3f\n", sub.id, group_names[group], sub.nles, lesion_ml);
	sul_volume_release(&im.img);
	sul_volume_release(&im.field);
	sul_volume_release(&im.lesions);
	sul_volume_release(&im.lobes);
	sul_volume_release(&im.brain);
	sul_volume_release(&im.wm);
	free(sub.les);
	free(anat);
	free(deriv);
	if (!ok)
		return sul_err_prefix(err, "subject '%s'", sub.id);
	return 0;
}

/* participants.tsv, transforms.tsv and dataset_description.json. */
static int write_tables(const struct sul_stage_ctx *ctx, const struct sul_buf *participants,
			const struct sul_buf *transforms, struct sul_err *err)
{
	static const char desc[] = "{\n  \"Name\": \"sulcus synthetic MS cohort (not patient data)\",\n"
				   "  \"BIDSVersion\": \"1.8.0\",\n  \"DatasetType\": \"raw\",\n"
				   "  \"GeneratedBy\": [{\"Name\": \"sulcus synth\"}]\n}\n";
	char *p1 = sul_xasprintf("%s/participants.tsv", ctx->out);
	char *p2 = sul_xasprintf("%s/derivatives/synth/transforms.tsv", ctx->out);
	char *p3 = sul_xasprintf("%s/dataset_description.json", ctx->out);
	int r = sul_write_file_atomic(p1, participants->buf, participants->len, err)
		|| sul_write_file_atomic(p2, transforms->buf, transforms->len, err)
		|| sul_write_file_atomic(p3, desc, sizeof(desc) - 1, err);

	free(p1);
	free(p2);
	free(p3);
	return r ? -1 : 0;
}

static int synth_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const int counts[3] = { (int)sul_ctx_int(ctx, "rrms"), (int)sul_ctx_int(ctx, "spms"), (int)sul_ctx_int(ctx, "hc") };
	char *templates = sul_ctx_path(ctx, "templates");
	struct sul_buf participants = SUL_BUF_INIT, transforms = SUL_BUF_INIT;
	struct anatomy a;
	struct outgrid g;
	struct sul_rng rng;
	int64_t n[3];
	int group, s, index = 0, ret = -1;

	memset(&a, 0, sizeof(a));
	if (counts[0] + counts[1] + counts[2] == 0) {
		sul_err_set(err, SUL_ERR_INPUT, "parameters 'rrms', 'spms', 'hc': expected at least one subject");
		goto out;
	}
	if (parse_matrix(sul_ctx_str(ctx, "matrix"), n, err) || sul_synth_anatomy_load(templates, &a, err))
		goto out;
	make_grid(&a, n, &g);
	sul_rng_seed(&rng, (uint64_t)sul_ctx_int(ctx, "seed"));
	sul_buf_adds(&participants, "participant_id\tgroup\tlesions\tlesion_ml\n");
	sul_buf_adds(&transforms, "subject\tmodality\trx_deg\try_deg\trz_deg\ttx_mm\tty_mm\ttz_mm\tcx\tcy\tcz\n");
	for (group = 0; group < 3; group++)
		for (s = 0; s < counts[group]; s++)
			if (write_subject(ctx, &a, &g, group, ++index, &rng, &participants, &transforms, err))
				goto out;
	if (write_tables(ctx, &participants, &transforms, err) || sul_ctx_metric(ctx, "subjects", -1, index, err))
		goto out;
	ret = 0;
out:
	sul_synth_anatomy_release(&a);
	sul_buf_release(&participants);
	sul_buf_release(&transforms);
	free(templates);
	return ret;
}

const struct sul_kind sul_kind_synth = {
	.name = "synth",
	.version = 1,
	.doc = "a synthetic MS cohort (RRMS, SPMS, HC) on the Colin27 brain, as BIDS with ground truth",
	.params = synth_params,
	.run = synth_run,
};
