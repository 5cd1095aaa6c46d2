/*
 * check_group_maps.c - the `group_maps` kind on inputs written here: an
 * atlas stage's template and tables (identity transforms) and two cam
 * stages' heatmap volumes, with a group effect planted in a known place
 * over noise, so that every figure has an answer to check against.
 */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../stages/rng.h"
#include "../stages/tsv.h"
#include "../stages/volume.h"

#include <math.h>
#include <nifti2_io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const struct sul_kind sul_kind_group_maps;

#define N 20         /* voxels along each axis, 2 mm */
#define NSUB 12      /* 6 per group */

static void grid(struct sul_volume *v)
{
	int a;

	memset(v, 0, sizeof(*v));
	v->nx = v->ny = v->nz = N;
	v->data = sul_xcalloc(N * N * N, sizeof(float));
	for (a = 0; a < 3; a++) {
		v->pixdim[a] = 2;
		v->ijk_to_xyz[a][a] = 2;
		v->ijk_to_xyz[a][3] = -20;
	}
	v->ijk_to_xyz[3][3] = 1;
	v->xform_code = NIFTI_XFORM_MNI_152;
}

static void put(const char *path, struct sul_volume *v)
{
	struct sul_err err = SUL_ERR_INIT;
	char *dir = sul_path_dirname(path);

	ck_assert_int_eq(sul_mkdirs(dir, &err), 0);
	ck_assert_msg(sul_volume_write(path, v, SUL_VOL_FLOAT32, &err) == 0, "%s", err.msg);
	free(dir);
}

/* Inside the planted effect: a ball of radius 3 voxels about (6, 6, 8). */
static int in_blob(int x, int y, int z)
{
	return (x - 6) * (x - 6) + (y - 6) * (y - 6) + (z - 8) * (z - 8) <= 9;
}

/* The atlas stage: brain = all but a 1-voxel border, lobes by x (frontal
 * x < 10, temporal above), one tract (label 3) over the blob; subjects
 * sub-01..06 in group A, 07..12 in B, identity transforms. */
static void write_atlas(const char *dir)
{
	struct sul_volume brain, lobes, tracts;
	struct sul_buf subj = SUL_BUF_INIT, tr = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	char *p;
	int x, y, z, s;

	grid(&brain);
	grid(&lobes);
	grid(&tracts);
	for (z = 0; z < N; z++)
		for (y = 0; y < N; y++)
			for (x = 0; x < N; x++) {
				int i = x + N * (y + N * z), inside = x && y && z && x < N - 1 && y < N - 1 && z < N - 1;
				brain.data[i] = (float)inside;
				lobes.data[i] = inside ? (x < 10 ? 1.0f : 2.0f) : 0.0f;
				tracts.data[i] = inside && in_blob(x, y, z) ? 3.0f : 0.0f;
			}
	p = sul_xasprintf("%s/template/brain.nii.gz", dir);
	put(p, &brain);
	free(p);
	p = sul_xasprintf("%s/template/lobes.nii.gz", dir);
	put(p, &lobes);
	free(p);
	p = sul_xasprintf("%s/template/wm_tracts.nii.gz", dir);
	put(p, &tracts);
	free(p);
	tu_write(dir, "template/wm_tracts.tsv", "label\tname\n0\tUnclassified\n3\tGenu_of_corpus_callosum\n");
	sul_buf_adds(&subj, "subject\tgroup\tT1w\n");
	sul_buf_adds(&tr, "subject\tm00\tm01\tm02\tm10\tm11\tm12\tm20\tm21\tm22\ttx_mm\tty_mm\ttz_mm\tcx_mm\tcy_mm\tcz_mm\tmi"
			  "\twarp\n");
	for (s = 1; s <= NSUB; s++) {
		sul_buf_addf(&subj, "sub-%02d\t%s\tx.nii.gz\n", s, s <= NSUB / 2 ? "A" : "B");
		sul_buf_addf(&tr, "sub-%02d\t1\t0\t0\t0\t1\t0\t0\t0\t1\t0\t0\t0\t0\t0\t0\t1\t\n", s);
	}
	tu_write(dir, "subjects.tsv", subj.buf);
	tu_write(dir, "transforms.tsv", tr.buf);
	(void)err;
	sul_buf_release(&subj);
	sul_buf_release(&tr);
	sul_volume_release(&brain);
	sul_volume_release(&lobes);
	sul_volume_release(&tracts);
}

/* A cam stage: gradcam = noise plus, for group A, 1 on the blob;
 * gradcampp the same maps (so the two methods agree perfectly).  The top
 * slice (z = N - 1) has no heatmap in sub-03, as for a slice `slices`
 * dropped. */
static void write_cam(const char *dir, uint64_t seed)
{
	struct sul_rng rng;
	int s, x, y, z, m;

	sul_rng_seed(&rng, seed);
	for (s = 1; s <= NSUB; s++) {
		struct sul_volume v;
		grid(&v);
		for (z = 0; z < N; z++)
			for (y = 0; y < N; y++)
				for (x = 0; x < N; x++)
					v.data[x + N * (y + N * z)] = (float)(0.5 + 0.1 * sul_rng_normal(&rng)
									      + (s <= NSUB / 2 && in_blob(x, y, z)));
		if (s == 3)
			memset(v.data + (N - 1) * N * N, 0, N * N * sizeof(float));
		for (m = 0; m < 2; m++) {
			char *p = sul_xasprintf("%s/volumes/%s/sub-%02d_predicted.nii.gz", dir, m ? "gradcampp" : "gradcam", s);
			put(p, &v);
			free(p);
		}
		sul_volume_release(&v);
	}
}

START_TEST(planted_group_effect_is_found_where_it_is)
{
	char *dir = tu_tmpdir(), *atlas = sul_xasprintf("%s/atlas", dir), *c1 = sul_xasprintf("%s/c1", dir);
	char *c2 = sul_xasprintf("%s/c2", dir), *out = sul_xasprintf("%s/out", dir), *p;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_input in[3] = { { "atlas", NULL, "atlas" }, { "cam_a", NULL, "cam" }, { "cam_b", NULL, "cam" } };
	struct sul_stage_ctx ctx;
	struct sul_volume pmap;
	struct sul_tsv t;
	size_t row, blob_sig = 0, blob = 0, outside_sig = 0;
	int x, y, z, seen_methods = 0, seen_subjects = 0, seen_tract = 0;

	write_atlas(atlas);
	write_cam(c1, 1);
	write_cam(c2, 2);
	ck_assert_int_eq(sul_mkdirs(out, &err), 0);
	in[0].dir = atlas;
	in[1].dir = c1;
	in[2].dir = c2;
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = "group_maps";
	ctx.out = out;
	ctx.workdir = dir;
	ctx.inputs = in;
	ctx.ninputs = 3;
	ctx.params = tu_params(&sul_kind_group_maps, &ctx.nparams, "voxel_mm=2", "permutations=200", NULL);
	ck_assert_msg(sul_kind_group_maps.run(&ctx, &err) == 0, "%s", err.msg);

	/* The test: significant on the blob, not elsewhere (FWE 5%: a false
	 * positive anywhere in 1 run out of 20; the seed is fixed). */
	p = sul_xasprintf("%s/maps/cam_a/gradcam/p_fwe.nii.gz", out);
	ck_assert_msg(sul_volume_read(p, &pmap, &err) == 0, "%s", err.msg);
	free(p);
	for (z = 1; z < N - 1; z++)
		for (y = 1; y < N - 1; y++)
			for (x = 1; x < N - 1; x++) {
				float v = pmap.data[x + N * (y + N * z)];
				int sig = v > 0 && v < 0.05f;
				if (in_blob(x, y, z)) {
					blob++;
					blob_sig += sig;
				} else if ((x - 6) * (x - 6) + (y - 6) * (y - 6) + (z - 8) * (z - 8) > 16) {
					outside_sig += sig;
				}
			}
	ck_assert_msg(blob_sig * 10 >= blob * 9, "%zu of %zu blob voxels significant", blob_sig, blob);
	ck_assert_msg(outside_sig == 0, "%zu voxels away from the blob significant", outside_sig);
	/* The slice sub-03 lacks is out of the mask: its p is 0 (not tested). */
	for (y = 1; y < N - 1; y++)
		ck_assert(pmap.data[5 + N * (y + N * (N - 2))] == 0);
	sul_volume_release(&pmap);
	/* F at the blob's centre, against one-way ANOVA computed here from the
	 * subjects' values there (identity transforms: the same voxel). */
	{
		const int v = 6 + N * (6 + N * 8);
		double val[NSUB], mean[2] = { 0, 0 }, all = 0, between = 0, within = 0, f_expect;
		struct sul_volume fv;
		int s;
		for (s = 0; s < NSUB; s++) {
			struct sul_volume h;
			char *ph = sul_xasprintf("%s/volumes/gradcam/sub-%02d_predicted.nii.gz", c1, s + 1);
			ck_assert_int_eq(sul_volume_read(ph, &h, &err), 0);
			val[s] = h.data[v];
			mean[s >= NSUB / 2] += val[s] / (NSUB / 2);
			all += val[s] / NSUB;
			sul_volume_release(&h);
			free(ph);
		}
		for (s = 0; s < NSUB; s++) {
			within += (val[s] - mean[s >= NSUB / 2]) * (val[s] - mean[s >= NSUB / 2]);
			between += (mean[s >= NSUB / 2] - all) * (mean[s >= NSUB / 2] - all);
		}
		f_expect = (between / 1) / (within / (NSUB - 2));
		p = sul_xasprintf("%s/maps/cam_a/gradcam/F.nii.gz", out);
		ck_assert_int_eq(sul_volume_read(p, &fv, &err), 0);
		free(p);
		ck_assert_msg(fabs(fv.data[v] - f_expect) < 1e-3 * f_expect, "F %g, expected %g", fv.data[v], f_expect);
		sul_volume_release(&fv);
	}
	/* Group means: A is 1 higher on the blob. */
	{
		struct sul_volume a, b;
		char *pa = sul_xasprintf("%s/maps/cam_b/gradcampp/A_mean.nii.gz", out);
		char *pb = sul_xasprintf("%s/maps/cam_b/gradcampp/B_mean.nii.gz", out);
		ck_assert_int_eq(sul_volume_read(pa, &a, &err), 0);
		ck_assert_int_eq(sul_volume_read(pb, &b, &err), 0);
		ck_assert_msg(fabs(a.data[6 + N * (6 + N * 8)] - b.data[6 + N * (6 + N * 8)] - 1) < 0.15, "A - B at the blob: %g",
			      a.data[6 + N * (6 + N * 8)] - b.data[6 + N * (6 + N * 8)]);
		ck_assert(fabs(a.data[15 + N * (15 + N * 12)] - b.data[15 + N * (15 + N * 12)]) < 0.15);
		free(pa);
		free(pb);
		sul_volume_release(&a);
		sul_volume_release(&b);
	}
	/* Consistency: identical maps of two methods agree perfectly; noise
	 * maps of different subjects of B hardly at all. */
	p = sul_xasprintf("%s/tables/map_consistency.tsv", out);
	ck_assert_int_eq(sul_tsv_read(p, &t, &err), 0);
	free(p);
	for (row = 1; row < t.nrows; row++) {
		const char *across = sul_tsv_at(&t, row, 0);
		double rho = strtod(sul_tsv_at(&t, row, 5), NULL);
		if (!strcmp(across, "methods")) {
			ck_assert_msg(fabs(rho - 1) < 1e-9, "methods: %g", rho);
			seen_methods++;
		} else if (!strcmp(across, "subjects") && !strcmp(sul_tsv_at(&t, row, 3), "B")) {
			ck_assert_msg(fabs(rho) < 0.1, "subjects of B: %g", rho);
			ck_assert_str_eq(sul_tsv_at(&t, row, 6), "15");
			seen_subjects++;
		}
	}
	ck_assert_int_eq(seen_methods, 4);   /* 2 cam stages x 2 groups */
	ck_assert_int_eq(seen_subjects, 4);  /* 2 cam stages x 2 methods */
	sul_tsv_release(&t);
	/* Regions: the tract over the blob takes more heat in A, and the test says so. */
	p = sul_xasprintf("%s/tables/map_region_tests.tsv", out);
	ck_assert_int_eq(sul_tsv_read(p, &t, &err), 0);
	free(p);
	for (row = 1; row < t.nrows; row++)
		if (!strcmp(sul_tsv_at(&t, row, 2), "wm_tracts") && !strcmp(sul_tsv_at(&t, row, 0), "cam_a")
		    && !strcmp(sul_tsv_at(&t, row, 1), "gradcam")) {
			double share = strtod(sul_tsv_at(&t, row, 7), NULL), vol = strtod(sul_tsv_at(&t, row, 9), NULL);
			ck_assert_str_eq(sul_tsv_at(&t, row, 4), "Genu_of_corpus_callosum");
			if (!strcmp(sul_tsv_at(&t, row, 5), "A"))
				ck_assert_msg(share > 2 * vol, "A's share %g, volume %g", share, vol);
			else
				ck_assert_msg(fabs(share - vol) < 0.3 * vol, "B's share %g, volume %g", share, vol);
			/* Kruskal-Wallis with 6 + 6 perfectly separated: H = 8.31, p = 0.0039 */
			ck_assert_msg(fabs(strtod(sul_tsv_at(&t, row, 10), NULL) - 8.3077) < 1e-3, "H %s",
				      sul_tsv_at(&t, row, 10));
			ck_assert_msg(fabs(strtod(sul_tsv_at(&t, row, 11), NULL) - 0.003948) < 1e-5, "p %s",
				      sul_tsv_at(&t, row, 11));
			seen_tract++;
		}
	ck_assert_int_eq(seen_tract, 2);
	sul_tsv_release(&t);
	free(atlas);
	free(c1);
	free(c2);
	free(out);
}
END_TEST

START_TEST(missing_heatmap_is_named)
{
	char *dir = tu_tmpdir(), *atlas = sul_xasprintf("%s/atlas", dir), *c1 = sul_xasprintf("%s/c1", dir);
	char *out = sul_xasprintf("%s/out", dir), *gone;
	struct sul_err err = SUL_ERR_INIT;
	struct sul_input in[2] = { { "atlas", NULL, "atlas" }, { "cam_a", NULL, "cam" } };
	struct sul_stage_ctx ctx;

	write_atlas(atlas);
	write_cam(c1, 1);
	gone = sul_xasprintf("%s/volumes/gradcampp/sub-05_predicted.nii.gz", c1);
	ck_assert_int_eq(unlink(gone), 0);
	ck_assert_int_eq(sul_mkdirs(out, &err), 0);
	in[0].dir = atlas;
	in[1].dir = c1;
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = "group_maps";
	ctx.out = out;
	ctx.workdir = dir;
	ctx.inputs = in;
	ctx.ninputs = 2;
	ctx.params = tu_params(&sul_kind_group_maps, &ctx.nparams, "voxel_mm=2", "permutations=10", NULL);
	ck_assert_int_eq(sul_kind_group_maps.run(&ctx, &err), -1);
	ck_assert_msg(strstr(err.msg, gone) && strstr(err.msg, "cam_a") && strstr(err.msg, "sub-05"), "%s", err.msg);
	free(gone);
	free(atlas);
	free(c1);
	free(out);
}
END_TEST

SUL_SUITE(group_maps)
{
	Suite *s = suite_create("group_maps");
	TCase *tc = tcase_create("kind");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, planted_group_effect_is_found_where_it_is);
	tcase_add_test(tc, missing_heatmap_is_named);
	suite_add_tcase(s, tc);
	return s;
}
