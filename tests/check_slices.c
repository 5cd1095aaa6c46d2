/*
 * check_slices.c - the `slices` kind run directly on a synthetic cohort,
 * and the PNG module it writes through.
 *
 * Each subject is a 40x48x30 volume holding an ellipsoid "brain" (grey
 * matter shell, white matter core, both with noise) on a zero background,
 * in three contrasts, plus a 3x3x3 lesion that is bright only in FLAIR at
 * low x (the subject's left), high y (anterior).  Sizes equal to the padded
 * slice (48) make resampling the identity, so pixels can be compared with
 * voxels exactly.  Label images: lobes, one code per in-plane quadrant of
 * the brain (codes far apart, so that any blending shows), and lesions,
 * the lesion's mask.
 *
 * The slice geometry (stages/slicegeom.h) is tested on its own too: voxels
 * that go forward into a PNG and come back through voxel_pixel.
 */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../stages/pngio.h"
#include "../stages/rng.h"
#include "../stages/slicegeom.h"
#include "../stages/tsv.h"
#include "../stages/volume.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sul_kind sul_kind_slices;

#define NX 40
#define NY 48
#define NZ 30
#define SIDE 48  /* the padded square */
#define AREA (NX * NY)

/* 0 outside the brain, 1 grey matter, 2 white matter. */
static int tissue(int64_t i, int64_t j, int64_t k)
{
	double x = (i - 19.5) / 14, y = (j - 23.5) / 18, z = (k - 14.5) / 12, r = x * x + y * y + z * z;
	return r < 0.36 ? 2 : r < 1 ? 1 : 0;
}

static int in_lesion(int64_t i, int64_t j, int64_t k)
{
	return llabs(i - 12) <= 1 && llabs(j - 32) <= 1 && llabs(k - 14) <= 1;
}

/* The lobes image: a code per quadrant of the brain, 0 outside. */
static const int lobe_codes[4] = { 10, 60, 130, 255 };

static int lobe(int64_t i, int64_t j, int64_t k)
{
	return tissue(i, j, k) ? lobe_codes[(i >= 20) + 2 * (j >= 24)] : 0;
}

static size_t brain_in_slice(int64_t k)
{
	size_t n = 0;
	int64_t i, j;

	for (j = 0; j < NY; j++)
		for (i = 0; i < NX; i++)
			n += tissue(i, j, k) != 0;
	return n;
}

struct subject {
	const char *id, *group;
	int las;           /* x axis reversed in the file (i runs right to left) */
	int64_t t2_nz;     /* 0: NZ */
};

/* Writes DIR/ID/{T1w,T2w,FLAIR,mask,lobes,lesions}.nii.gz; mask keeps i < 20
 * of the brain. */
static void write_subject(const char *dir, const struct subject *s, uint64_t seed)
{
	/* grey, white, lesion per modality */
	static const float level[3][3] = { { 100, 200, 100 }, { 150, 80, 150 }, { 120, 90, 400 } };
	static const char *const mods[6] = { "T1w", "T2w", "FLAIR", "mask", "lobes", "lesions" };
	struct sul_err err = SUL_ERR_INIT;
	struct sul_rng rng;
	char *sub = sul_xasprintf("%s/%s", dir, s->id);
	int m;

	sul_rng_seed(&rng, seed);
	ck_assert_int_eq(sul_mkdirs(sub, &err), 0);
	for (m = 0; m < 6; m++) {
		struct sul_volume v;
		int64_t i, j, k, nz = m == 1 && s->t2_nz ? s->t2_nz : NZ;
		char *p = sul_xasprintf("%s/%s.nii.gz", sub, mods[m]);

		memset(&v, 0, sizeof(v));
		v.nx = NX;
		v.ny = NY;
		v.nz = nz;
		v.pixdim[0] = v.pixdim[1] = v.pixdim[2] = 1;
		v.ijk_to_xyz[0][0] = s->las ? -1 : 1;
		v.ijk_to_xyz[1][1] = 1;
		v.ijk_to_xyz[2][2] = 1;
		v.ijk_to_xyz[0][3] = s->las ? 20 : -20;
		v.ijk_to_xyz[1][3] = -24;
		v.ijk_to_xyz[2][3] = -15;
		v.ijk_to_xyz[3][3] = 1;
		v.data = sul_xcalloc((size_t)(NX * NY * nz), sizeof(float));
		for (k = 0; k < nz; k++)
			for (j = 0; j < NY; j++)
				for (i = 0; i < NX; i++) {
					int t = tissue(i, j, k);
					float *x = &v.data[i + NX * (j + NY * k)];
					if (m == 3)
						*x = t && i < 20;
					else if (m == 4)
						*x = (float)lobe(i, j, k);
					else if (m == 5)
						*x = t && in_lesion(i, j, k);
					else if (t && in_lesion(i, j, k))
						*x = level[m][2];
					else if (t)
						*x = level[m][t - 1] + (float)(4 * sul_rng_normal(&rng));
				}
		ck_assert_int_eq(sul_volume_write(p, &v, m >= 4 ? SUL_VOL_UINT8 : SUL_VOL_FLOAT32, &err), 0);
		sul_volume_release(&v);
		free(p);
	}
	free(sub);
}

static const struct subject cohort[3] = {
	{ "sub-01", "RRMS", 0, 0 },
	{ "sub-02", "SPMS", 1, 0 },
	{ "sub-03", "HC", 0, 0 },
};

#define COHORT_MASK 1    /* a mask column */
#define COHORT_LABELS 2  /* lobes and lesions columns */

/* A cohort under ROOT/in with its subjects.tsv (the columns of flags too). */
static char *write_cohort(const char *root, const struct subject *subs, size_t n, int flags)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *in = sul_xasprintf("%s/in", root);
	size_t s;

	sul_buf_adds(&b, "subject\tgroup\tclass\tT1w\tT2w\tFLAIR");
	sul_buf_adds(&b, flags & COHORT_MASK ? "\tmask" : "");
	sul_buf_adds(&b, flags & COHORT_LABELS ? "\tlobes\tlesions\n" : "\n");
	for (s = 0; s < n; s++) {
		write_subject(in, &subs[s], 100 + s);
		sul_buf_addf(&b, "%s\t%s\t%zu\t%s/T1w.nii.gz\t%s/T2w.nii.gz\t%s/FLAIR.nii.gz", subs[s].id, subs[s].group, s,
			     subs[s].id, subs[s].id, subs[s].id);
		if (flags & COHORT_MASK)
			sul_buf_addf(&b, "\t%s/mask.nii.gz", subs[s].id);
		if (flags & COHORT_LABELS)
			sul_buf_addf(&b, "\t%s/lobes.nii.gz\t%s/lesions.nii.gz", subs[s].id, subs[s].id);
		sul_buf_addc(&b, '\n');
	}
	tu_write(in, "subjects.tsv", b.buf);
	sul_buf_release(&b);
	return in;
}

/* --- running the kind ------------------------------------------------------- */

struct opts {
	const char *channels;
	int equalize;
	long long keep, size;
	double min_fraction;
	const char *labels;
};

#define OPTS(keep, size) { "T1w,T2w,FLAIR", 1, keep, size, 0, "lobes, lesions" }

struct run {
	struct sul_input input;
	struct sul_stage_ctx ctx;
	char *out;
};

/* Runs slices on IN into a fresh ROOT/outN; r->out is the output folder. */
static int run_slices(struct run *r, const char *root, const char *in, const struct opts *o, struct sul_err *err)
{
	static int n;
	char set[6][128];

	memset(r, 0, sizeof(*r));
	r->out = sul_xasprintf("%s/out%d", root, n++);
	ck_assert_int_eq(sul_mkdirs(r->out, err), 0);
	snprintf(set[0], sizeof(set[0]), "channels=%s", o->channels);
	snprintf(set[1], sizeof(set[1]), "equalize=%s", o->equalize ? "true" : "false");
	snprintf(set[2], sizeof(set[2]), "keep=%lld", o->keep);
	snprintf(set[3], sizeof(set[3]), "labels=%s", o->labels);
	snprintf(set[4], sizeof(set[4]), "size=%lld", o->size);
	snprintf(set[5], sizeof(set[5]), "min_brain_fraction=%.17g", o->min_fraction);
	r->ctx.params = tu_params(&sul_kind_slices, &r->ctx.nparams, set[0], set[1], set[2], set[3], set[4], set[5],
				  "table=subjects.tsv", NULL);
	r->input.id = "prep";
	r->input.dir = in;
	r->ctx.id = "slices";
	r->ctx.out = r->out;
	r->ctx.workdir = root;
	r->ctx.inputs = &r->input;
	r->ctx.ninputs = 1;
	return sul_kind_slices.run(&r->ctx, err);
}

static void run_ok(struct run *r, const char *root, const char *in, const struct opts *o)
{
	struct sul_err err = SUL_ERR_INIT;

	ck_assert_msg(run_slices(r, root, in, o, &err) == 0, "%s", err.msg);
}

static void read_index(const struct run *r, struct sul_tsv *t)
{
	struct sul_err err = SUL_ERR_INIT;
	char *p = sul_xasprintf("%s/index.tsv", r->out);

	ck_assert_msg(sul_tsv_read(p, t, &err) == 0, "%s", err.msg);
	ck_assert_str_eq(sul_tsv_at(t, 0, 0), "subject");
	ck_assert_str_eq(sul_tsv_at(t, 0, 1), "slice");
	ck_assert_str_eq(sul_tsv_at(t, 0, 4), "path");
	ck_assert_str_eq(sul_tsv_at(t, 0, 5), "brain_fraction");
	ck_assert_str_eq(sul_tsv_at(t, 0, 6), "ref");
	free(p);
}

static char *read_text(const char *dir, const char *name)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_buf b = SUL_BUF_INIT;
	char *p = sul_xasprintf("%s/%s", dir, name);

	ck_assert_msg(sul_read_file(p, &b, &err) == 0, "%s", err.msg);
	free(p);
	return sul_buf_detach(&b);
}

/* The RGB pixels of OUT/rel, which must be size x size. */
static uint8_t *read_png(const char *out, const char *rel, uint32_t size)
{
	struct sul_err err = SUL_ERR_INIT;
	char *p = sul_xasprintf("%s/%s", out, rel);
	uint8_t *rgb;
	uint32_t w, h;

	ck_assert_msg(sul_png_read_rgb(p, &rgb, &w, &h, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(w, size);
	ck_assert_uint_eq(h, size);
	free(p);
	return rgb;
}

static size_t count_png(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".png");
	closedir(d);
	return n;
}

/* --- tests -------------------------------------------------------------------- */

START_TEST(keeps_the_slices_with_most_brain)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 3, 0), *metrics;
	const struct opts o = OPTS(16, 32);
	struct sul_tsv t;
	struct run r;
	size_t s, row, g;

	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	ck_assert_uint_eq(t.nrows, 1 + 3 * 16);
	/* The brain spans slices 3..26, widest at 14.5: the 16 kept are 7..22, in order. */
	for (s = 0; s < 3; s++)
		for (row = 0; row < 16; row++) {
			size_t at = 1 + s * 16 + row;
			char path[64];
			ck_assert_str_eq(sul_tsv_at(&t, at, 0), cohort[s].id);
			ck_assert_int_eq(strtol(sul_tsv_at(&t, at, 1), NULL, 10), 7 + (long)row);
			ck_assert_str_eq(sul_tsv_at(&t, at, 2), cohort[s].group);
			snprintf(path, sizeof(path), "%s/%s_z%03zu.png", cohort[s].group, cohort[s].id, 7 + row);
			ck_assert_str_eq(sul_tsv_at(&t, at, 4), path);
		}
	ck_assert_str_eq(sul_tsv_at(&t, 17, 3), "1");  /* the class column is carried over */
	for (g = 0; g < 3; g++) {
		char *dir = sul_xasprintf("%s/%s", r.out, cohort[g].group);
		ck_assert_uint_eq(count_png(dir), 16);
		free(dir);
	}
	metrics = read_text(r.out, "metrics.tsv");
	ck_assert_str_eq(metrics, "subjects\t\t3.0\nslices_kept\t\t48.0\nslices_dropped\t\t42.0\nsubjects_below_keep\t\t0.0\n");
	free(metrics);
	sul_tsv_release(&t);
	free(r.out);
	free(in);
	tu_cleanup();
}
END_TEST

/* Otsu over all voxels: the grey-matter shell is brain too, and nothing else is. */
START_TEST(otsu_mask_is_the_whole_brain)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 3, 0), *metrics;
	const struct opts o = OPTS(30, SIDE);
	size_t row, p, nonzero = 0, brain = 0;
	struct sul_tsv t;
	struct run r;
	int64_t k;

	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	/* keep = 30 = NZ, but the 6 slices without brain are not written. */
	ck_assert_uint_eq(t.nrows, 1 + 3 * 24);
	for (k = 0; k < NZ; k++)
		brain += brain_in_slice(k);
	for (row = 1; row <= 24; row++) {
		uint8_t *rgb = read_png(r.out, sul_tsv_at(&t, row, 4), SIDE);
		char frac[32];
		for (p = 0; p < SIDE * SIDE; p++)
			nonzero += rgb[p * 3] != 0;
		snprintf(frac, sizeof(frac), "%.6f",
			 (double)brain_in_slice(strtol(sul_tsv_at(&t, row, 1), NULL, 10)) / AREA);
		ck_assert_str_eq(sul_tsv_at(&t, row, 5), frac);
		free(rgb);
	}
	ck_assert_uint_eq(nonzero, brain);
	metrics = read_text(r.out, "metrics.tsv");
	ck_assert_str_eq(metrics, "subjects\t\t3.0\nslices_kept\t\t72.0\nslices_dropped\t\t18.0\nsubjects_below_keep\t\t3.0\n");
	free(metrics);
	sul_tsv_release(&t);
	free(r.out);
	free(in);
	tu_cleanup();
}
END_TEST

/* The mean brain pixel of sub-01's red (T1) channel over all its slices. */
static double mean_red(const char *root, const char *in, int equalize)
{
	struct opts o = OPTS(30, SIDE);
	double sum = 0;
	size_t n = 0, row, p;
	struct sul_tsv t;
	struct run r;

	o.equalize = equalize;
	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	for (row = 1; row < t.nrows; row++) {
		uint8_t *rgb;
		if (strcmp(sul_tsv_at(&t, row, 0), "sub-01"))
			continue;
		rgb = read_png(r.out, sul_tsv_at(&t, row, 4), SIDE);
		for (p = 0; p < SIDE * SIDE; p++)
			if (rgb[p * 3]) {
				sum += rgb[p * 3];
				n++;
			}
		free(rgb);
	}
	ck_assert_uint_gt(n, 0);
	sul_tsv_release(&t);
	free(r.out);
	return sum / (double)n;
}

START_TEST(equalization_makes_brain_intensities_uniform)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 1, 0);

	/* 78% grey matter at 100, 22% white at 200: uniform ranks average 128;
	 * a linear map leaves the mean near the grey matter's. */
	ck_assert_double_eq_tol(mean_red(root, in, 1), 128, 3);
	ck_assert_double_lt(mean_red(root, in, 0), 100);
	free(in);
	tu_cleanup();
}
END_TEST

/* The centre of the pixels where blue peaks in slice 14 of subject s, and
 * the pixel there. */
static void blue_peak(const char *out, const struct subject *s, uint32_t size, uint32_t *row, uint32_t *col,
		      uint8_t px[3])
{
	char rel[64];
	uint8_t *rgb, best = 0;
	uint32_t r, c;
	double sr = 0, sc = 0, n = 0;

	snprintf(rel, sizeof(rel), "%s/%s_z014.png", s->group, s->id);
	rgb = read_png(out, rel, size);
	for (r = 0; r < size * size; r++)
		best = rgb[r * 3 + 2] > best ? rgb[r * 3 + 2] : best;
	for (r = 0; r < size; r++)
		for (c = 0; c < size; c++)
			if (rgb[(r * size + c) * 3 + 2] == best) {
				sr += r;
				sc += c;
				n++;
			}
	*row = (uint32_t)lrint(sr / n);
	*col = (uint32_t)lrint(sc / n);
	memcpy(px, &rgb[(*row * size + *col) * 3], 3);
	free(rgb);
}

START_TEST(flair_is_blue_anterior_is_up_right_is_left)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 3, 0), *ihdr;
	const struct opts full = OPTS(16, SIDE), big = OPTS(16, 224);
	uint32_t row, col;
	uint8_t px[3];
	struct run r;

	run_ok(&r, root, in, &full);
	/* The lesion (bright only in FLAIR) at i = 12, j = 32: RAS on disk, so
	 * rows run from +y and columns from +x: row 47 - 32, column 4 + 39 - 12. */
	blue_peak(r.out, &cohort[0], SIDE, &row, &col, px);
	ck_assert_uint_eq(row, 15);
	ck_assert_uint_eq(col, 31);
	ck_assert_uint_eq(px[2], 255);
	ck_assert_uint_lt(px[0], 200);
	ck_assert_uint_lt(px[1], 200);
	/* sub-02 is stored LAS: i = 12 is at x = +8, the subject's right, so on the image's left. */
	blue_peak(r.out, &cohort[1], SIDE, &row, &col, px);
	ck_assert_uint_eq(row, 15);
	ck_assert_uint_eq(col, 4 + 12);
	free(r.out);

	/* At the network's size: anterior (top) half, subject's left on the right half. */
	run_ok(&r, root, in, &big);
	blue_peak(r.out, &cohort[0], 224, &row, &col, px);
	ck_assert_uint_lt(row, 112);
	ck_assert_uint_gt(col, 112);
	ck_assert_uint_eq(px[2], 255);
	/* The file itself is 8-bit (byte 24 of the IHDR) truecolour RGB (byte 25 = 2). */
	ihdr = read_text(r.out, "RRMS/sub-01_z014.png");
	ck_assert_mem_eq(ihdr + 12, "IHDR\0\0\0\340\0\0\0\340\10\2", 14);
	free(ihdr);
	free(r.out);
	free(in);
	tu_cleanup();
}
END_TEST

START_TEST(mask_column_is_used)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 1, 1);
	const struct opts o = OPTS(30, SIDE);
	uint8_t *rgb;
	size_t r_, c, left = 0, right = 0;
	struct run r;

	run_ok(&r, root, in, &o);
	/* The mask keeps i < 20, which is columns 4 + 39 - i >= 24 on screen. */
	rgb = read_png(r.out, "RRMS/sub-01_z014.png", SIDE);
	for (r_ = 0; r_ < SIDE; r_++)
		for (c = 0; c < SIDE; c++)
			*(c < 24 ? &left : &right) += rgb[(r_ * SIDE + c) * 3] != 0;
	ck_assert_uint_eq(left, 0);
	ck_assert_uint_gt(right, 100);
	free(rgb);
	free(r.out);
	free(in);
	tu_cleanup();
}
END_TEST

START_TEST(min_brain_fraction_drops_small_slices)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 2, 0);
	struct opts o = OPTS(30, 32);
	size_t row, expect = 0;
	struct sul_tsv t;
	struct run r;
	int64_t k;

	o.min_fraction = 0.3;
	for (k = 0; k < NZ; k++)
		expect += (double)brain_in_slice(k) / AREA >= 0.3;
	ck_assert_uint_gt(expect, 0);
	ck_assert_uint_lt(expect, 24);
	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	ck_assert_uint_eq(t.nrows, 1 + 2 * expect);
	for (row = 1; row < t.nrows; row++)
		ck_assert_double_ge(strtod(sul_tsv_at(&t, row, 5), NULL), 0.3);
	sul_tsv_release(&t);
	free(r.out);
	free(in);
	tu_cleanup();
}
END_TEST

START_TEST(same_input_same_bytes)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 2, 0);
	const struct opts o = OPTS(10, 64);
	struct sul_tsv t;
	struct run a, b;
	size_t row;

	run_ok(&a, root, in, &o);
	run_ok(&b, root, in, &o);
	read_index(&a, &t);
	ck_assert_uint_eq(t.nrows, 21);
	for (row = 0; row < t.nrows; row++) {
		const char *rel = row ? sul_tsv_at(&t, row, 4) : "index.tsv";
		struct sul_err err = SUL_ERR_INIT;
		struct sul_buf x = SUL_BUF_INIT, y = SUL_BUF_INIT;
		char *pa = sul_xasprintf("%s/%s", a.out, rel), *pb = sul_xasprintf("%s/%s", b.out, rel);
		ck_assert_int_eq(sul_read_file(pa, &x, &err), 0);
		ck_assert_int_eq(sul_read_file(pb, &y, &err), 0);
		ck_assert_uint_eq(x.len, y.len);
		ck_assert_msg(!memcmp(x.buf, y.buf, x.len), "%s differs between runs", rel);
		sul_buf_release(&x);
		sul_buf_release(&y);
		free(pa);
		free(pb);
	}
	sul_tsv_release(&t);
	free(a.out);
	free(b.out);
	free(in);
	tu_cleanup();
}
END_TEST

/* --- slice geometry ----------------------------------------------------------- */

/* The geometry tests' voxel values: linear in i and j, so that bilinear
 * resampling, forward and back, gives them back exactly. */
static double ramp(int64_t i, int64_t j, int64_t k)
{
	return 20 + 7 * (double)i + 3 * (double)j + 100 * (double)k;
}

/* An nx x ny x 5 volume of ramp() whose i and j axes run along the world
 * (x, y) directions (m[0][0], m[1][0]) and (m[0][1], m[1][1]). */
static void ramp_volume(struct sul_volume *v, int64_t nx, int64_t ny, const double m[2][2])
{
	int64_t i, j, k;

	memset(v, 0, sizeof(*v));
	v->nx = nx;
	v->ny = ny;
	v->nz = 5;
	v->pixdim[0] = v->pixdim[1] = v->pixdim[2] = 1;
	v->ijk_to_xyz[0][0] = m[0][0];
	v->ijk_to_xyz[0][1] = m[0][1];
	v->ijk_to_xyz[1][0] = m[1][0];
	v->ijk_to_xyz[1][1] = m[1][1];
	v->ijk_to_xyz[2][2] = 1;
	v->ijk_to_xyz[3][3] = 1;
	v->data = sul_xcalloc((size_t)(nx * ny * 5), sizeof(float));
	for (k = 0; k < 5; k++)
		for (j = 0; j < ny; j++)
			for (i = 0; i < nx; i++)
				v->data[i + nx * (j + ny * k)] = (float)ramp(i, j, k);
}

/* img (size x size) sampled bilinearly at (row, col), clamped to the image. */
static double sample(const double *img, int64_t size, double row, double col)
{
	double r = row < 0 ? 0 : row > (double)(size - 1) ? (double)(size - 1) : row;
	double c = col < 0 ? 0 : col > (double)(size - 1) ? (double)(size - 1) : col;
	int64_t r0 = (int64_t)floor(r), c0 = (int64_t)floor(c);
	int64_t r1 = r0 + 1 < size ? r0 + 1 : r0, c1 = c0 + 1 < size ? c0 + 1 : c0;
	double fr = r - (double)r0, fc = c - (double)c0;

	return (1 - fr) * ((1 - fc) * img[r0 * size + c0] + fc * img[r0 * size + c1])
	       + fr * ((1 - fc) * img[r1 * size + c0] + fc * img[r1 * size + c1]);
}

/* Every voxel goes forward into the PNG (plane, bilinear) and comes back
 * through voxel_pixel: sampled there, the resampled slice gives the voxel's
 * value back, for every combination of axis order and flips, upsampled,
 * at the same size and downsampled. */
START_TEST(geometry_round_trip)
{
	static const struct {
		int64_t nx, ny;
		double m[2][2];
		int col_axis, flip_col, flip_row;
	} cases[4] = {
		{ 30, 40, { { 1, 0 }, { 0, 1 } }, 0, 1, 1 },    /* RAS */
		{ 30, 40, { { -1, 0 }, { 0, -1 } }, 0, 0, 0 },  /* LPS */
		{ 30, 40, { { 0, -1 }, { 1, 0 } }, 1, 0, 1 },   /* i along +y, j along -x */
		{ 31, 40, { { 0, 1 }, { -1, 0 } }, 1, 1, 0 },   /* i along -y, j along +x; odd padding */
	};
	static const int64_t sizes[3] = { 64, 40, 24 };
	struct sul_err err = SUL_ERR_INIT;
	size_t cs, z;

	for (cs = 0; cs < 4; cs++)
		for (z = 0; z < 3; z++) {
			const int64_t nx = cases[cs].nx, ny = cases[cs].ny, size = sizes[z];
			struct sul_slicegeom g;
			struct sul_volume v;
			float *plane, *near;
			double *img;
			int64_t i, j, margin;
			size_t inner = 0;

			ramp_volume(&v, nx, ny, cases[cs].m);
			ck_assert_int_eq(sul_slicegeom_init(&v, "ramp.nii", size, &g, &err), 0);
			ck_assert_int_eq(g.col_axis, cases[cs].col_axis);
			ck_assert_int_eq(g.flip_col, cases[cs].flip_col);
			ck_assert_int_eq(g.flip_row, cases[cs].flip_row);
			ck_assert_int_eq(g.side, 40);
			plane = sul_xmalloc((size_t)(g.side * g.side) * sizeof(*plane));
			near = sul_xmalloc((size_t)(size * size) * sizeof(*near));
			img = sul_xmalloc((size_t)(size * size) * sizeof(*img));
			sul_slicegeom_plane(&g, &v, 2, plane);
			sul_slicegeom_bilinear(&g, plane, img);
			sul_slicegeom_nearest(&g, plane, near);
			/* Bilinear is exact on a ramp where no tap reaches the padding. */
			margin = 2 + g.side / size;
			for (j = 0; j < ny; j++)
				for (i = 0; i < nx; i++) {
					double row, col, bi, bj, want = ramp(i, j, 2);
					sul_slicegeom_voxel_pixel(&g, i, j, &row, &col);
					ck_assert(row > -0.5 && row < (double)size - 0.5);
					ck_assert(col > -0.5 && col < (double)size - 0.5);
					sul_slicegeom_pixel_voxel(&g, row, col, &bi, &bj);
					ck_assert_double_eq_tol(bi, (double)i, 1e-9);
					ck_assert_double_eq_tol(bj, (double)j, 1e-9);
					if (i >= margin && i < nx - margin && j >= margin && j < ny - margin) {
						ck_assert_double_eq_tol(sample(img, size, row, col), want, 1e-6);
						inner++;
					}
					/* Not downsampled, the nearest pixel is the voxel itself. */
					if (size >= g.side)
						ck_assert_float_eq(near[lrint(row) * size + lrint(col)], (float)want);
				}
			ck_assert_uint_gt(inner, 300);
			free(plane);
			free(near);
			free(img);
			sul_volume_release(&v);
		}
}
END_TEST

/* voxel_pixel agrees with the PNGs the stage is known to write
 * (flair_is_blue_anterior_is_up_right_is_left), and sagittal stacks are refused. */
START_TEST(geometry_matches_the_slices_layout)
{
	static const double ras[2][2] = { { 1, 0 }, { 0, 1 } }, las[2][2] = { { -1, 0 }, { 0, 1 } };
	struct sul_err err = SUL_ERR_INIT;
	struct sul_slicegeom g;
	struct sul_volume v;
	double row, col;

	ramp_volume(&v, NX, NY, ras);
	ck_assert_int_eq(sul_slicegeom_init(&v, "ras.nii", SIDE, &g, &err), 0);
	sul_slicegeom_voxel_pixel(&g, 12, 32, &row, &col);
	ck_assert_double_eq(row, 15);
	ck_assert_double_eq(col, 31);
	sul_volume_release(&v);
	ramp_volume(&v, NX, NY, las);
	ck_assert_int_eq(sul_slicegeom_init(&v, "las.nii", SIDE, &g, &err), 0);
	sul_slicegeom_voxel_pixel(&g, 12, 32, &row, &col);
	ck_assert_double_eq(row, 15);
	ck_assert_double_eq(col, 4 + 12);
	/* At twice the size, pixel centres move by half a pixel from doubled voxel centres. */
	ck_assert_int_eq(sul_slicegeom_init(&v, "las.nii", 2 * SIDE, &g, &err), 0);
	sul_slicegeom_voxel_pixel(&g, 12, 32, &row, &col);
	ck_assert_double_eq(row, 2 * 15 + 0.5);
	ck_assert_double_eq(col, 2 * 16 + 0.5);

	v.ijk_to_xyz[2][2] = 0;
	v.ijk_to_xyz[0][2] = 1;
	ck_assert_int_eq(sul_slicegeom_init(&v, "sag.nii", SIDE, &g, &err), -1);
	ck_assert_str_eq(err.msg, "'sag.nii': the third voxel axis runs along (1, 0, 0) mm: expected axially stored "
			 "images (k inferior-superior); reorient them first");
	sul_volume_release(&v);
}
END_TEST

/* --- label slices and reference volumes --------------------------------------- */

static int is_lobe_code(int x)
{
	size_t c;

	for (c = 0; c < 4; c++)
		if (x == lobe_codes[c])
			return 1;
	return 0;
}

/* Whether the 3x3 in-plane neighbourhood of (i, j, k) is all one lobe. */
static int lobe_interior(int64_t i, int64_t j, int64_t k)
{
	int64_t di, dj;

	for (dj = -1; dj <= 1; dj++)
		for (di = -1; di <= 1; di++)
			if (lobe(i + di, j + dj, k) != lobe(i, j, k))
				return 0;
	return 1;
}

/* The geometry of subject s's slices at size, from its T1 as written. */
static void subject_geom(const char *in, const struct subject *s, int64_t size, struct sul_slicegeom *g)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v;
	char *p = sul_xasprintf("%s/%s/T1w.nii.gz", in, s->id);

	ck_assert_msg(sul_volume_read(p, &v, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sul_slicegeom_init(&v, p, size, g, &err), 0);
	sul_volume_release(&v);
	free(p);
}

/* Label PNGs hold only the image's labels (no blending), in R = G = B, and
 * a voxel's label sits where voxel_pixel puts it, upsampled and
 * downsampled, RAS and LAS. */
START_TEST(label_slices_are_nearest_and_in_place)
{
	static const int64_t sizes[2] = { 64, 32 };
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 2, COHORT_LABELS);
	size_t z;

	for (z = 0; z < 2; z++) {
		const int64_t size = sizes[z];
		const struct opts o = OPTS(16, size);
		struct sul_slicegeom g[2];
		size_t row, checked = 0, lesion_px = 0;
		struct sul_tsv t;
		struct run r;

		subject_geom(in, &cohort[0], size, &g[0]);
		subject_geom(in, &cohort[1], size, &g[1]);
		run_ok(&r, root, in, &o);
		read_index(&r, &t);
		ck_assert_uint_eq(t.ncols, 9);
		ck_assert_uint_eq(t.nrows, 1 + 2 * 16);
		ck_assert_str_eq(sul_tsv_at(&t, 0, 7), "lobes");
		ck_assert_str_eq(sul_tsv_at(&t, 0, 8), "lesions");
		ck_assert_str_eq(sul_tsv_at(&t, 1, 7), "labels/lobes/RRMS/sub-01_z007.png");
		ck_assert_str_eq(sul_tsv_at(&t, 17, 8), "labels/lesions/SPMS/sub-02_z007.png");
		for (row = 1; row < t.nrows; row++) {
			const size_t s = row <= 16 ? 0 : 1;
			const int64_t k = strtol(sul_tsv_at(&t, row, 1), NULL, 10);
			uint8_t *lob = read_png(r.out, sul_tsv_at(&t, row, 7), (uint32_t)size);
			uint8_t *les = read_png(r.out, sul_tsv_at(&t, row, 8), (uint32_t)size);
			int seen[256] = { 0 }, nseen = 0;
			int64_t p, i, j;

			for (p = 0; p < size * size; p++) {
				ck_assert_uint_eq(lob[p * 3 + 1], lob[p * 3]);
				ck_assert_uint_eq(lob[p * 3 + 2], lob[p * 3]);
				ck_assert_uint_eq(les[p * 3 + 1], les[p * 3]);
				ck_assert_uint_le(les[p * 3], 1);
				ck_assert_msg(!lob[p * 3] || is_lobe_code(lob[p * 3]), "%s: pixel %lld holds %d, not a label",
					      sul_tsv_at(&t, row, 7), (long long)p, lob[p * 3]);
				nseen += !seen[lob[p * 3]];
				seen[lob[p * 3]] = 1;
				lesion_px += les[p * 3];
				ck_assert(!les[p * 3] || (k >= 13 && k <= 15));
			}
			if (k == 14)
				ck_assert_int_eq(nseen, 5);  /* 0 and the four codes: nothing lost */
			for (j = 1; j < NY - 1; j++)
				for (i = 1; i < NX - 1; i++) {
					double pr, pc;
					int64_t at;
					if (!lobe_interior(i, j, k))
						continue;
					sul_slicegeom_voxel_pixel(&g[s], i, j, &pr, &pc);
					at = lrint(pr) * size + lrint(pc);
					ck_assert_msg(lob[at * 3] == lobe(i, j, k), "%s: voxel (%lld, %lld) is %d, its pixel "
						      "(%ld, %ld) %d", sul_tsv_at(&t, row, 7), (long long)i, (long long)j,
						      lobe(i, j, k), lrint(pr), lrint(pc), lob[at * 3]);
					checked++;
				}
			/* The lesion's centre voxel, whose neighbours are lesion too. */
			if (k == 14) {
				double pr, pc;
				sul_slicegeom_voxel_pixel(&g[s], 12, 32, &pr, &pc);
				ck_assert_uint_eq(les[(lrint(pr) * size + lrint(pc)) * 3], 1);
			}
			free(lob);
			free(les);
		}
		ck_assert_uint_gt(checked, 2 * 16 * 500);
		ck_assert_uint_gt(lesion_px, 2 * 3);
		sul_tsv_release(&t);
		free(r.out);
	}
	free(in);
	tu_cleanup();
}
END_TEST

/* ref/SUB.nii.gz is the first channel's file: same bytes, dims and sform. */
static void check_ref(const char *out, const char *in, const struct subject *s)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_buf a = SUL_BUF_INIT, b = SUL_BUF_INIT;
	struct sul_volume x, y;
	char *ref = sul_xasprintf("%s/ref/%s.nii.gz", out, s->id), *t1 = sul_xasprintf("%s/%s/T1w.nii.gz", in, s->id);

	ck_assert_msg(sul_volume_read(ref, &x, &err) == 0, "%s", err.msg);
	ck_assert_msg(sul_volume_read(t1, &y, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(x.nx, y.nx);
	ck_assert_int_eq(x.ny, y.ny);
	ck_assert_int_eq(x.nz, y.nz);
	ck_assert_int_eq(x.xform_code, y.xform_code);
	ck_assert_mem_eq(x.ijk_to_xyz, y.ijk_to_xyz, sizeof(x.ijk_to_xyz));
	ck_assert_int_eq(sul_read_file(ref, &a, &err), 0);
	ck_assert_int_eq(sul_read_file(t1, &b, &err), 0);
	ck_assert_uint_eq(a.len, b.len);
	ck_assert(!memcmp(a.buf, b.buf, a.len));
	sul_volume_release(&x);
	sul_volume_release(&y);
	sul_buf_release(&a);
	sul_buf_release(&b);
	free(ref);
	free(t1);
}

START_TEST(ref_is_the_first_channel_and_labels_are_optional)
{
	char *root = tu_tmpdir(), *in = write_cohort(root, cohort, 2, 0), *dir;
	struct opts o = OPTS(10, 32);
	struct sul_tsv t;
	struct run r;
	size_t row, s;

	/* No lobes or lesions column: the defaults are skipped, even named alone. */
	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	ck_assert_uint_eq(t.ncols, 7);
	ck_assert_uint_eq(t.nrows, 1 + 2 * 10);
	for (row = 1; row < t.nrows; row++) {
		char ref[64];
		snprintf(ref, sizeof(ref), "ref/%s.nii.gz", sul_tsv_at(&t, row, 0));
		ck_assert_str_eq(sul_tsv_at(&t, row, 6), ref);
	}
	for (s = 0; s < 2; s++)
		check_ref(r.out, in, &cohort[s]);
	dir = sul_xasprintf("%s/labels", r.out);
	ck_assert(!sul_path_exists(dir));
	free(dir);
	sul_tsv_release(&t);
	free(r.out);
	o.labels = "lesions";
	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	ck_assert_uint_eq(t.ncols, 7);
	sul_tsv_release(&t);
	free(r.out);

	/* With them, only the listed ones, in the listed order; "" lists none. */
	free(in);
	in = write_cohort(root, cohort, 2, COHORT_LABELS);
	o.labels = " lesions ";
	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	ck_assert_uint_eq(t.ncols, 8);
	ck_assert_str_eq(sul_tsv_at(&t, 0, 7), "lesions");
	ck_assert_str_eq(sul_tsv_at(&t, 11, 7), "labels/lesions/SPMS/sub-02_z010.png");
	dir = sul_xasprintf("%s/labels/lesions/SPMS", r.out);
	ck_assert_uint_eq(count_png(dir), 10);
	free(dir);
	sul_tsv_release(&t);
	free(r.out);
	o.labels = "";
	run_ok(&r, root, in, &o);
	read_index(&r, &t);
	ck_assert_uint_eq(t.ncols, 7);
	sul_tsv_release(&t);
	free(r.out);
	free(in);
	tu_cleanup();
}
END_TEST

static const char *run_fail(const char *root, const char *in, const struct opts *o)
{
	static struct sul_err err;
	struct run r;

	sul_err_clear(&err);
	ck_assert_int_eq(run_slices(&r, root, in, o, &err), -1);
	free(r.out);
	return err.msg;
}

START_TEST(errors_name_files_and_parameters)
{
	static const struct subject bad_grid[2] = { { "sub-01", "RRMS", 0, 0 }, { "sub-02", "SPMS", 0, 28 } };
	static const struct subject nested[2] = { { "sub-01", "RRMS", 0, 0 }, { "sub-02", "MS", 0, 0 } };
	static const struct subject in_id[2] = { { "sub-HC1", "RRMS", 0, 0 }, { "sub-02", "HC", 0, 0 } };
	char *root = tu_tmpdir(), *in;
	struct opts o = OPTS(16, 32);
	char expect[4096];

	in = write_cohort(root, bad_grid, 2, 0);
	snprintf(expect, sizeof(expect), "subject 'sub-02': '%s/sub-02/T1w.nii.gz' is 40x48x30 but '%s/sub-02/T2w.nii.gz' "
		 "is 40x48x28: expected one grid for all of a subject's images (co-register them first)", in, in);
	ck_assert_str_eq(run_fail(root, in, &o), expect);
	free(in);

	in = write_cohort(root, nested, 2, 0);
	snprintf(expect, sizeof(expect), "%s/subjects.tsv: group 'MS' occurs in group 'RRMS': Darknet labels a slice "
		 "by the group name in its path, so no group name may contain another", in);
	ck_assert_str_eq(run_fail(root, in, &o), expect);
	free(in);

	in = write_cohort(root, in_id, 2, 0);
	snprintf(expect, sizeof(expect), "%s/subjects.tsv: group 'HC' occurs in subject 'sub-HC1': Darknet labels a "
		 "slice by the group name in its path, so no subject id may contain a group name", in);
	ck_assert_str_eq(run_fail(root, in, &o), expect);

	o.channels = "T1w,T2w,PD";
	snprintf(expect, sizeof(expect), "%s/subjects.tsv: no column 'PD' (parameter 'channels': 'T1w,T2w,PD')", in);
	ck_assert_str_eq(run_fail(root, in, &o), expect);
	o.channels = "T1w,T2w";
	ck_assert_str_eq(run_fail(root, in, &o),
			 "parameter 'channels': expected three comma-separated column names (red, green, blue), got 'T1w,T2w'");
	free(in);

	/* Labels: a column that is not a default must exist; values must fit a byte. */
	in = write_cohort(root, cohort, 2, COHORT_LABELS);
	o.channels = "T1w,T2w,FLAIR";
	o.labels = "lobes, aseg";
	snprintf(expect, sizeof(expect), "%s/subjects.tsv: no column 'aseg' (parameter 'labels': 'lobes, aseg')", in);
	ck_assert_str_eq(run_fail(root, in, &o), expect);
	o.labels = "lobes, path";
	ck_assert_str_eq(run_fail(root, in, &o), "parameter 'labels': column 'path' is one of index.tsv's own columns");
	o.labels = "lobes, lesions";
	{
		struct sul_err err = SUL_ERR_INIT;
		struct sul_volume v;
		char *p = sul_xasprintf("%s/sub-02/lobes.nii.gz", in);
		ck_assert_int_eq(sul_volume_read(p, &v, &err), 0);
		v.data[3 + NX * (4 + NY * 5)] = 300;
		ck_assert_int_eq(sul_volume_write(p, &v, SUL_VOL_FLOAT32, &err), 0);
		snprintf(expect, sizeof(expect), "subject 'sub-02': '%s': voxel (3, 4, 5) holds 300: expected a label "
			 "image (integers 0 to 255, one byte of a PNG)", p);
		ck_assert_str_eq(run_fail(root, in, &o), expect);
		v.data[3 + NX * (4 + NY * 5)] = 2.5f;
		ck_assert_int_eq(sul_volume_write(p, &v, SUL_VOL_FLOAT32, &err), 0);
		snprintf(expect, sizeof(expect), "subject 'sub-02': '%s': voxel (3, 4, 5) holds 2.5: expected a label "
			 "image (integers 0 to 255, one byte of a PNG)", p);
		ck_assert_str_eq(run_fail(root, in, &o), expect);
		sul_volume_release(&v);
		free(p);
	}
	free(in);
	tu_cleanup();
}
END_TEST

START_TEST(check_wants_one_input_and_three_channels)
{
	struct sul_param p[2];
	struct sul_stage_ctx ctx;
	struct sul_err err = SUL_ERR_INIT;
	const char *about;

	memset(p, 0, sizeof(p));
	memset(&ctx, 0, sizeof(ctx));
	p[0].name = (char *)"channels";
	p[0].v.type = SUL_T_STRING;
	p[0].v.s = (char *)"T1w,,FLAIR";
	p[1].name = (char *)"labels";
	p[1].v.type = SUL_T_STRING;
	p[1].v.s = (char *)"lobes, lobes";
	ctx.id = "slices";
	ctx.params = p;
	ctx.nparams = 2;
	/* The engine puts the location of parameter *about in front. */
	ck_assert_int_eq(sul_kind_slices.check(&ctx, &about, &err), -1);
	ck_assert_str_eq(about, "channels");
	ck_assert_str_eq(err.msg, "parameter 'channels': expected three comma-separated column names (red, green, "
			 "blue), got 'T1w,,FLAIR'");
	p[0].v.s = (char *)" T1w, T2w ,FLAIR ";
	ck_assert_int_eq(sul_kind_slices.check(&ctx, &about, &err), -1);
	ck_assert_str_eq(about, "labels");
	ck_assert_str_eq(err.msg, "parameter 'labels': column 'lobes' is listed twice");
	p[1].v.s = (char *)"lobes,,lesions";
	ck_assert_int_eq(sul_kind_slices.check(&ctx, &about, &err), -1);
	ck_assert_str_eq(err.msg, "parameter 'labels': expected at most 16 comma-separated column names, none empty, "
			 "got 'lobes,,lesions'");
	p[1].v.s = (char *)"../lobes";
	ck_assert_int_eq(sul_kind_slices.check(&ctx, &about, &err), -1);
	ck_assert_str_eq(err.msg, "parameter 'labels': column '../lobes': expected a name usable as a folder name "
			 "(no '/', not starting with '.')");
	p[1].v.s = (char *)" ";
	ck_assert_int_eq(sul_kind_slices.check(&ctx, &about, &err), 0);
	p[1].v.s = (char *)"lobes, aseg";
	ck_assert_int_eq(sul_kind_slices.check(&ctx, &about, &err), 0);
	/* The input count is declared; the engine checks it (t0006). */
	ck_assert_uint_eq(sul_kind_slices.inputs.min, 1);
	ck_assert_uint_eq(sul_kind_slices.inputs.max, 1);
	ck_assert_str_eq(sul_kind_slices.inputs.what, "exactly one input (the table's stage)");
}
END_TEST

START_TEST(png_round_trip)
{
	char *dir = tu_tmpdir(), *path = sul_xasprintf("%s/x.png", dir), *bad = sul_xasprintf("%s/nodir/x.png", dir);
	struct sul_err err = SUL_ERR_INIT;
	uint8_t px[2 * 3 * 3], *back;
	uint32_t w, h;
	size_t i;

	for (i = 0; i < sizeof(px); i++)
		px[i] = (uint8_t)(i * 13);
	ck_assert_int_eq(sul_png_write_rgb(path, px, 3, 2, &err), 0);
	ck_assert_int_eq(sul_png_read_rgb(path, &back, &w, &h, &err), 0);
	ck_assert_uint_eq(w, 3);
	ck_assert_uint_eq(h, 2);
	ck_assert_mem_eq(back, px, sizeof(px));
	free(back);
	ck_assert_int_eq(sul_png_write_rgb(bad, px, 3, 2, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, bad));
	ck_assert_int_eq(sul_png_read_rgb(tu_write(dir, "t.png", "not a png"), &back, &w, &h, &err), -1);
	ck_assert_ptr_null(back);
	free(path);
	free(bad);
	tu_cleanup();
}
END_TEST

SUL_SUITE(slices)
{
	Suite *s = suite_create("slices");
	TCase *png = tcase_create("png");
	TCase *geom = tcase_create("slicegeom");
	TCase *sl = tcase_create("slices");

	tcase_add_test(png, png_round_trip);
	suite_add_tcase(s, png);
	tcase_add_test(geom, geometry_round_trip);
	tcase_add_test(geom, geometry_matches_the_slices_layout);
	suite_add_tcase(s, geom);
	tcase_set_timeout(sl, 60);
	tcase_add_test(sl, keeps_the_slices_with_most_brain);
	tcase_add_test(sl, otsu_mask_is_the_whole_brain);
	tcase_add_test(sl, equalization_makes_brain_intensities_uniform);
	tcase_add_test(sl, flair_is_blue_anterior_is_up_right_is_left);
	tcase_add_test(sl, mask_column_is_used);
	tcase_add_test(sl, min_brain_fraction_drops_small_slices);
	tcase_add_test(sl, same_input_same_bytes);
	tcase_add_test(sl, errors_name_files_and_parameters);
	tcase_add_test(sl, check_wants_one_input_and_three_channels);
	tcase_add_test(sl, label_slices_are_nearest_and_in_place);
	tcase_add_test(sl, ref_is_the_first_channel_and_labels_are_optional);
	suite_add_tcase(s, sl);
	return s;
}
