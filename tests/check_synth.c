/* check_synth.c - the synthetic cohort: layout, contrasts, group differences, determinism. */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../stages/tsv.h"
#include "../stages/volume.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sul_kind sul_kind_synth;

#define TEMPLATES "/usr/share/mricron/templates"

/* deform: "deform_mm=..." (and wavelength: "deform_wavelength_mm=..." or NULL). */
static int run_synth_deformed(const char *out, long long seed, const char *deform, const char *wavelength,
			      struct sul_err *err)
{
	struct sul_stage_ctx ctx;
	char seed_set[64];

	snprintf(seed_set, sizeof(seed_set), "seed=%lld", seed);
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = "synth";
	ctx.out = out;
	ctx.workdir = "/";
	/* No misalignment here: the contrasts are compared inside the T1-frame masks. */
	ctx.params = tu_params(&sul_kind_synth, &ctx.nparams, "bias=0.2", deform, "hc=1", "lesion_load=1",
			       "matrix=60x72x52", "misalign_deg=0", "misalign_mm=0", "noise=0.03", "rrms=1", seed_set,
			       "spms=1", "templates=" TEMPLATES, wavelength, NULL);
	if (sul_mkdirs(out, err))
		return -1;
	return sul_kind_synth.run(&ctx, err);
}

static int run_synth(const char *out, long long seed, struct sul_err *err)
{
	return run_synth_deformed(out, seed, "deform_mm=2", NULL, err);
}

static struct sul_volume load(const char *dir, const char *rel)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v;
	char *p = sul_xasprintf("%s/%s", dir, rel);

	ck_assert_msg(sul_volume_read(p, &v, &err) == 0, "%s", err.msg);
	free(p);
	return v;
}

/* Mean of img over mask > 0 (and optional second mask). */
static double mean_in(const struct sul_volume *img, const struct sul_volume *mask, int want)
{
	double s = 0;
	long n = 0, i;

	for (i = 0; i < img->nx * img->ny * img->nz; i++)
		if ((mask->data[i] > 0.5) == want && (want || 1)) {
			s += img->data[i];
			n++;
		}
	return n ? s / n : 0;
}

START_TEST(cohort_has_the_contrasts_and_differences_it_promises)
{
	char *dir = tu_tmpdir(), *out = sul_xasprintf("%s/a", dir), *out2 = sul_xasprintf("%s/b", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume t1, t2, fl, les, wm, t1b;
	struct sul_tsv t;
	char *tsv;
	double les_ml[3];
	int s;

	ck_assert_msg(sul_path_exists(TEMPLATES "/ch2.nii.gz"),
		      "%s/ch2.nii.gz is missing: `make deps` installs Debian's mricron-data", TEMPLATES);
	ck_assert_msg(run_synth(out, 11, &err) == 0, "%s", err.msg);
	tsv = sul_xasprintf("%s/participants.tsv", out);
	ck_assert_int_eq(sul_tsv_read(tsv, &t, &err), 0);
	ck_assert_uint_eq(t.nrows, 4);
	ck_assert_str_eq(sul_tsv_at(&t, 1, 1), "RRMS");
	ck_assert_str_eq(sul_tsv_at(&t, 2, 1), "SPMS");
	ck_assert_str_eq(sul_tsv_at(&t, 3, 1), "HC");
	for (s = 0; s < 3; s++)
		les_ml[s] = strtod(sul_tsv_at(&t, (size_t)s + 1, 3), NULL);
	/* SPMS carries the most lesion load, controls the least. */
	ck_assert_msg(les_ml[1] > les_ml[0] && les_ml[0] > les_ml[2], "lesion ml %g %g %g", les_ml[0], les_ml[1], les_ml[2]);
	sul_tsv_release(&t);

	/* The SPMS subject: lesions dark on T1, bright on T2 and FLAIR, against white matter. */
	t1 = load(out, "sub-02/anat/sub-02_T1w.nii.gz");
	t2 = load(out, "sub-02/anat/sub-02_T2w.nii.gz");
	fl = load(out, "sub-02/anat/sub-02_FLAIR.nii.gz");
	les = load(out, "derivatives/synth/sub-02/sub-02_lesions.nii.gz");
	wm = load(out, "derivatives/synth/sub-02/sub-02_wm.nii.gz");
	ck_assert_int_eq(t1.nz, 52);
	ck_assert_int_eq(les.nx, t1.nx);
	ck_assert_msg(mean_in(&t1, &les, 1) < 0.8 * mean_in(&t1, &wm, 1), "T1 lesion %g vs wm %g", mean_in(&t1, &les, 1),
		      mean_in(&t1, &wm, 1));
	ck_assert_msg(mean_in(&fl, &les, 1) > 1.5 * mean_in(&fl, &wm, 1), "FLAIR lesion %g vs wm %g",
		      mean_in(&fl, &les, 1), mean_in(&fl, &wm, 1));
	ck_assert_msg(mean_in(&t2, &les, 1) > 1.5 * mean_in(&t2, &wm, 1), "T2 lesion %g vs wm %g", mean_in(&t2, &les, 1),
		      mean_in(&t2, &wm, 1));
	{
		char *tr = sul_xasprintf("%s/derivatives/synth/transforms.tsv", out);
		char *lobes = sul_xasprintf("%s/derivatives/synth/sub-03/sub-03_lobes.nii.gz", out);
		ck_assert(sul_path_exists(tr));
		ck_assert(sul_path_exists(lobes));
		free(tr);
		free(lobes);
	}

	/* Deterministic for a seed. */
	ck_assert_msg(run_synth(out2, 11, &err) == 0, "%s", err.msg);
	t1b = load(out2, "sub-02/anat/sub-02_T1w.nii.gz");
	ck_assert_int_eq(memcmp(t1.data, t1b.data, (size_t)(t1.nx * t1.ny * t1.nz) * sizeof(float)), 0);
	sul_volume_release(&t1);
	sul_volume_release(&t2);
	sul_volume_release(&fl);
	sul_volume_release(&les);
	sul_volume_release(&wm);
	sul_volume_release(&t1b);
	free(tsv);
	free(out);
	free(out2);
	tu_cleanup();
}
END_TEST

/* Local deformations (deform_wavelength_mm) move the anatomy by several
 * millimetres: far more of the lobe labels change than with the default
 * gentle warp, and the lobes stay whole (each still there, in about its
 * share of the brain). */
START_TEST(local_deformation_moves_the_anatomy)
{
	char *dir = tu_tmpdir(), *a = sul_xasprintf("%s/a", dir), *b = sul_xasprintf("%s/b", dir),
	     *c = sul_xasprintf("%s/c", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume la, lb, lc;
	long i, n, differ_gentle = 0, differ_local = 0, brain = 0, per_lobe[6] = { 0 };
	int l;

	ck_assert_msg(run_synth_deformed(a, 5, "deform_mm=0", NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(run_synth_deformed(b, 5, "deform_mm=2", NULL, &err) == 0, "%s", err.msg);
	ck_assert_msg(run_synth_deformed(c, 5, "deform_mm=6", "deform_wavelength_mm=40", &err) == 0, "%s", err.msg);
	la = load(a, "derivatives/synth/sub-01/sub-01_lobes.nii.gz");
	lb = load(b, "derivatives/synth/sub-01/sub-01_lobes.nii.gz");
	lc = load(c, "derivatives/synth/sub-01/sub-01_lobes.nii.gz");
	n = la.nx * la.ny * la.nz;
	for (i = 0; i < n; i++) {
		if (la.data[i] == 0 && lc.data[i] == 0)
			continue;
		brain++;
		differ_gentle += la.data[i] != lb.data[i];
		differ_local += la.data[i] != lc.data[i];
		per_lobe[(int)lc.data[i]]++;
	}
	printf("synth: lobe labels changed by the deformation: gentle %.3f, local %.3f of the brain\n",
	       (double)differ_gentle / brain, (double)differ_local / brain);
	ck_assert_msg(differ_local > 2 * differ_gentle && differ_local > brain / 10, "local %ld, gentle %ld of %ld",
		      differ_local, differ_gentle, brain);
	for (l = 1; l <= 4; l++)
		ck_assert_msg(per_lobe[l] > brain / 20, "lobe %d: %ld of %ld voxels", l, per_lobe[l], brain);
	sul_volume_release(&la);
	sul_volume_release(&lb);
	sul_volume_release(&lc);
	free(a);
	free(b);
	free(c);
	tu_cleanup();
}
END_TEST

/* Share of subject SUB's lesion voxels in each lobe (1..5) of its true
 * lobes, and how many lesion voxels it has. */
static long lesion_lobes(const char *out, const char *sub, double share[6])
{
	char *lp = sul_xasprintf("derivatives/synth/%s/%s_lesions.nii.gz", sub, sub);
	char *bp = sul_xasprintf("derivatives/synth/%s/%s_lobes.nii.gz", sub, sub);
	struct sul_volume les = load(out, lp), lob = load(out, bp);
	long i, n = 0, nv = (long)(les.nx * les.ny * les.nz);
	int l;

	memset(share, 0, sizeof(double) * 6);
	for (i = 0; i < nv; i++)
		if (les.data[i] > 0.5f) {
			l = (int)lrintf(lob.data[i]);
			share[l >= 0 && l <= 5 ? l : 0]++;
			n++;
		}
	for (l = 0; l < 6 && n; l++)
		share[l] /= (double)n;
	sul_volume_release(&les);
	sul_volume_release(&lob);
	free(lp);
	free(bp);
	return n;
}

/* evidence = "focal": the RRMS subject's only lesions are in its occipital
 * lobe, the SPMS subject's in its frontal lobe, the control has none;
 * evidence = "lesions": no lesion in the control either. */
START_TEST(focal_evidence_lies_where_it_is_planted)
{
	char *dir = tu_tmpdir(), *out = sul_xasprintf("%s/focal", dir), *out2 = sul_xasprintf("%s/les", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_stage_ctx ctx;
	double share[6];
	long n;

	memset(&ctx, 0, sizeof(ctx));
	ctx.id = "synth";
	ctx.out = out;
	ctx.workdir = "/";
	ctx.params = tu_params(&sul_kind_synth, &ctx.nparams, "evidence=focal", "hc=1", "matrix=60x72x52", "rrms=1",
			       "seed=4", "spms=1", "templates=" TEMPLATES, NULL);
	ck_assert(sul_mkdirs(out, &err) == 0);
	ck_assert_msg(sul_kind_synth.run(&ctx, &err) == 0, "%s", err.msg);
	n = lesion_lobes(out, "sub-01", share);
	ck_assert_msg(n > 4 && share[4] > 0.9, "RRMS: %ld lesion voxels, %.2f occipital", n, share[4]);
	n = lesion_lobes(out, "sub-02", share);
	ck_assert_msg(n > 4 && share[1] > 0.9, "SPMS: %ld lesion voxels, %.2f frontal", n, share[1]);
	ck_assert_int_eq(lesion_lobes(out, "sub-03", share), 0);
	/* With only lesions telling the groups apart, controls have none. */
	ctx.out = out2;
	ctx.params = tu_params(&sul_kind_synth, &ctx.nparams, "evidence=lesions", "hc=3", "matrix=60x72x52", "rrms=1",
			       "seed=4", "spms=1", "templates=" TEMPLATES, NULL);
	ck_assert(sul_mkdirs(out2, &err) == 0);
	ck_assert_msg(sul_kind_synth.run(&ctx, &err) == 0, "%s", err.msg);
	ck_assert(lesion_lobes(out2, "sub-01", share) > 0 && lesion_lobes(out2, "sub-02", share) > 0);
	ck_assert_int_eq(lesion_lobes(out2, "sub-03", share) + lesion_lobes(out2, "sub-04", share)
				 + lesion_lobes(out2, "sub-05", share), 0);
	free(out);
	free(out2);
	tu_cleanup();
}
END_TEST

SUL_SUITE(synth)
{
	Suite *s = suite_create("synth");
	TCase *tc = tcase_create("synth");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, cohort_has_the_contrasts_and_differences_it_promises);
	tcase_add_test(tc, local_deformation_moves_the_anatomy);
	tcase_add_test(tc, focal_evidence_lies_where_it_is_planted);
	suite_add_tcase(s, tc);
	return s;
}
