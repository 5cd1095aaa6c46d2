/* check_bias.c - the bias_correct kind on a phantom with a known bias field. */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "../stages/rng.h"
#include "../stages/volume.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const struct sul_kind sul_kind_bias_correct;

enum { NX = 72, NY = 84, NZ = 60 };

/* A smooth multiplicative field from about 0.8 to 1.2. */
static double true_field(int x, int y, int z)
{
	return exp(0.25 * (2.0 * x / NX - 1) + 0.15 * (2.0 * y / NY - 1) - 0.12 * pow(2.0 * z / NZ - 1, 2));
}

/* A head phantom: white matter, a grey-matter shell, ventricles; its WM mask. */
static void phantom(struct sul_volume *v, struct sul_volume *wm, struct sul_volume *brain, int biased,
		    uint64_t seed)
{
	struct sul_rng rng;
	int x, y, z;

	memset(v, 0, sizeof(*v));
	v->nx = NX;
	v->ny = NY;
	v->nz = NZ;
	v->pixdim[0] = v->pixdim[1] = v->pixdim[2] = 2;
	v->ijk_to_xyz[0][0] = v->ijk_to_xyz[1][1] = v->ijk_to_xyz[2][2] = 2;
	v->ijk_to_xyz[3][3] = 1;
	v->xform_code = 1;
	v->data = sul_xcalloc(NX * NY * NZ, sizeof(float));
	sul_volume_like(wm, v);
	sul_volume_like(brain, v);
	sul_rng_seed(&rng, seed);
	for (z = 0; z < NZ; z++)
		for (y = 0; y < NY; y++)
			for (x = 0; x < NX; x++) {
				double ex = (x - NX / 2.0) / (NX * 0.42), ey = (y - NY / 2.0) / (NY * 0.42),
				       ez = (z - NZ / 2.0) / (NZ * 0.42);
				double r = sqrt(ex * ex + ey * ey + ez * ez);
				double vx = (x - NX / 2.0) / 6.0, vy = (y - NY / 2.0) / 10.0, vz = (z - NZ / 2.0) / 5.0;
				double val = 0, field;
				int i = x + NX * (y + NY * z);
				if (r < 1.0) {
					val = r < 0.75 ? 100 : 65;
					if (vx * vx + vy * vy + vz * vz < 1)
						val = 25;
					brain->data[i] = 1;
					wm->data[i] = r < 0.7 && vx * vx + vy * vy + vz * vz > 1.5;
				}
				field = biased ? true_field(x, y, z) : 1;
				if (val > 0)
					val = val * field + sul_rng_normal(&rng);
				v->data[i] = (float)(val > 0 ? val : 0);
			}
}

/* The mean absolute log-ratio of the estimated field to the true one in
 * the brain, after removing the global scale (which no correction can know). */
static double field_error(const struct sul_volume *est, const struct sul_volume *brain)
{
	double s = 0, e = 0;
	long n = 0;
	int x, y, z;

	for (int pass = 0; pass < 2; pass++)
		for (z = 0; z < NZ; z++)
			for (y = 0; y < NY; y++)
				for (x = 0; x < NX; x++) {
					int i = x + NX * (y + NY * z);
					double d;
					if (brain->data[i] <= 0)
						continue;
					d = log(est->data[i] / true_field(x, y, z));
					if (pass == 0) {
						s += d;
						n++;
					} else {
						e += fabs(d - s / n);
					}
				}
	return e / n;
}

static double wm_cov(const struct sul_volume *v, const struct sul_volume *wm)
{
	double s = 0, s2 = 0, m;
	long n = 0, i;

	for (i = 0; i < NX * NY * NZ; i++)
		if (wm->data[i] > 0) {
			s += v->data[i];
			s2 += (double)v->data[i] * v->data[i];
			n++;
		}
	m = s / n;
	return sqrt(s2 / n - m * m) / m;
}

/* Writes v (with its masks) as subject sub-01 under dir/in and runs
 * bias_correct into dir/out: its return value, err filled. */
static int run_bias(const char *dir, const struct sul_volume *v, const struct sul_volume *wm,
		    const struct sul_volume *brain, struct sul_err *err)
{
	char *in = sul_xasprintf("%s/in", dir), *out = sul_xasprintf("%s/out", dir), *sub = sul_xasprintf("%s/in/s", dir);
	struct sul_input inputs[1] = { { "ingest", NULL, NULL } };
	struct sul_stage_ctx ctx;
	int r;

	ck_assert_int_eq(sul_mkdirs(sub, err), 0);
	ck_assert_int_eq(sul_mkdirs(out, err), 0);
	ck_assert_int_eq(sul_volume_write(tu_write(sub, "t1.nii.gz", ""), v, SUL_VOL_FLOAT32, err), 0);
	ck_assert_int_eq(sul_volume_write(tu_write(sub, "mask.nii.gz", ""), brain, SUL_VOL_UINT8, err), 0);
	ck_assert_int_eq(sul_volume_write(tu_write(sub, "wm.nii.gz", ""), wm, SUL_VOL_UINT8, err), 0);
	tu_write(in, "subjects.tsv", "subject\tgroup\tclass\tT1w\tmask\twm\nsub-01\tHC\t2\ts/t1.nii.gz\ts/mask.nii.gz\ts/wm.nii.gz\n");

	memset(&ctx, 0, sizeof(ctx));
	ctx.params = tu_params(&sul_kind_bias_correct, &ctx.nparams, "bins=200", "convergence=0.001", "fwhm=0.15",
			       "iterations=50", "levels=3", "modalities=T1w", "shrink=2", "spans=2", "table=subjects.tsv",
			       NULL);
	inputs[0].dir = in;
	ctx.id = "bias";
	ctx.out = out;
	ctx.workdir = dir;
	ctx.inputs = inputs;
	ctx.ninputs = 1;
	r = sul_kind_bias_correct.run(&ctx, err);
	free(in);
	free(out);
	free(sub);
	return r;
}

START_TEST(corrects_a_known_field)
{
	char *dir = tu_tmpdir();
	char *corrected = sul_xasprintf("%s/out/sub-01/sub-01_T1w.nii.gz", dir);
	char *field = sul_xasprintf("%s/out/sub-01/sub-01_T1w_biasfield.nii.gz", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v, wm, brain, c, f;
	double before, after, ferr;

	phantom(&v, &wm, &brain, 1, 5);
	before = wm_cov(&v, &wm);
	ck_assert_msg(run_bias(dir, &v, &wm, &brain, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(sul_volume_read(corrected, &c, &err), 0);
	after = wm_cov(&c, &wm);
	printf("bias_correct phantom: white-matter CoV %.4f -> %.4f\n", before, after);
	ck_assert_msg(before > 0.06, "the phantom's field is too weak: CoV %.4f", before);
	/* The noise alone gives a CoV of about 0.01: most of the field must be gone. */
	ck_assert_msg(after < 0.3 * before, "white-matter CoV %.4f -> %.4f", before, after);
	/* The field itself, against the truth (its log spans about 0.5): 0.002
	 * here; shrinking by block means, which absorbed the phantom's tissue
	 * boundaries into the field, gave 0.018. */
	ck_assert_int_eq(sul_volume_read(field, &f, &err), 0);
	ferr = field_error(&f, &brain);
	printf("bias_correct phantom: field error %.4f\n", ferr);
	ck_assert_msg(ferr < 0.01, "mean absolute log-ratio of the field to the truth %.4f", ferr);
	sul_volume_release(&v);
	sul_volume_release(&wm);
	sul_volume_release(&brain);
	sul_volume_release(&c);
	sul_volume_release(&f);
	free(corrected);
	free(field);
	tu_cleanup();
}
END_TEST

/* Fifty voxels at 3e38 once made it write +inf voxels and report a CoV of
 * 0, with success.  Now: a clear failure, or an output that is all finite
 * with finite metrics; never infinity passed on as data. */
START_TEST(extreme_voxels_never_become_infinite_output)
{
	char *dir = tu_tmpdir();
	char *corrected = sul_xasprintf("%s/out/sub-01/sub-01_T1w.nii.gz", dir);
	char *metrics = sul_xasprintf("%s/out/metrics.tsv", dir);
	struct sul_err err = SUL_ERR_INIT;
	struct sul_volume v, wm, brain, c;
	int k;

	phantom(&v, &wm, &brain, 1, 5);
	for (k = 0; k < 50; k++)
		v.data[(NX * NY * NZ / 2) + 37 * k] = 3e38f;
	if (run_bias(dir, &v, &wm, &brain, &err)) {
		ck_assert_msg(strstr(err.msg, "non-finite") || strstr(err.msg, "infinite") || strstr(err.msg, "NaN"),
			      "unclear failure: %s", err.msg);
	} else {
		struct sul_buf b = SUL_BUF_INIT;
		int64_t i;
		ck_assert_int_eq(sul_volume_read(corrected, &c, &err), 0);
		for (i = 0; i < NX * NY * NZ; i++)
			ck_assert_msg(isfinite(c.data[i]), "voxel %lld is %g", (long long)i, c.data[i]);
		sul_volume_release(&c);
		ck_assert_int_eq(sul_read_file(metrics, &b, &err), 0);
		ck_assert_ptr_null(strstr(b.buf, "inf"));
		ck_assert_ptr_null(strstr(b.buf, "nan"));
		sul_buf_release(&b);
	}
	sul_volume_release(&v);
	sul_volume_release(&wm);
	sul_volume_release(&brain);
	free(corrected);
	free(metrics);
	tu_cleanup();
}
END_TEST

SUL_SUITE(bias)
{
	Suite *s = suite_create("bias_correct");
	TCase *tc = tcase_create("bias_correct");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, corrects_a_known_field);
	tcase_add_test(tc, extreme_voxels_never_become_infinite_output);
	suite_add_tcase(s, tc);
	return s;
}
