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

	msg = ingest_fail("participant_id\tgroup\nsub-01\tRRMS\nsub-02\tPPMS\nsub-03\tHC\n");
	snprintf(expect, sizeof(expect),
		 "%s/participants.tsv: subject 'sub-02': group 'PPMS' is not one of 'RRMS,SPMS,HC' (parameter 'groups')",
		 bids);
	ck_assert_str_eq(msg, expect);

	msg = ingest_fail("participant_id\tgroup\nsub-01\tRRMS\nsub-03\tHC\n");
	snprintf(expect, sizeof(expect), "%s/participants.tsv: group 'SPMS' has no subject: every class needs data", bids);
	ck_assert_str_eq(msg, expect);

	msg = ingest_fail("participant_id\tdiagnosis\nsub-01\tRRMS\n");
	ck_assert_ptr_nonnull(strstr(msg, "expected columns 'participant_id' and 'group' in the header"));

	write_subject("sub-04", "FLAIR");
	msg = ingest_fail("participant_id\tgroup\nsub-01\tRRMS\nsub-04\tSPMS\nsub-03\tHC\n");
	snprintf(expect, sizeof(expect),
		 "subject 'sub-04': missing FLAIR image: expected '%s/sub-04/anat/sub-04_FLAIR.nii.gz' (or .nii)", bids);
	ck_assert_str_eq(msg, expect);

	{
		char *t1 = sul_xasprintf("%s/sub-02/anat/sub-02_T1w.nii.gz", bids);
		ck_assert_int_eq(truncate(t1, 200), 0);
		msg = ingest_fail("participant_id\tgroup\nsub-01\tRRMS\nsub-02\tSPMS\nsub-03\tHC\n");
		snprintf(expect, sizeof(expect), "'%s': not a readable NIfTI image (corrupt or truncated?)", t1);
		ck_assert_str_eq(msg, expect);
		free(t1);
	}
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
	suite_add_tcase(s, ing);
	tcase_add_test(spl, split_keeps_subjects_whole_and_stratified);
	tcase_add_test(spl, row_level_split_leaks_and_says_so);
	suite_add_tcase(s, spl);
	tcase_add_test(lst, split_list_trims_and_reports_malformed);
	suite_add_tcase(s, lst);
	return s;
}
