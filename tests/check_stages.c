/* check_stages.c - NIfTI volumes, and the ingest and split kinds run directly. */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../stages/intensity.h"
#include "../stages/rng.h"
#include "../stages/tsv.h"
#include "../stages/volume.h"

#include <fcntl.h>
#include <math.h>
#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct sul_kind sul_kind_ingest;
extern const struct sul_kind sul_kind_split;

/* A small volume with an oblique (rotated, shifted) geometry. */
static void make_volume(struct sul_volume *v, int64_t nx, int64_t ny, int64_t nz, float base)
{
	const double a = 0.2;
	int64_t i;

	memset(v, 0, sizeof(*v));
	v->nx = nx;
	v->ny = ny;
	v->nz = nz;
	v->pixdim[0] = 1.5;
	v->pixdim[1] = 1.0;
	v->pixdim[2] = 2.0;
	v->data = sul_xcalloc((size_t)(nx * ny * nz), sizeof(float));
	for (i = 0; i < nx * ny * nz; i++)
		v->data[i] = base + (float)i * 0.5f;
	/* A rotation by a about z, voxel sizes, and an offset. */
	v->ijk_to_xyz[0][0] = 1.5 * cos(a);
	v->ijk_to_xyz[0][1] = -1.0 * sin(a);
	v->ijk_to_xyz[1][0] = 1.5 * sin(a);
	v->ijk_to_xyz[1][1] = 1.0 * cos(a);
	v->ijk_to_xyz[2][2] = 2.0;
	v->ijk_to_xyz[0][3] = -90;
	v->ijk_to_xyz[1][3] = -126;
	v->ijk_to_xyz[2][3] = -72;
	v->ijk_to_xyz[3][3] = 1;
	v->xform_code = NIFTI_XFORM_MNI_152;
}

START_TEST(volume_round_trip_keeps_geometry)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/v.nii.gz", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v, r;
	nifti_image *nim;
	int i, j;

	make_volume(&v, 4, 5, 3, 10);
	ck_assert_int_eq(sul_volume_write(path, &v, SUL_VOL_FLOAT32, &err), 0);
	ck_assert_int_eq(sul_volume_read(path, &r, &err), 0);
	ck_assert_int_eq(r.nx, 4);
	ck_assert_int_eq(r.nz, 3);
	ck_assert_float_eq(r.data[59], v.data[59]);
	ck_assert_int_eq(r.xform_code, NIFTI_XFORM_MNI_152);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			ck_assert_double_eq_tol(r.ijk_to_xyz[i][j], v.ijk_to_xyz[i][j], 1e-5);
	/* The qform equals the sform, with the same code. */
	nim = nifti_image_read(path, 0);
	ck_assert_ptr_nonnull(nim);
	ck_assert_int_eq(nim->qform_code, nim->sform_code);
	for (i = 0; i < 4; i++)
		for (j = 0; j < 4; j++)
			ck_assert_double_eq_tol(nim->qto_xyz.m[i][j], nim->sto_xyz.m[i][j], 1e-4);
	nifti_image_free(nim);
	sul_volume_release(&v);
	sul_volume_release(&r);
	free(path);
	tu_cleanup();
}
END_TEST

static long file_size(const char *path)
{
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	long n;

	ck_assert_int_eq(sul_read_file(path, &b, &err), 0);
	n = (long)b.len;
	sul_buf_release(&b);
	return n;
}

/* Float noise, which deflate cannot shrink by a fifth, is stored in the
 * gzip stream as it is (a tenth of the time); structure is deflated; both
 * read back exactly, and the caller's buffer is left as it was. */
START_TEST(volume_stores_noise_and_deflates_structure)
{
	enum { N = 100 };
	char *dir = tu_tmpdir();
	char *noisy = sul_xasprintf("%s/noise.nii.gz", dir), *smooth = sul_xasprintf("%s/smooth.nii.gz", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v, w, r;
	struct sul_rng rng;
	const long raw = (long)N * N * N * 4;
	int64_t i;

	make_volume(&v, N, N, N, 0);
	make_volume(&w, N, N, N, 0);
	sul_rng_seed(&rng, 3);
	for (i = 0; i < N * N * N; i++) {
		v.data[i] = (float)(1000 + 50 * sul_rng_normal(&rng));
		w.data[i] = (float)(i / (N * N) % 7);  /* slabs of a few labels */
	}
	ck_assert_int_eq(sul_volume_write(noisy, &v, SUL_VOL_FLOAT32, &err), 0);
	ck_assert_int_eq(sul_volume_write(smooth, &w, SUL_VOL_FLOAT32, &err), 0);
	ck_assert_msg(file_size(noisy) > raw, "noise: %ld bytes for %ld of data: expected stored", file_size(noisy), raw);
	ck_assert_msg(file_size(smooth) < raw / 4, "slabs: %ld bytes for %ld of data: expected deflated",
		      file_size(smooth), raw);
	ck_assert_int_eq(sul_volume_read(noisy, &r, &err), 0);
	ck_assert_int_eq(memcmp(r.data, v.data, (size_t)raw), 0);
	sul_volume_release(&r);
	ck_assert_int_eq(sul_volume_read(smooth, &r, &err), 0);
	ck_assert_int_eq(memcmp(r.data, w.data, (size_t)raw), 0);
	ck_assert_float_eq(v.data[0], (float)(1000 + 50 * (sul_rng_seed(&rng, 3), sul_rng_normal(&rng))));
	sul_volume_release(&r);
	sul_volume_release(&v);
	sul_volume_release(&w);
	free(noisy);
	free(smooth);
	tu_cleanup();
}
END_TEST

/* The intensity range is the 0.1th and 99.9th percentiles of the nonzero
 * voxels (a subsample of them in large volumes), as a sort gives them. */
START_TEST(intensity_range_is_the_sorted_percentiles)
{
	struct sul_volume v;
	struct sul_rng rng;
	double lo, hi, want_lo, want_hi;
	float *sorted;
	int64_t i, n;
	int trial, zeros;

	for (trial = 0; trial < 30; trial++) {
		make_volume(&v, 17 + trial, 13, 11, 0);
		sul_rng_seed(&rng, (uint64_t)trial);
		for (i = 0; i < v.nx * v.ny * v.nz; i++)
			/* Every third trial: five levels, so ties, zeros and a constant top. */
			v.data[i] = trial % 3 ? (float)sul_rng_normal(&rng) : (float)sul_rng_below(&rng, 5);
		sorted = sul_xmalloc((size_t)(v.nx * v.ny * v.nz) * sizeof(float));
		for (i = 0, n = 0, zeros = 0; i < v.nx * v.ny * v.nz; i++) {
			if (v.data[i] != 0)
				sorted[n++] = v.data[i];
			zeros |= v.data[i] == 0;
		}
		qsort(sorted, (size_t)n, sizeof(float), sul_cmp_float);
		want_lo = sorted[(size_t)((double)(n - 1) * 0.001)];
		want_hi = sorted[(size_t)((double)(n - 1) * 0.999)];
		if (zeros && want_lo > 0)
			want_lo = 0;
		if (want_hi <= want_lo)
			want_hi = sorted[n - 1];
		ck_assert_int_eq(sul_intensity_range(&v, 1 << 20, &lo, &hi), 0);
		ck_assert_double_eq(lo, want_lo);
		ck_assert_double_eq(hi, want_hi);
		free(sorted);
		sul_volume_release(&v);
	}
}
END_TEST

/* A header that declares 3000^3 voxels over no data: refused from the
 * header, before 54 GB are asked for (or the data found missing). */
START_TEST(volume_size_refused_from_the_header)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/bomb.nii", dir);
	const short side = 3000;
	char expect[4096];
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v;
	int fd, d;

	make_volume(&v, 8, 8, 8, 0);
	ck_assert_int_eq(sul_volume_write(path, &v, SUL_VOL_INT16, &err), 0);
	sul_volume_release(&v);
	ck_assert_int_eq(sul_volume_read_max(path, 512, &v, &err), 0);
	sul_volume_release(&v);
	ck_assert_int_eq(sul_volume_read_max(path, 511, &v, &err), -1);
	ck_assert_ptr_nonnull(strstr(err.msg, "declares 8x8x8 voxels, more than the limit of 511"));
	/* NIfTI-1: 352 bytes of header, dim[1..3] as shorts at byte 42. */
	ck_assert_int_eq(truncate(path, 352), 0);
	fd = open(path, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	for (d = 1; d <= 3; d++)
		ck_assert_int_eq(pwrite(fd, &side, sizeof(side), 40 + 2 * d), (ssize_t)sizeof(side));
	close(fd);
	ck_assert_int_eq(sul_volume_read_max(path, 134217728, &v, &err), -1);
	snprintf(expect, sizeof(expect),
		 "'%s': declares 3000x3000x3000 voxels, more than the limit of 134217728 (sides at most 4096): "
		 "raise the stage's max_voxels if the image is real",
		 path);
	ck_assert_str_eq(err.msg, expect);
	free(path);
	tu_cleanup();
}
END_TEST

START_TEST(volume_errors_name_the_file)
{
	char *dir = tu_tmpdir();
	char *path = sul_xasprintf("%s/t.nii", dir), *missing = sul_xasprintf("%s/none.nii", dir);
	char expect[4096];
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v;

	ck_assert_int_eq(sul_volume_read(missing, &v, &err), -1);
	snprintf(expect, sizeof(expect), "'%s': no such file", missing);
	ck_assert_str_eq(err.msg, expect);
	make_volume(&v, 8, 8, 8, 0);
	ck_assert_int_eq(sul_volume_write(path, &v, SUL_VOL_INT16, &err), 0);
	sul_volume_release(&v);
	ck_assert_int_eq(truncate(path, 352 + 100), 0);  /* header, then a fraction of the voxels */
	ck_assert_int_eq(sul_volume_read(path, &v, &err), -1);
	snprintf(expect, sizeof(expect), "'%s': not a readable NIfTI image (corrupt or truncated?)", path);
	ck_assert_str_eq(err.msg, expect);
	free(path);
	free(missing);
	tu_cleanup();
}
END_TEST

/* --- ingest ---------------------------------------------------------------- */

static char *bids;

static void write_subject(const char *sub, const char *skip_mod)
{
	static const char *const mods[] = { "T1w", "T2w", "FLAIR" };
	struct sul_err err = SUL_ERR_INIT;
	char *anat = sul_xasprintf("%s/%s/anat", bids, sub);
	size_t m;

	ck_assert_int_eq(sul_mkdirs(anat, &err), 0);
	for (m = 0; m < 3; m++) {
		struct sul_volume v;
		char *p;
		if (skip_mod && !strcmp(skip_mod, mods[m]))
			continue;
		p = sul_xasprintf("%s/%s_%s.nii.gz", anat, sub, mods[m]);
		make_volume(&v, 6, 6, 4, (float)m);
		ck_assert_int_eq(sul_volume_write(p, &v, SUL_VOL_INT16, &err), 0);
		sul_volume_release(&v);
		free(p);
	}
	free(anat);
}

struct run {
	struct sul_input inputs[1];
	struct sul_stage_ctx ctx;
	char *out;
};

static void start_run(struct run *r, const char *root)
{
	struct sul_err err = SUL_ERR_INIT;
	static int n;

	memset(r, 0, sizeof(*r));
	r->out = sul_xasprintf("%s/out%d", root, n++);
	ck_assert_int_eq(sul_mkdirs(r->out, &err), 0);
	r->ctx.id = "t";
	r->ctx.out = r->out;
	r->ctx.workdir = root;
}

static int run_kind(struct run *r, const struct sul_kind *k, struct sul_err *err)
{
	return k->run(&r->ctx, err);
}

/* The defaults for everything else (engine/schema.h), as a workflow gets. */
static void ingest_params(struct run *r)
{
	r->ctx.params = tu_params(&sul_kind_ingest, &r->ctx.nparams, "bids=bids", NULL);
}

static char *root;

static void ingest_setup(void)
{
	struct sul_err err = SUL_ERR_INIT;

	root = tu_tmpdir();
	bids = sul_xasprintf("%s/bids", root);
	ck_assert_int_eq(sul_mkdirs(bids, &err), 0);
	write_subject("sub-01", NULL);
	write_subject("sub-02", NULL);
	write_subject("sub-03", NULL);
}

static void ingest_teardown(void)
{
	free(bids);
	tu_cleanup();
}

START_TEST(ingest_reads_bids)
{
	struct sul_err err = SUL_ERR_INIT;
	struct run r;
	struct sul_tsv t;
	char *tsv, *copy;

	tu_write(bids, "participants.tsv", "participant_id\tage\tgroup\nsub-01\t30\tRRMS\nsub-02\t41\tSPMS\nsub-03\t35\tHC\n");
	start_run(&r, root);
	ingest_params(&r);
	ck_assert_msg(run_kind(&r, &sul_kind_ingest, &err) == 0, "%s", err.msg);
	tsv = sul_xasprintf("%s/subjects.tsv", r.out);
	ck_assert_int_eq(sul_tsv_read(tsv, &t, &err), 0);
	ck_assert_uint_eq(t.nrows, 4);
	ck_assert_str_eq(sul_tsv_at(&t, 0, 0), "subject");
	ck_assert_str_eq(sul_tsv_at(&t, 2, 1), "SPMS");
	ck_assert_str_eq(sul_tsv_at(&t, 2, 2), "1");
	ck_assert_str_eq(sul_tsv_at(&t, 3, 5), "sub-03/anat/sub-03_FLAIR.nii.gz");
	copy = sul_xasprintf("%s/%s", r.out, sul_tsv_at(&t, 3, 5));
	ck_assert(sul_path_exists(copy));
	sul_tsv_release(&t);
	free(copy);
	free(tsv);
	free(r.out);
}
END_TEST

static const char *ingest_fail(const char *participants)
{
	static struct sul_err err;
	struct run r;

	tu_write(bids, "participants.tsv", participants);
	start_run(&r, root);
	ingest_params(&r);
	sul_err_clear(&err);
	ck_assert_int_eq(run_kind(&r, &sul_kind_ingest, &err), -1);
	free(r.out);
	return err.msg;
}

START_TEST(ingest_errors)
{
	char expect[4096];
	const char *msg;

	msg = ingest_fail("participant_id\tgroup\nsub-01\tRRMS\nsub-03\tHC\n");
	snprintf(expect, sizeof(expect), "%s/participants.tsv: group 'SPMS' has no subject: every class needs data", bids);
	ck_assert_str_eq(msg, expect);

	msg = ingest_fail("participant_id\tdiagnosis\nsub-01\tRRMS\n");
	ck_assert_msg(strstr(msg, "expected columns 'participant_id' and 'group' (parameter 'group_column') in the header, "
				  "got 'participant_id', 'diagnosis'"), "%s", msg);

	write_subject("sub-04", "FLAIR");
	msg = ingest_fail("participant_id\tgroup\nsub-01\tRRMS\nsub-04\tSPMS\nsub-03\tHC\n");
	ck_assert_str_eq(msg, "participant 'sub-04': FLAIR image: no FLAIR image in sub-04/anat");

	{
		char *t1 = sul_xasprintf("%s/sub-02/anat/sub-02_T1w.nii.gz", bids);
		ck_assert_int_eq(truncate(t1, 200), 0);
		msg = ingest_fail("participant_id\tgroup\nsub-01\tRRMS\nsub-02\tSPMS\nsub-03\tHC\n");
		snprintf(expect, sizeof(expect), "'%s': not a readable NIfTI image (corrupt or truncated?)", t1);
		ck_assert_str_eq(msg, expect);

		/* Every problem in one pass, each naming its file or participant. */
		msg = ingest_fail("participant_id\tgroup\nsub-01\tPPMS\nsub-02\tSPMS\nsub-04\tSPMS\nsub-03\tHC\n"
				  "sub-01\tHC\n");
		ck_assert_msg(!strncmp(msg, "5 problems in the BIDS folder (", 30), "%s", msg);
		snprintf(expect, sizeof(expect), "%s/participants.tsv:2: participant 'sub-01': group 'PPMS' is not one of "
			 "'RRMS,SPMS,HC'", bids);
		ck_assert_msg(strstr(msg, expect), "%s", msg);
		snprintf(expect, sizeof(expect), "'%s': not a readable NIfTI image", t1);
		ck_assert_msg(strstr(msg, expect), "%s", msg);
		ck_assert_msg(strstr(msg, "participant 'sub-04': FLAIR image: no FLAIR image in sub-04/anat"), "%s", msg);
		ck_assert_msg(strstr(msg, "participants.tsv:6: participant 'sub-01' is listed twice (line 2 too)"), "%s",
			      msg);
		ck_assert_msg(strstr(msg, "group 'RRMS' has no subject"), "%s", msg);
		free(t1);
	}
}
END_TEST

/* Windows line ends: the \r goes at the end of every line, not only the last. */
START_TEST(tsv_reads_windows_line_ends)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_tsv t;

	ck_assert_int_eq(sul_tsv_read(tu_write(root, "crlf.tsv", "a\tb\r\n1\t2\r\n3\t4\r\n"), &t, &err), 0);
	ck_assert_uint_eq(t.nrows, 3);
	ck_assert_str_eq(sul_tsv_at(&t, 0, 1), "b");
	ck_assert_str_eq(sul_tsv_at(&t, 1, 1), "2");
	ck_assert_str_eq(sul_tsv_at(&t, 2, 1), "4");
	sul_tsv_release(&t);
}
END_TEST

/* A small image at bids/rel (its folders made). */
static void write_image(const char *rel, float base)
{
	struct sul_err err = SUL_ERR_INIT;
	char *path = sul_xasprintf("%s/%s", bids, rel), *dir = sul_path_dirname(path);
	struct sul_volume v;

	ck_assert_int_eq(sul_mkdirs(dir, &err), 0);
	make_volume(&v, 6, 6, 4, base);
	ck_assert_int_eq(sul_volume_write(path, &v, SUL_VOL_INT16, &err), 0);
	sul_volume_release(&v);
	free(path);
	free(dir);
}

/* The cell of row `row` (1: the first after the header) and column name. */
static const char *cell(const struct sul_tsv *t, size_t row, const char *name)
{
	long c = sul_tsv_col(t, name);

	ck_assert_msg(c >= 0, "no column '%s'", name);
	ck_assert_uint_lt(row, t->nrows);
	return sul_tsv_at(t, row, (size_t)c);
}

/* Runs ingest with the given parameters; 0 or -1, err filled; *out the output folder. */
static int ingest_with(char **out, struct sul_err *err, const char *p1, const char *p2, const char *p3)
{
	struct run r;

	start_run(&r, root);
	r.ctx.params = tu_params(&sul_kind_ingest, &r.ctx.nparams, "bids=bids", p1, p2, p3, NULL);
	*out = r.out;
	return run_kind(&r, &sul_kind_ingest, err);
}

static void read_out(const char *out, const char *name, struct sul_tsv *t)
{
	struct sul_err err = SUL_ERR_INIT;
	char *path = sul_xasprintf("%s/%s", out, name);

	ck_assert_msg(sul_tsv_read(path, t, &err) == 0, "%s", err.msg);
	free(path);
}

/*
 * A layout like the BIDS specification's examples: sessions (numbered so
 * that 10 sorts after 02), runs, acquisitions, a contrast-enhanced T1w,
 * sidecars at the dataset and image levels, derivatives per session, and a
 * participants.tsv with a byte-order mark, Windows line ends, quotes,
 * spaces, n/a, an id without "sub-", a capitalised group column and
 * columns of its own.
 */
static void write_bids_layout(void)
{
	static const char *const ses[3] = { "01", "02", "10" };
	static const char *const mods[3] = { "T1w", "T2w", "FLAIR" };
	struct sul_err err = SUL_ERR_INIT;
	char rel[256];
	int i, m;

	ck_assert_int_eq(sul_rmtree(bids, &err), 0);
	for (i = 0; i < 3; i++) {
		for (m = 0; m < 3; m++) {
			snprintf(rel, sizeof(rel), "sub-01/ses-%s/anat/sub-01_ses-%s_%s.nii.gz", ses[i], ses[i], mods[m]);
			write_image(rel, (float)(10 * i + m));
		}
		snprintf(rel, sizeof(rel), "derivatives/synth/sub-01/ses-%s/anat/sub-01_ses-%s_brain.nii.gz", ses[i], ses[i]);
		write_image(rel, 1);
	}
	/* Two runs of T2w in ses-02 and an image-level sidecar in ses-01. */
	write_image("sub-01/ses-02/anat/sub-01_ses-02_run-1_T2w.nii.gz", 100);
	write_image("sub-01/ses-02/anat/sub-01_ses-02_run-2_T2w.nii.gz", 200);
	unlink(tu_write(bids, "sub-01/ses-02/anat/sub-01_ses-02_T2w.nii.gz", ""));
	tu_write(bids, "sub-01/ses-01/anat/sub-01_ses-01_T1w.json", "{\"MagneticFieldStrength\": 1.5}");
	/* No sessions; a contrast-enhanced T1w beside the plain one; FLAIR in a 3d acquisition and the default. */
	for (m = 0; m < 3; m++) {
		snprintf(rel, sizeof(rel), "sub-02/anat/sub-02_%s.nii.gz", mods[m]);
		write_image(rel, (float)m);
		snprintf(rel, sizeof(rel), "sub-03/anat/sub-03_%s.nii.gz", mods[m]);
		write_image(rel, (float)m);
	}
	write_image("sub-02/anat/sub-02_ce-gadolinium_T1w.nii.gz", 50);
	write_image("sub-02/anat/sub-02_acq-3d_FLAIR.nii.gz", 60);
	write_image("derivatives/synth/sub-02/sub-02_brain.nii.gz", 1);
	write_image("derivatives/synth/sub-03/sub-03_brain.nii.gz", 1);
	/* A subject folder participants.tsv does not list. */
	write_image("sub-09/anat/sub-09_T1w.nii.gz", 0);
	tu_write(bids, "T1w.json", "{\"MagneticFieldStrength\": 3, \"Manufacturer\": \"Siemens\", \"EchoTime\": 0.0029}");
	tu_write(bids, "dataset_description.json", "{\"Name\": \"toy MS\", \"BIDSVersion\": \"1.8.0\"}");
	tu_write(bids, "participants.tsv", "\xEF\xBB\xBFparticipant_id\tGroup\tage\tsession\r\n"
					   "01\t\"RRMS\"\t34\tx\r\n"
					   "sub-02\t SPMS \tn/a\ty\r\n"
					   "sub-03\tHC\t51\tz\r\n");
}

START_TEST(ingest_reads_bids_as_found)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_tsv t, im, pt, ds;
	char *out;
	size_t r;

	write_bids_layout();
	/* The first session, the last run, the default acquisitions. */
	ck_assert_msg(ingest_with(&out, &err, NULL, NULL, NULL) == 0, "%s", err.msg);
	read_out(out, "subjects.tsv", &t);
	ck_assert_uint_eq(t.nrows, 4);
	ck_assert_str_eq(cell(&t, 1, "subject"), "sub-01");
	ck_assert_str_eq(cell(&t, 1, "group"), "RRMS");
	ck_assert_str_eq(cell(&t, 1, "participant"), "sub-01");
	ck_assert_str_eq(cell(&t, 1, "session"), "01");
	ck_assert_str_eq(cell(&t, 1, "T2w"), "sub-01/ses-01/anat/sub-01_ses-01_T2w.nii.gz");
	ck_assert_str_eq(cell(&t, 1, "mask"), "derivatives/synth/sub-01/ses-01/anat/sub-01_ses-01_brain.nii.gz");
	ck_assert_str_eq(cell(&t, 1, "field_strength_t"), "1.5");  /* the image's sidecar over the dataset's */
	ck_assert_str_eq(cell(&t, 2, "field_strength_t"), "3");
	ck_assert_str_eq(cell(&t, 1, "T1w_voxel_mm"), "1.5x1x2");
	ck_assert_str_eq(cell(&t, 2, "group"), "SPMS");
	ck_assert_str_eq(cell(&t, 2, "session"), "");
	ck_assert_str_eq(cell(&t, 2, "T1w"), "sub-02/anat/sub-02_T1w.nii.gz");    /* not ce-gadolinium */
	ck_assert_str_eq(cell(&t, 2, "FLAIR"), "sub-02/anat/sub-02_FLAIR.nii.gz"); /* not acq-3d */
	ck_assert_str_eq(cell(&t, 2, "mask"), "derivatives/synth/sub-02/sub-02_brain.nii.gz");
	ck_assert_str_eq(cell(&t, 1, "age"), "34");
	ck_assert_str_eq(cell(&t, 2, "age"), "");  /* n/a */
	ck_assert_str_eq(cell(&t, 3, "participants_session"), "z");
	for (r = 1; r < t.nrows; r++) {
		char *copy = sul_xasprintf("%s/%s", out, cell(&t, r, "FLAIR"));
		ck_assert_msg(sul_path_exists(copy), "%s", copy);
		free(copy);
	}
	read_out(out, "tables/bids_images.tsv", &im);
	ck_assert_uint_eq(im.nrows, 10);
	ck_assert_str_eq(cell(&im, 1, "manufacturer"), "Siemens");
	ck_assert_str_eq(cell(&im, 1, "te_s"), "0.0029");
	ck_assert_str_eq(cell(&im, 4, "chosen_by"), "the default acquisition; 2 T1w images found");
	read_out(out, "tables/bids_participants.tsv", &pt);
	ck_assert_str_eq(cell(&pt, 1, "participant"), "sub-09");
	ck_assert_str_eq(cell(&pt, 1, "status"), "unlisted");
	ck_assert_str_eq(cell(&pt, 2, "sessions_found"), "3");
	ck_assert_str_eq(cell(&pt, 2, "sessions_used"), "01");
	read_out(out, "tables/bids_dataset.tsv", &ds);
	ck_assert_str_eq(cell(&ds, 1, "name"), "toy MS");
	ck_assert_str_eq(cell(&ds, 1, "bids_version"), "1.8.0");
	sul_tsv_release(&t);
	sul_tsv_release(&im);
	sul_tsv_release(&pt);
	sul_tsv_release(&ds);
	free(out);

	/* The last session (10 after 02: labels compare as numbers). */
	ck_assert_msg(ingest_with(&out, &err, "session=last", NULL, NULL) == 0, "%s", err.msg);
	read_out(out, "subjects.tsv", &t);
	ck_assert_str_eq(cell(&t, 1, "T1w"), "sub-01/ses-10/anat/sub-01_ses-10_T1w.nii.gz");
	sul_tsv_release(&t);
	free(out);

	/* A named session, with the first of its two T2w runs. */
	ck_assert_msg(ingest_with(&out, &err, "session=ses-02", "run=first", NULL) == 0, "%s", err.msg);
	read_out(out, "subjects.tsv", &t);
	ck_assert_str_eq(cell(&t, 1, "T2w"), "sub-01/ses-02/anat/sub-01_ses-02_run-1_T2w.nii.gz");
	read_out(out, "tables/bids_images.tsv", &im);
	ck_assert_str_eq(cell(&im, 2, "chosen_by"), "run 1 of 1, 2 (rule: first); 2 T2w images found");
	ck_assert_str_eq(cell(&im, 2, "run"), "1");
	sul_tsv_release(&t);
	sul_tsv_release(&im);
	free(out);

	/* Every session its own row, one participant; the acq-3d FLAIR when asked for. */
	write_image("sub-03/anat/sub-03_acq-3d_FLAIR.nii.gz", 70);
	ck_assert_msg(ingest_with(&out, &err, "session=all", "acq=FLAIR:3d", NULL) != 0, "expected a failure");
	ck_assert_msg(strstr(err.msg, "participant 'sub-01' session 01: FLAIR image: no FLAIR image in "
				      "sub-01/ses-01/anat matching parameters acq/ce/rec ('3d', '', ''; 1 FLAIR image "
				      "there)"), "%s", err.msg);
	ck_assert_msg(!strstr(err.msg, "T1w image"), "%s", err.msg);  /* the filter is FLAIR's only */
	sul_err_clear(&err);
	free(out);
	ck_assert_msg(ingest_with(&out, &err, "session=all", NULL, NULL) == 0, "%s", err.msg);
	read_out(out, "subjects.tsv", &t);
	ck_assert_uint_eq(t.nrows, 6);
	ck_assert_str_eq(cell(&t, 3, "subject"), "sub-01_ses-10");
	ck_assert_str_eq(cell(&t, 3, "participant"), "sub-01");
	ck_assert_str_eq(cell(&t, 2, "T2w"), "sub-01/ses-02/anat/sub-01_ses-02_run-2_T2w.nii.gz");
	ck_assert_str_eq(cell(&t, 4, "subject"), "sub-02");
	sul_tsv_release(&t);
	free(out);
}
END_TEST

/* Ambiguity is a problem, not a guess; missing = "drop" leaves the
 * participant out and says where. */
START_TEST(ingest_refuses_to_guess_and_drops_on_request)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_tsv t, pt;
	char *out;

	write_bids_layout();
	write_image("sub-03/anat/sub-03_acq-2d_FLAIR.nii.gz", 70);
	write_image("sub-03/anat/sub-03_acq-3d_FLAIR.nii.gz", 71);
	unlink(tu_write(bids, "sub-03/anat/sub-03_FLAIR.nii.gz", ""));
	ck_assert_int_eq(ingest_with(&out, &err, NULL, NULL, NULL), -1);
	ck_assert_str_eq(err.msg, "participant 'sub-03': FLAIR image: 2 FLAIR images in sub-03/anat differ in more than "
				  "their run: sub-03_acq-2d_FLAIR.nii.gz sub-03_acq-3d_FLAIR.nii.gz (choose with parameters "
				  "acq, ce or rec)");
	free(out);
	/* Dropping sub-03 leaves HC empty: still refused, and saying so. */
	sul_err_clear(&err);
	ck_assert_int_eq(ingest_with(&out, &err, "missing=drop", NULL, NULL), -1);
	ck_assert_msg(strstr(err.msg, "group 'HC' has no remaining subject"), "%s", err.msg);
	free(out);
	sul_err_clear(&err);
	tu_write(bids, "participants.tsv", "participant_id\tgroup\nsub-01\tRRMS\nsub-02\tSPMS\nsub-03\tHC\nsub-04\tHC\n");
	write_subject("sub-04", NULL);
	write_image("derivatives/synth/sub-04/sub-04_brain.nii.gz", 1);
	ck_assert_msg(ingest_with(&out, &err, "missing=drop", NULL, NULL) == 0, "%s", err.msg);
	read_out(out, "subjects.tsv", &t);
	ck_assert_uint_eq(t.nrows, 4);
	ck_assert_str_eq(cell(&t, 3, "subject"), "sub-04");
	read_out(out, "tables/bids_participants.tsv", &pt);
	ck_assert_str_eq(cell(&pt, 4, "participant"), "sub-03");
	ck_assert_str_eq(cell(&pt, 4, "status"), "dropped");
	ck_assert_msg(strstr(cell(&pt, 4, "reason"), "differ in more than their run"), "%s", cell(&pt, 4, "reason"));
	{
		struct sul_buf b = SUL_BUF_INIT;
		char *metrics = sul_xasprintf("%s/metrics.tsv", out);
		ck_assert_int_eq(sul_read_file(metrics, &b, &err), 0);
		ck_assert_msg(strstr(b.buf, "subjects_dropped\t\t1.0\n"), "%s", b.buf);
		sul_buf_release(&b);
		free(metrics);
	}
	sul_tsv_release(&t);
	sul_tsv_release(&pt);
	free(out);
}
END_TEST

/* --- split ----------------------------------------------------------------- */

/* 10 RRMS, 9 SPMS, 19 HC subjects with `rows` rows (slices) each. */
static void write_index(const char *dir, int rows)
{
	struct sul_buf b = SUL_BUF_INIT;
	int s, k;

	sul_buf_adds(&b, "subject\tslice\tgroup\n");
	for (s = 0; s < 38; s++)
		for (k = 0; k < rows; k++)
			sul_buf_addf(&b, "sub-%02d\t%d\t%s\n", s, k, s < 10 ? "RRMS" : s < 19 ? "SPMS" : "HC");
	tu_write(dir, "index.tsv", b.buf);
	sul_buf_release(&b);
}

static char *run_split(const char *dir, long long seed, const char *level)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_buf b = SUL_BUF_INIT;
	char *path, level_set[64], seed_set[64];
	struct run r;

	start_run(&r, dir);
	r.inputs[0].id = "slices";
	r.inputs[0].dir = dir;
	r.ctx.inputs = r.inputs;
	r.ctx.ninputs = 1;
	snprintf(level_set, sizeof(level_set), "level=%s", level);
	snprintf(seed_set, sizeof(seed_set), "seed=%lld", seed);
	r.ctx.params = tu_params(&sul_kind_split, &r.ctx.nparams, level_set, seed_set, "table=index.tsv", "test=0.15",
				 "train=0.75", "val=0.10", NULL);
	ck_assert_msg(run_kind(&r, &sul_kind_split, &err) == 0, "%s", err.msg);
	path = sul_xasprintf("%s/split.tsv", r.out);
	ck_assert_int_eq(sul_read_file(path, &b, &err), 0);
	free(path);
	free(r.out);
	return sul_buf_detach(&b);
}

/* For each subject, the set of splits its rows are in (bit 0 train, 1 val, 2 test). */
static void splits_of(const char *text, int mask[38], int per_group[3][3])
{
	const char *line = strchr(text, '\n') + 1;

	memset(mask, 0, 38 * sizeof(int));
	memset(per_group, 0, 9 * sizeof(int));
	while (*line) {
		int s, k, bit;
		char group[16], split[16];
		ck_assert_int_eq(sscanf(line, "sub-%d\t%d\t%15s\t%15s", &s, &k, group, split), 4);
		bit = !strcmp(split, "train") ? 0 : !strcmp(split, "val") ? 1 : 2;
		if (!(mask[s] & (1 << bit)) && k == 0)
			per_group[s < 10 ? 0 : s < 19 ? 1 : 2][bit]++;
		mask[s] |= 1 << bit;
		line = strchr(line, '\n') + 1;
	}
}

START_TEST(split_keeps_subjects_whole_and_stratified)
{
	char *dir = tu_tmpdir();
	char *a, *b, *c;
	int mask[38], per_group[3][3], s;

	write_index(dir, 5);
	a = run_split(dir, 7, "subject");
	splits_of(a, mask, per_group);
	for (s = 0; s < 38; s++)
		ck_assert_msg(mask[s] == 1 || mask[s] == 2 || mask[s] == 4, "sub-%02d is in several splits", s);
	/* 10 RRMS -> 8/1/1, 9 SPMS -> 7/1/1, 19 HC -> 14/2/3 (largest remainder of 14.25/1.9/2.85) */
	ck_assert_int_eq(per_group[0][0], 8);
	ck_assert_int_eq(per_group[0][1], 1);
	ck_assert_int_eq(per_group[1][0], 7);
	ck_assert_int_eq(per_group[1][2], 1);
	ck_assert_int_eq(per_group[2][0], 14);
	ck_assert_int_eq(per_group[2][1], 2);
	ck_assert_int_eq(per_group[2][2], 3);
	b = run_split(dir, 7, "subject");
	ck_assert_str_eq(a, b);      /* deterministic for a seed */
	c = run_split(dir, 8, "subject");
	ck_assert_str_ne(a, c);      /* and the seed matters */
	free(a);
	free(b);
	free(c);
	tu_cleanup();
}
END_TEST

START_TEST(row_level_split_leaks_and_says_so)
{
	char *dir = tu_tmpdir();
	char *a;
	int mask[38], per_group[3][3], s, leaked = 0;

	write_index(dir, 20);
	a = run_split(dir, 7, "row");
	splits_of(a, mask, per_group);
	for (s = 0; s < 38; s++)
		leaked += mask[s] != 1 && mask[s] != 2 && mask[s] != 4;
	ck_assert_int_gt(leaked, 0);
	free(a);
	tu_cleanup();
}
END_TEST

/* The one list splitter: lenient callers take the non-empty items, strict
 * ones (slices' channels and labels) refuse what malformed reports. */
START_TEST(split_list_trims_and_reports_malformed)
{
	char buf[64], *items[3];
	int malformed = -1;

	snprintf(buf, sizeof(buf), " T1w, T2w ,FLAIR ");
	ck_assert_uint_eq(sul_split_list(buf, items, 3, &malformed), 3);
	ck_assert_int_eq(malformed, 0);
	ck_assert_str_eq(items[0], "T1w");
	ck_assert_str_eq(items[1], "T2w");
	ck_assert_str_eq(items[2], "FLAIR");
	snprintf(buf, sizeof(buf), "a,,b");
	ck_assert_uint_eq(sul_split_list(buf, items, 3, &malformed), 2);
	ck_assert_int_eq(malformed, 1);
	ck_assert_str_eq(items[1], "b");
	snprintf(buf, sizeof(buf), "a,b,c,d");
	ck_assert_uint_eq(sul_split_list(buf, items, 3, &malformed), 3);
	ck_assert_int_eq(malformed, 1);
	ck_assert_str_eq(items[2], "c");
	snprintf(buf, sizeof(buf), "a, ");
	ck_assert_uint_eq(sul_split_list(buf, items, 3, &malformed), 1);
	ck_assert_int_eq(malformed, 1);
	snprintf(buf, sizeof(buf), " ");
	ck_assert_uint_eq(sul_split_list(buf, items, 3, &malformed), 0);
	ck_assert_int_eq(malformed, 1);
	snprintf(buf, sizeof(buf), "x,y");
	ck_assert_uint_eq(sul_split_list(buf, items, 3, NULL), 2);
}
END_TEST

SUL_SUITE(stages)
{
	Suite *s = suite_create("stages");
	TCase *vol = tcase_create("volume");
	TCase *ing = tcase_create("ingest");
	TCase *spl = tcase_create("split");
	TCase *lst = tcase_create("list");

	tcase_add_test(vol, volume_round_trip_keeps_geometry);
	tcase_add_test(vol, volume_errors_name_the_file);
	tcase_add_test(vol, volume_size_refused_from_the_header);
	tcase_add_test(vol, volume_stores_noise_and_deflates_structure);
	tcase_add_test(vol, intensity_range_is_the_sorted_percentiles);
	suite_add_tcase(s, vol);
	tcase_add_checked_fixture(ing, ingest_setup, ingest_teardown);
	tcase_add_test(ing, ingest_reads_bids);
	tcase_add_test(ing, ingest_errors);
	tcase_add_test(ing, tsv_reads_windows_line_ends);
	tcase_add_test(ing, ingest_reads_bids_as_found);
	tcase_add_test(ing, ingest_refuses_to_guess_and_drops_on_request);
	suite_add_tcase(s, ing);
	tcase_add_test(spl, split_keeps_subjects_whole_and_stratified);
	tcase_add_test(spl, row_level_split_leaks_and_says_so);
	suite_add_tcase(s, spl);
	tcase_add_test(lst, split_list_trims_and_reports_malformed);
	suite_add_tcase(s, lst);
	return s;
}
