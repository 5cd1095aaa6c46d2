/*
 * check_heatmap.c - the heatmap arithmetic (stages/heatmap.c) against
 * reference values from other implementations, and the heatmap statistics
 * of stages/stats.c against hand computations and closed forms.
 *
 * The reference case (tests/data/gradcam_vectors.json, see the README
 * there) is one image: 4 channels of 3x3 activations A and gradients G,
 * with the maps pytorch-grad-cam and others compute from them in double
 * precision.  Our inputs are floats, so values agree to float precision
 * (about 1e-7 relative), not to the last double bit: tolerances are 1e-6.
 */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/strbuf.h"
#include "../engine/kind.h"
#include "../stages/cam_int.h"
#include "../stages/attribution.h"
#include "../stages/heatmap.h"
#include "../stages/pngio.h"
#include "../stages/stats.h"

#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define K 4
#define H 3
#define W 3
#define HW (H * W)
#define TOL 1e-6

/* --- the reference case ------------------------------------------------------- */

/* The repository root: the first folder above the test binary (a build
 * folder of any depth) or the current folder that holds stages/heatmap.c. */
static char *repo_root(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *dir;

	if (n > 0) {
		exe[n] = '\0';
		dir = sul_path_dirname(exe);
		while (strcmp(dir, "/") && strcmp(dir, ".")) {
			char *probe = sul_xasprintf("%s/stages/heatmap.c", dir), *up;
			int found = sul_path_exists(probe);
			free(probe);
			if (found)
				return dir;
			up = sul_path_dirname(dir);
			free(dir);
			dir = up;
		}
		free(dir);
	}
	if (sul_path_exists("stages/heatmap.c"))
		return sul_xstrdup(".");
	return NULL;
}

struct ref {
	char *json;
	sqlite3 *db;
	float A[K * HW], G[K * HW];
};

/* The numbers under the JSON path (e.g. "$.A") in document order: there
 * must be exactly n. */
static void ref_numbers(const struct ref *r, const char *path, double *out, size_t n)
{
	sqlite3_stmt *st;
	size_t got = 0;

	ck_assert_int_eq(sqlite3_prepare_v2(r->db,
					    "SELECT value FROM json_tree(?1, ?2) "
					    "WHERE type IN ('integer', 'real') ORDER BY id",
					    -1, &st, NULL),
			 SQLITE_OK);
	sqlite3_bind_text(st, 1, r->json, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		ck_assert_msg(got < n, "%s: more than %zu numbers", path, n);
		out[got++] = sqlite3_column_double(st, 0);
	}
	ck_assert_msg(got == n, "%s: %zu numbers, expected %zu (%s)", path, got, n, sqlite3_errmsg(r->db));
	sqlite3_finalize(st);
}

static void ref_open(struct ref *r)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_buf b = SUL_BUF_INIT;
	char *root = repo_root(), *path;
	double v[K * HW];
	size_t i;

	ck_assert_msg(root != NULL, "cannot find the repository (stages/heatmap.c) above the test binary");
	path = sul_xasprintf("%s/tests/data/gradcam_vectors.json", root);
	ck_assert_msg(sul_read_file(path, &b, &err) == 0, "%s", err.msg);
	r->json = sul_buf_detach(&b);
	ck_assert_int_eq(sqlite3_open(":memory:", &r->db), SQLITE_OK);
	ref_numbers(r, "$.A", v, K * HW);
	for (i = 0; i < K * HW; i++)
		r->A[i] = (float)v[i];
	ref_numbers(r, "$.G", v, K * HW);
	for (i = 0; i < K * HW; i++)
		r->G[i] = (float)v[i];
	free(path);
	free(root);
}

static void ref_close(struct ref *r)
{
	sqlite3_close(r->db);
	free(r->json);
}

/* |got - want| <= tol * max(|want|, 1): relative for large values,
 * absolute near 0 (exact zeros of a ReLU must stay 0 to within tol). */
static int near(double got, double want, double tol)
{
	return fabs(got - want) <= tol * fmax(fabs(want), 1.0);
}

static void assert_near_f(const char *what, const float *got, const double *want, size_t n, double tol)
{
	size_t i;

	for (i = 0; i < n; i++)
		ck_assert_msg(near(got[i], want[i], tol), "%s[%zu]: got %.9g, want %.9g", what, i, (double)got[i],
			      want[i]);
}

static double max_abs_diff(const double *a, const double *b, size_t n)
{
	double m = 0;
	size_t i;

	for (i = 0; i < n; i++)
		m = fmax(m, fabs(a[i] - b[i]));
	return m;
}

static void minmax_d(double *m, size_t n)
{
	double lo = m[0], hi = m[0];
	size_t i;

	for (i = 1; i < n; i++) {
		lo = fmin(lo, m[i]);
		hi = fmax(hi, m[i]);
	}
	for (i = 0; i < n; i++)
		m[i] = hi > lo ? (m[i] - lo) / (hi - lo) : 0;
}

/* Grad-CAM++ straight from the README's formula in the g^2 form, in double,
 * on the float inputs with G scaled by gscale: alpha = g^2 / (2 g^2 +
 * S g^3 + eps) where g > 0.  eps = 0 is the paper's Eq. 19 itself (not
 * divided by g^2 as our code is), eps = 1e-6 is pytorch-grad-cam. */
static void gradcampp_direct(const float *A, const float *G, float gscale, double eps, double *map)
{
	double wts[K];
	int c, p;

	for (c = 0; c < K; c++) {
		double S = 0;
		wts[c] = 0;
		for (p = 0; p < HW; p++)
			S += A[c * HW + p];
		for (p = 0; p < HW; p++) {
			double g = (float)(G[c * HW + p] * gscale);
			if (g > 0)
				wts[c] += g * g / (2 * g * g + S * g * g * g + eps) * g;
		}
	}
	for (p = 0; p < HW; p++) {
		double s = 0;
		for (c = 0; c < K; c++)
			s += wts[c] * A[c * HW + p];
		map[p] = s > 0 ? s : 0;
	}
}

/* --- Grad-CAM and CAM --------------------------------------------------------- */

START_TEST(gradcam_matches_reference)
{
	struct ref r;
	double want_w[K], want_map[HW], alpha[K];
	float map[HW];
	int c;

	ref_open(&r);
	ref_numbers(&r, "$.gradcam_weights", want_w, K);
	ref_numbers(&r, "$.gradcam_map_relu", want_map, HW);
	sul_gradcam_weights(r.G, K, H, W, alpha);
	for (c = 0; c < K; c++) {
		/* The weights are means of gradients of both signs (cancellation
		 * up to 10x): float inputs leave them within 1e-7 absolute. */
		ck_assert_msg(fabs(alpha[c] - want_w[c]) <= 1e-7 && near(alpha[c], want_w[c], TOL),
			      "alpha[%d]: got %.12g, want %.12g", c, alpha[c], want_w[c]);
	}
	sul_gradcam(r.A, r.G, K, H, W, map);
	assert_near_f("gradcam map", map, want_map, HW, TOL);
	/* Zero where every channel's activation is 0: all weights are
	 * positive and A >= 0 here, so this case never exercises the ReLU
	 * (cam_and_the_gap_identity does). */
	ck_assert(map[1] == 0.0f && map[5] == 0.0f);
	ref_close(&r);
}
END_TEST

/* CAM is Grad-CAM's map before the ReLU when the class weights are the
 * Grad-CAM weights; and with a GAP + fully connected head (gradient
 * constant over the map: d(score)/dA_c[i][j] = wc[c] / (h w)), Grad-CAM is
 * ReLU(CAM) / (h w), the identity that makes Grad-CAM a generalization of
 * CAM. */
START_TEST(cam_and_the_gap_identity)
{
	static const float wc[K] = { 0.5f, -1.25f, 2.0f, 0.75f };
	struct ref r;
	double want[HW], alpha[K];
	float wf[K], cam[HW], grad[HW], G[K * HW];
	int c, p, neg = 0, pos = 0;

	ref_open(&r);
	ref_numbers(&r, "$.gradcam_map_relu", want, HW);
	ref_numbers(&r, "$.gradcam_weights", alpha, K);
	for (c = 0; c < K; c++)
		wf[c] = (float)alpha[c];
	sul_cam(r.A, wf, K, H, W, cam);
	for (p = 0; p < HW; p++) {
		ck_assert_msg(near(cam[p] > 0 ? cam[p] : 0, want[p], TOL), "relu(cam)[%d]: got %.9g, want %.9g", p,
			      (double)cam[p], want[p]);
	}

	/* A hand case: 2 channels of 1x2, map = 2 * (1, -1) - 1 * (3, 1). */
	{
		static const float A2[4] = { 1, -1, 3, 1 }, w2[2] = { 2, -1 };
		float m2[2];
		sul_cam(A2, w2, 2, 1, 2, m2);
		ck_assert_float_eq(m2[0], -1.0f);
		ck_assert_float_eq(m2[1], -3.0f);
	}

	for (c = 0; c < K; c++)
		for (p = 0; p < HW; p++)
			G[c * HW + p] = wc[c] / HW;
	sul_cam(r.A, wc, K, H, W, cam);
	sul_gradcam(r.A, G, K, H, W, grad);
	for (p = 0; p < HW; p++) {
		double relu_cam = cam[p] > 0 ? cam[p] : 0;
		ck_assert_msg(near((double)grad[p] * HW, relu_cam, TOL), "gradcam*9 [%d]: got %.9g, want %.9g", p,
			      (double)grad[p] * HW, relu_cam);
		neg += cam[p] < 0;
		pos += cam[p] > 0;
	}
	ck_assert(neg > 0 && pos > 0);  /* CAM stays raw, and both sides of the ReLU are exercised */
	ref_close(&r);
}
END_TEST

/* --- HiResCAM, XGrad-CAM, LayerCAM ------------------------------------------- */

/* By hand, 2 channels of 1 x 3 (k, h, w = 2, 1, 3):
 *   A0 = (1, 2, 3), A1 = (4, 0, 2), G0 = (1, -1, 2), G1 = (-1, 3, 0.5).
 * HiResCAM: sum_c G A = (1 - 4, -2 + 0, 6 + 1) = (-3, -2, 7) -> ReLU (0, 0, 7).
 * LayerCAM: sum_c ReLU(G) A = (1 + 0, 0 + 0, 6 + 1) = (1, 0, 7).
 * XGrad-CAM: w0 = (1 - 2 + 6) / 6 = 5/6, w1 = (-4 + 0 + 1) / 6 = -1/2;
 *   sum_c w A = (5/6 - 2, 5/3, 5/2 - 1) -> ReLU (0, 5/3, 3/2).
 * (pytorch-grad-cam's formulas: elementwise grads * activations summed
 * over channels; grads * activations / sum of activations per channel,
 * summed over the map, as weights; ReLU(grads) * activations.) */
START_TEST(hirescam_xgradcam_layercam_by_hand)
{
	static const float A[6] = { 1, 2, 3, 4, 0, 2 }, G[6] = { 1, -1, 2, -1, 3, 0.5f };
	static const float dead_A[6] = { 0, 0, 0, 1, 2, 3 }, dead_G[6] = { 5, 5, 5, 1, 1, 1 };
	float m[3];
	double wts[2];

	sul_hirescam(A, G, 2, 1, 3, m);
	ck_assert_float_eq(m[0], 0.0f);
	ck_assert_float_eq(m[1], 0.0f);
	ck_assert_float_eq(m[2], 7.0f);
	sul_layercam(A, G, 2, 1, 3, m);
	ck_assert_float_eq(m[0], 1.0f);
	ck_assert_float_eq(m[1], 0.0f);
	ck_assert_float_eq(m[2], 7.0f);
	sul_xgradcam_weights(A, G, 2, 1, 3, wts);
	ck_assert(near(wts[0], 5.0 / 6, 1e-12) && near(wts[1], -0.5, 1e-12));
	sul_xgradcam(A, G, 2, 1, 3, m);
	ck_assert_float_eq(m[0], 0.0f);
	ck_assert(near(m[1], 5.0 / 3, 1e-6) && near(m[2], 1.5, 1e-6));
	/* A dead channel (activations all 0) gets weight 0, not 0/0. */
	sul_xgradcam_weights(dead_A, dead_G, 2, 1, 3, wts);
	ck_assert(wts[0] == 0 && near(wts[1], 1, 1e-12));
}
END_TEST

/* With each channel's gradient constant over the map (a GAP head), HiResCAM
 * and XGrad-CAM are Grad-CAM; LayerCAM is too when every gradient is
 * positive. */
START_TEST(variants_reduce_to_gradcam_for_constant_gradients)
{
	struct ref r;
	float G[K * HW], grad[HW], hires[HW], xgrad[HW], layer[HW];
	int c, p, pos = 0;

	ref_open(&r);
	for (c = 0; c < K; c++)
		for (p = 0; p < HW; p++)
			G[c * HW + p] = (float)(0.01 * (c + 1));
	sul_gradcam(r.A, G, K, H, W, grad);
	sul_hirescam(r.A, G, K, H, W, hires);
	sul_xgradcam(r.A, G, K, H, W, xgrad);
	sul_layercam(r.A, G, K, H, W, layer);
	for (p = 0; p < HW; p++) {
		ck_assert_msg(near(hires[p], grad[p], 1e-6), "hirescam[%d] %g, gradcam %g", p, (double)hires[p],
			      (double)grad[p]);
		ck_assert_msg(near(xgrad[p], grad[p], 1e-6), "xgradcam[%d] %g, gradcam %g", p, (double)xgrad[p],
			      (double)grad[p]);
		ck_assert_msg(near(layer[p], grad[p], 1e-6), "layercam[%d] %g, gradcam %g", p, (double)layer[p],
			      (double)grad[p]);
		pos += grad[p] > 0;
	}
	ck_assert(pos > 0);
	ref_close(&r);
}
END_TEST

/* --- Grad-CAM++ ---------------------------------------------------------------- */

/* Our form is the README's recommended one.  The others differ on purpose:
 * pytorch-grad-cam's epsilon (1e-6 in the denominator of the g^2 form)
 * moves this case by up to 4e-4 relative; MONAI puts sum_ab A g^3 in the
 * denominator (right only for constant gradients) and the authors' code
 * renormalizes alpha per channel, both changing the map by far more. */
START_TEST(gradcampp_matches_eq19_reference)
{
	struct ref r;
	double want[HW], pgc[HW], monai[HW], orig[HW], direct[HW], got[HW];
	double d_pgc = 0, d_monai = 0, d_orig = 0;
	float map[HW];
	int p;

	ref_open(&r);
	ref_numbers(&r, "$.gradcampp_eq19_epsfree_map_relu", want, HW);
	ref_numbers(&r, "$.gradcampp_pgc_map_relu", pgc, HW);
	ref_numbers(&r, "$.gradcampp_monai_map_relu", monai, HW);
	ref_numbers(&r, "$.gradcampp_orig_map_relu", orig, HW);
	ck_assert_uint_eq(sul_gradcampp(r.A, r.G, K, H, W, map), 0);
	assert_near_f("gradcam++ map", map, want, HW, TOL);
	for (p = 0; p < HW; p++) {
		got[p] = map[p];
		if (want[p] > 0) {
			d_pgc = fmax(d_pgc, fabs(got[p] - pgc[p]) / want[p]);
			d_monai = fmax(d_monai, fabs(got[p] - monai[p]) / want[p]);
			d_orig = fmax(d_orig, fabs(got[p] - orig[p]) / want[p]);
		}
	}
	ck_assert_msg(d_pgc > 1e-5 && d_pgc < 1e-3, "pytorch-grad-cam differs by %g", d_pgc);
	ck_assert_msg(d_monai > 0.5, "monai differs by %g", d_monai);
	ck_assert_msg(d_orig > 0.05, "authors' code differs by %g", d_orig);
	/* The test's own g^2-form implementation reproduces both references,
	 * so the next test can trust it at other scales. */
	gradcampp_direct(r.A, r.G, 1, 0, direct);
	for (p = 0; p < HW; p++)
		ck_assert_msg(near(direct[p], want[p], TOL), "direct eq19 [%d]", p);
	gradcampp_direct(r.A, r.G, 1, 1e-6, direct);
	for (p = 0; p < HW; p++)
		ck_assert_msg(near(direct[p], pgc[p], TOL), "direct pgc [%d]", p);
	ref_close(&r);
}
END_TEST

/* Gradients of a GAP network are small (README: |g| ~ 4e-4 on a resnet18).
 * Scaled by 1e-4 (|g| <= 2e-5, 2 g^2 <= 1e-9 << 1e-6), the epsilon-free
 * form still equals Eq. 19 computed directly in double, while the epsilon
 * form's alpha collapses to about g^2 / 1e-6 and its map changes shape:
 * the reason we do not add an epsilon. */
START_TEST(gradcampp_small_gradients_need_no_epsilon)
{
	const float scale = 1e-4f;
	struct ref r;
	double eq19[HW], pgc[HW], ours[HW], ours1[HW];
	float G[K * HW], map[HW];
	int p;

	ref_open(&r);
	for (p = 0; p < K * HW; p++)
		G[p] = r.G[p] * scale;
	sul_gradcampp(r.A, G, K, H, W, map);
	gradcampp_direct(r.A, r.G, scale, 0, eq19);
	gradcampp_direct(r.A, r.G, scale, 1e-6, pgc);
	for (p = 0; p < HW; p++) {
		ck_assert_msg(near(map[p] / (double)scale, eq19[p] / scale, TOL), "[%d]: got %.9g, want %.9g", p,
			      (double)map[p], eq19[p]);
		ours[p] = map[p];
	}
	minmax_d(ours, HW);
	minmax_d(eq19, HW);
	minmax_d(pgc, HW);
	ck_assert_double_lt(max_abs_diff(ours, eq19, HW), TOL);
	ck_assert_msg(max_abs_diff(ours, pgc, HW) > 0.1, "pgc differs by only %g", max_abs_diff(ours, pgc, HW));
	/* Grad-CAM++ is not invariant to the scale of the gradients (alpha
	 * depends on S g), even after normalization: */
	sul_gradcampp(r.A, r.G, K, H, W, map);
	for (p = 0; p < HW; p++)
		ours1[p] = map[p];
	minmax_d(ours1, HW);
	ck_assert_double_gt(max_abs_diff(ours, ours1, HW), 0.01);
	ref_close(&r);
}
END_TEST

/* With leaky activations S can be negative: 2 + S g <= 0 is dropped. */
START_TEST(gradcampp_guards_the_pole)
{
	/* One channel of 1x4, S = -1 - 3 + 0 + 0 = -4.  g = 0.25: 2 - 1 = 1,
	 * alpha 1, contributes 0.25.  g = 0.5: 2 - 2 = 0, the pole: dropped.
	 * g = 1: 2 - 4 < 0: dropped.  g = -1: ReLU(g) = 0, not counted. */
	static const float A[4] = { -1, -3, 0, 0 }, G[4] = { 0.25f, 0.5f, 1, -1 };
	/* Two channels of 1x2 after a ReLU: S = 2 and 0. */
	static const float A2[4] = { 1, 1, 0, 0 }, G2[4] = { 0.5f, -0.5f, 0.25f, 0.5f };
	double wts[2];
	float map[4];

	ck_assert_uint_eq(sul_gradcampp_weights(A, G, 1, 1, 4, wts), 2);
	ck_assert_double_eq_tol(wts[0], 0.25, 1e-15);
	ck_assert_uint_eq(sul_gradcampp(A, G, 1, 1, 4, map), 2);
	ck_assert_float_eq(map[0], 0.0f);  /* 0.25 * -1 < 0: ReLU */
	ck_assert_float_eq(map[2], 0.0f);
	/* Channel 0: g = 0.5 with S = 2: 0.5 / (2 + 1) = 1/6; channel 1: S = 0,
	 * alpha = 1/2: (0.25 + 0.5) / 2 = 0.375. */
	ck_assert_uint_eq(sul_gradcampp_weights(A2, G2, 2, 1, 2, wts), 0);
	ck_assert_double_eq_tol(wts[0], 1.0 / 6, 1e-15);
	ck_assert_double_eq_tol(wts[1], 0.375, 1e-15);
}
END_TEST

/* --- resizing and normalization ------------------------------------------------- */

/* pytorch-grad-cam: minmax(cv2.resize(minmax(relu(cam)), 6x6, INTER_LINEAR)),
 * its min-max dividing by (max - min + 1e-7), in float32: within 1e-6. */
START_TEST(final_6x6_matches_pytorch_grad_cam)
{
	struct ref r;
	double want[36];
	float map[HW], big[36];

	ref_open(&r);
	ref_numbers(&r, "$.gradcam_pgc_final_6x6", want, 36);
	sul_gradcam(r.A, r.G, K, H, W, map);
	sul_minmax01(map, HW);
	sul_upsample_bilinear(map, H, W, big, 6, 6);
	sul_minmax01(big, 36);
	assert_near_f("final 6x6", big, want, 36, TOL);
	ref_close(&r);
}
END_TEST

/*
 * EigenCAM against numpy: X = A reshaped to positions x channels, centred,
 * numpy.linalg.svd, v = VT[0] with the sign whose loadings sum to >= 0,
 * ReLU(X v).  One case per Gram matrix (more positions than channels, and
 * fewer).  Also: a positive rescaling of A only rescales the map; constant
 * activations give 0.
 */
START_TEST(eigencam_matches_numpy_svd)
{
	static const float A1[3 * 6] = { 1, 2, 0, 3, 1, 4, 0.5f, 0, 2, 1, 1, 1, 2, 1, 3, 0, 2, 1 };
	static const double want1[6] = { 0, 0.5679689, 0, 1.76832342, 0, 2.02865791 };
	static const float A2[5 * 4] = { 1, 0, 2, 3, 0, 1, 1, 0, 2, 2, 0, 1, 1, 3, 1, 1, 0.5f, 0.25f, 2, 0 };
	static const double want2[4] = { 0.43065832, 2.28142683, 0, 0 };
	float map[6], A3[3 * 6], flat[2 * 6];
	int i;

	sul_eigencam(A1, 3, 2, 3, map);
	for (i = 0; i < 6; i++)
		ck_assert_msg(fabs(map[i] - want1[i]) < 1e-5, "k < hw, pixel %d: %g, numpy %g", i, map[i], want1[i]);
	sul_eigencam(A2, 5, 2, 2, map);
	for (i = 0; i < 4; i++)
		ck_assert_msg(fabs(map[i] - want2[i]) < 1e-5, "k > hw, pixel %d: %g, numpy %g", i, map[i], want2[i]);
	for (i = 0; i < 18; i++)
		A3[i] = 3 * A1[i];
	sul_eigencam(A3, 3, 2, 3, map);
	for (i = 0; i < 6; i++)
		ck_assert(fabs(map[i] - 3 * want1[i]) < 1e-4);
	for (i = 0; i < 12; i++)
		flat[i] = 2.5f;
	sul_eigencam(flat, 2, 2, 3, map);
	for (i = 0; i < 6; i++)
		ck_assert(map[i] == 0);
}
END_TEST

/* Score-CAM's mask is the channel upsampled and spanning [0, 1], none for a
 * constant channel; the weighted map is ReLU(sum w A); Ablation-CAM's
 * weights are the relative fall of the score, by |y| for a negative y. */
START_TEST(scorecam_and_ablationcam_by_hand)
{
	static const float A[2 * 4] = { 0, 1, 2, 3, 1, 1, 1, 1 };
	static const double wts[2] = { 0.5, -1 };
	const float ya[3] = { 1.5f, 3, 2 };
	double w[3];
	float mask[16], map[4];
	int i;

	ck_assert_int_eq(sul_scorecam_mask(A, 2, 2, mask, 4, 4), 1);
	ck_assert(mask[0] == 0 && mask[15] == 1);
	/* Half-pixel bilinear: row 0 of the 4x4 is 0, 0.25, 0.75, 1 of channel
	 * row 0 (0, 1), so after normalization by the range 3: 0, 1/12, 3/12, 4/12. */
	ck_assert(fabs(mask[1] - 0.25 / 3) < 1e-6 && fabs(mask[3] - 1.0 / 3) < 1e-6);
	ck_assert_int_eq(sul_scorecam_mask(A + 4, 2, 2, mask, 4, 4), 0);
	sul_weighted_map(A, wts, 2, 2, 2, map);
	/* 0.5 * (0, 1, 2, 3) - 1: ReLU(-1, -0.5, 0, 0.5) */
	ck_assert(map[0] == 0 && map[1] == 0 && map[2] == 0 && fabs(map[3] - 0.5) < 1e-7);
	sul_ablationcam_weights(2, ya, 3, w);
	ck_assert(fabs(w[0] - 0.25) < 1e-12 && fabs(w[1] + 0.5) < 1e-12 && w[2] == 0);
	sul_ablationcam_weights(-2, ya, 3, w);
	/* y = -2: without channel 0 the score rises to 1.5, so the channel
	 * argues against the class: (-2 - 1.5) / |-2| = -1.75, where dividing
	 * by y would make it +1.75. */
	ck_assert(fabs(w[0] + 1.75) < 1e-12 && fabs(w[1] + 2.5) < 1e-12 && fabs(w[2] + 2) < 1e-12);
	for (i = 0; i < 3; i++)
		ck_assert(isfinite(w[i]));
}
END_TEST

/* Area averaging: exact block means when the sizes divide, fractional
 * shares when they do not; a constant map stays constant. */
START_TEST(downsample_area_by_hand)
{
	float in[4 * 6], out[6], c[25], o2[4];
	int i;

	for (i = 0; i < 24; i++)
		in[i] = (float)i;
	sul_downsample_area(in, 4, 6, out, 2, 3);
	/* Block (0,0): 0, 1, 6, 7 -> 3.5; each block to the right adds 2, down 12. */
	for (i = 0; i < 6; i++)
		ck_assert_msg(fabs(out[i] - (3.5 + 2 * (i % 3) + 12 * (i / 3))) < 1e-6, "block %d: %g", i, out[i]);
	for (i = 0; i < 25; i++)
		c[i] = (float)(i % 5);
	sul_downsample_area(c, 5, 5, o2, 2, 2);
	/* Columns 0, 1 and half of 2: (0 + 1 + 0.5 * 2) / 2.5 = 0.8; the other
	 * side (0.5 * 2 + 3 + 4) / 2.5 = 3.2. */
	ck_assert(fabs(o2[0] - 0.8) < 1e-6 && fabs(o2[1] - 3.2) < 1e-6 && fabs(o2[2] - 0.8) < 1e-6);
	for (i = 0; i < 25; i++)
		c[i] = 7;
	sul_downsample_area(c, 5, 5, o2, 2, 2);
	for (i = 0; i < 4; i++)
		ck_assert(fabs(o2[i] - 7) < 1e-6);
}
END_TEST

/* The pixel-space arithmetic by hand: channel magnitudes, Integrated
 * Gradients' attributions and their sum, the completeness ratio, the
 * occlusion grid (the last window flush with the edge) and its map. */
START_TEST(attributions_by_hand)
{
	static const float g[3 * 2] = { 1, -2, -0.5f, 0, 0.25f, 3 };
	static const float x[3 * 2] = { 1, 2, 2, 1, 4, 0 };
	static const float gm[3 * 2] = { 0.5f, -1, 0.25f, 0.5f, -0.5f, 1 };
	static const double drop[4] = { 1, 2, 3, 4 };
	int off[16], n;
	float map[16];
	double sum;

	sul_attr_magnitude(g, 2, map);
	ck_assert(fabs(map[0] - 1.75) < 1e-6 && fabs(map[1] - 5) < 1e-6);
	/* pixel 0: 1 * 0.5 + 2 * 0.25 + 4 * -0.5 = -1 -> 0; pixel 1: -2 + 0.5 + 0 = -1.5 -> 0 */
	sum = sul_attr_integrated(x, gm, 2, map);
	ck_assert(fabs(sum + 2.5) < 1e-9 && map[0] == 0 && map[1] == 0);
	sum = sul_attr_integrated(gm + 0, x, 2, map);  /* symmetric in x and g */
	ck_assert(fabs(sum + 2.5) < 1e-9);
	ck_assert(fabs(sul_attr_completeness(1.9, 3, 1) - 0.05) < 1e-12);
	ck_assert(isnan(sul_attr_completeness(1, 2, 2)));
	n = sul_occlusion_offsets(10, 4, 3, off);
	ck_assert_int_eq(n, 3);
	ck_assert(off[0] == 0 && off[1] == 3 && off[2] == 6);
	n = sul_occlusion_offsets(10, 4, 4, off);
	ck_assert_int_eq(n, 3);
	ck_assert(off[0] == 0 && off[1] == 4 && off[2] == 6);
	ck_assert_int_eq(sul_occlusion_offsets(5, 5, 2, off), 1);
	/* 4x4, windows of 2 at 0 and 2: each pixel in one window. */
	n = sul_occlusion_offsets(4, 2, 2, off);
	ck_assert_int_eq(n, 2);
	sul_occlusion_map(drop, off, n, 2, 4, map);
	ck_assert(map[0] == 1 && map[3] == 2 && map[12] == 3 && map[15] == 4 && map[5] == 1 && map[6] == 2);
	/* Overlapping windows, 2 wide over 3 pixels with stride 1 (offsets 0
	 * and 1): the centre lies in all four and averages them, a pixel on
	 * an edge's middle in two. */
	n = sul_occlusion_offsets(3, 2, 1, off);
	ck_assert_int_eq(n, 2);
	sul_occlusion_map(drop, off, n, 2, 3, map);
	ck_assert(fabs(map[4] - 2.5) < 1e-6 && map[0] == 1 && map[8] == 4 && fabs(map[1] - 1.5) < 1e-6);
}
END_TEST

START_TEST(bilinear_uses_half_pixel_centres)
{
	/* Along an axis of 2 -> 4, output centres fall at input coordinates
	 * -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to 1).  Bilinear
	 * interpolation of a linear function is exact, so in[i][j] = 2 i + j
	 * gives out = 2 t[y] + t[x]. */
	static const float in[4] = { 0, 1, 2, 3 }, t[4] = { 0, 0.25f, 0.75f, 1 };
	static const float in4[16] = { 1, 3, 5, 7, 2, 4, 6, 8, 0, 0, 9, 9, 0, 0, 9, 9 };
	float out[16], same[16], down[4];
	int y, x;

	sul_upsample_bilinear(in, 2, 2, out, 4, 4);
	for (y = 0; y < 4; y++)
		for (x = 0; x < 4; x++)
			ck_assert_msg(fabsf(out[y * 4 + x] - (2 * t[y] + t[x])) < 1e-7f, "(%d,%d): %g", y, x,
				      (double)out[y * 4 + x]);
	/* Same size: the identity. */
	sul_upsample_bilinear(in4, 4, 4, same, 4, 4);
	ck_assert_int_eq(memcmp(same, in4, sizeof(same)), 0);
	/* Halving samples at 0.5, 2.5: the mean of each 2x2 block. */
	sul_upsample_bilinear(in4, 4, 4, down, 2, 2);
	ck_assert_float_eq_tol(down[0], 2.5f, 1e-6f);
	ck_assert_float_eq_tol(down[1], 6.5f, 1e-6f);
	ck_assert_float_eq_tol(down[2], 0.0f, 1e-6f);
	ck_assert_float_eq_tol(down[3], 9.0f, 1e-6f);
	/* Non-square, 1 -> many: a constant. */
	sul_upsample_bilinear(in + 3, 1, 1, out, 2, 3);
	for (x = 0; x < 6; x++)
		ck_assert_float_eq(out[x], 3.0f);
	/* 1x2 -> 1x3: centres at -1/6 (clamped), 0.5, 7/6 (clamped). */
	sul_upsample_bilinear(in, 1, 2, out, 1, 3);
	ck_assert_float_eq(out[0], 0.0f);
	ck_assert_float_eq_tol(out[1], 0.5f, 1e-7f);
	ck_assert_float_eq(out[2], 1.0f);
}
END_TEST

START_TEST(minmax_spans_zero_to_one)
{
	float m[4] = { 2, 4, 6, 3 }, c[3] = { 5, 5, 5 }, neg[2] = { -3, -1 }, one = 7;

	sul_minmax01(m, 4);
	ck_assert_float_eq(m[0], 0.0f);
	ck_assert_float_eq(m[1], 0.5f);
	ck_assert_float_eq(m[2], 1.0f);
	ck_assert_float_eq(m[3], 0.25f);
	sul_minmax01(c, 3);  /* constant: nothing stands out */
	ck_assert(c[0] == 0 && c[1] == 0 && c[2] == 0);
	sul_minmax01(neg, 2);
	ck_assert(neg[0] == 0 && neg[1] == 1);
	sul_minmax01(&one, 1);
	ck_assert_float_eq(one, 0.0f);
	sul_minmax01(NULL, 0);
}
END_TEST

/* --- regions, pointing game ----------------------------------------------------- */

START_TEST(region_stats_by_hand)
{
	/* Region 1 (top left 2x2): 1 + 2 + 3 + 4 = 10, peak 4.  Region 2 (top
	 * right 2x2): 1, peak 1.  Region 3 (row 2, columns 1-2): 5, peak 5.
	 * Region 4: no pixel.  The 9 is background, the 2 labelled 7 is
	 * outside the table.  Labelled heat: 16.  The sharpest peak (5, region
	 * 3) is not where most heat is (region 1). */
	static const float heat[16] = { 1, 2, 0, 0, 3, 4, 0, 1, 0, 0, 5, 0, 9, 0, 0, 2 };
	static const unsigned char lab[16] = { 1, 1, 2, 2, 1, 1, 2, 2, 0, 3, 3, 0, 0, 0, 0, 7 };
	static const float zero[16];
	float tie[16] = { 0 };
	struct sul_region_stat st[4];
	int peak, top;

	ck_assert_uint_eq(sul_region_stats(heat, lab, 16, 4, st, &peak, &top), 1);
	ck_assert_uint_eq(st[0].npix, 4);
	ck_assert_double_eq(st[0].sum, 10);
	ck_assert_double_eq(st[0].share, 0.625);
	ck_assert_double_eq(st[0].peak, 4);
	ck_assert_double_eq(st[0].mean, 2.5);
	ck_assert_double_eq(st[1].share, 0.0625);
	ck_assert_double_eq(st[1].peak, 1);
	ck_assert_double_eq(st[1].mean, 0.25);
	ck_assert_uint_eq(st[2].npix, 2);
	ck_assert_double_eq(st[2].share, 0.3125);
	ck_assert_double_eq(st[2].peak, 5);
	ck_assert_double_eq(st[2].mean, 2.5);
	ck_assert_uint_eq(st[3].npix, 0);
	ck_assert_double_eq(st[3].share, 0);
	ck_assert_double_nan(st[3].peak);
	ck_assert_double_nan(st[3].mean);
	ck_assert_int_eq(peak, 3);
	ck_assert_int_eq(top, 1);

	/* No heat: shares undefined, no peak, no top region. */
	ck_assert_uint_eq(sul_region_stats(zero, lab, 16, 4, st, &peak, &top), 1);
	ck_assert_double_nan(st[0].share);
	ck_assert_double_eq(st[0].mean, 0);
	ck_assert_int_eq(peak, 0);
	ck_assert_int_eq(top, 0);

	/* Equal maxima in regions 2 (pixel 3) and 1 (pixel 4): the first
	 * pixel's; equal shares: the lower label. */
	tie[3] = 5;
	tie[4] = 5;
	sul_region_stats(tie, lab, 16, 4, st, &peak, &top);
	ck_assert_int_eq(peak, 2);
	ck_assert_int_eq(top, 1);
	ck_assert_double_eq(st[0].share, 0.5);
	ck_assert_double_eq(st[1].share, 0.5);
}
END_TEST

START_TEST(pointing_game_and_mask_share)
{
	float heat[25] = { 0 };
	unsigned char mask[25] = { 0 };
	static const float h4[4] = { 1, 2, 3, 4 }, z4[4];
	static const unsigned char m4[4] = { 0, 1, 0, 1 };

	heat[1 * 5 + 1] = 1;  /* the maximum at row 1, column 1 */
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 15), -1);  /* no object */
	mask[1 * 5 + 3] = 1;  /* 2 pixels to the right */
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 0), 0);
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 1.99), 0);
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 2), 1);
	mask[1 * 5 + 3] = 0;
	mask[4 * 5 + 4] = 1;  /* sqrt(18) = 4.243 away: Euclidean, not city-block (6) or chessboard (3) */
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 4.2), 0);
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 4.25), 1);
	/* An equal maximum inside the mask: the first in row-major order counts. */
	heat[4 * 5 + 4] = 1;
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 0), 0);
	mask[1 * 5 + 1] = 1;
	ck_assert_int_eq(sul_pointing_game(heat, mask, 5, 5, 0), 1);

	ck_assert_double_eq_tol(sul_mask_share(h4, m4, 4), 0.6, 1e-15);  /* (2 + 4) / 10 */
	ck_assert_double_nan(sul_mask_share(z4, m4, 4));
}
END_TEST

/* An overlay tints the head only: a black background pixel stays black,
 * whatever the heat there; a head pixel takes the colour map. */
START_TEST(overlay_tints_the_head_only)
{
	char *dir = tu_tmpdir(), *path;
	struct sul_stage_ctx ctx;
	struct cam_run run;
	struct sul_slice row;
	uint8_t pixels[2 * 2 * 3] = { 0 }, *rgb = NULL;
	float heat[4] = { 1, 1, 1, 1 };
	uint32_t w, h;
	struct sul_err err = SUL_ERR_INIT;

	memset(&ctx, 0, sizeof(ctx));
	memset(&run, 0, sizeof(run));
	memset(&row, 0, sizeof(row));
	ctx.out = dir;
	row.subject = (char *)"s1";
	row.group = (char *)"HC";
	row.slice = 7;
	pixels[3 * 3 + 0] = pixels[3 * 3 + 1] = pixels[3 * 3 + 2] = 100;  /* pixel 3 is head */
	run.ctx = &ctx;
	run.size = 2;
	run.alpha = 0.5;
	run.slices.rows = &row;
	run.slices.n = 1;
	run.slices.pixels = pixels;
	ck_assert_int_eq(sul_cam_write_overlay(&run, 0, 1, "predicted", heat, &err), 0);
	path = sul_xasprintf("%s/overlays/gradcam/HC/s1_z007_predicted.png", dir);
	ck_assert_msg(sul_png_read_rgb(path, &rgb, &w, &h, &err) == 0, "%s", err.msg);
	ck_assert_uint_eq(w, 2);
	ck_assert(rgb[0] == 0 && rgb[1] == 0 && rgb[2] == 0);           /* background: untinted */
	ck_assert(rgb[9] != rgb[11]);                                    /* head: coloured (heat 1 is red) */
	free(rgb);
	free(path);
	tu_cleanup();
}
END_TEST

/* Chance levels: a map even over the region.  A 5 x 5 brain (all but the
 * first row), a one-pixel lesion at row 2, column 2. */
START_TEST(chance_levels)
{
	unsigned char lesion[25] = { 0 }, brain[25], none[25] = { 0 };
	size_t i;

	for (i = 0; i < 25; i++)
		brain[i] = i >= 5;
	lesion[2 * 5 + 2] = 1;
	/* One of the brain's 20 pixels is lesion. */
	ck_assert_double_eq_tol(sul_mask_share_chance(lesion, brain, 25), 1.0 / 20, 1e-15);
	/* Within 0 of the lesion: itself.  Within 1 (Euclidean): it and its 4
	 * neighbours.  Within 1.5: the 3 x 3 block, all in the brain.  Within
	 * 2: the 13-pixel disc, less the one of its pixels in row 0. */
	ck_assert_double_eq_tol(sul_pointing_chance(lesion, brain, 5, 5, 0), 1.0 / 20, 1e-15);
	ck_assert_double_eq_tol(sul_pointing_chance(lesion, brain, 5, 5, 1), 5.0 / 20, 1e-15);
	ck_assert_double_eq_tol(sul_pointing_chance(lesion, brain, 5, 5, 1.5), 9.0 / 20, 1e-15);
	ck_assert_double_eq_tol(sul_pointing_chance(lesion, brain, 5, 5, 2), 12.0 / 20, 1e-15);
	/* No lesion: 0; no brain: not defined. */
	ck_assert_double_eq(sul_pointing_chance(none, brain, 5, 5, 2), 0);
	ck_assert_double_eq(sul_mask_share_chance(none, brain, 25), 0);
	ck_assert_double_nan(sul_mask_share_chance(lesion, none, 25));
	ck_assert_double_nan(sul_pointing_chance(lesion, none, 5, 5, 2));
}
END_TEST

/* --- correlations --------------------------------------------------------------- */

START_TEST(pearson_known_values)
{
	static const float a[4] = { 1, 2, 3, 4 }, b[4] = { 2, 4, 6, 8 }, c[4] = { 8, 6, 4, 2 }, k[4] = { 3, 3, 3, 3 };
	static const float x[3] = { 1, 2, 3 }, y[3] = { 1, 3, 2 };
	static const float tenth[3] = { 0.1f, 0.1f, 0.1f };
	const float *maps[4] = { a, b, c, k };

	ck_assert_double_eq_tol(sul_pearson(a, b, 4), 1, 1e-15);
	ck_assert_double_eq_tol(sul_pearson(a, c, 4), -1, 1e-15);
	/* centred: (-1, 0, 1) and (-1, 1, 0): 1 / sqrt(2 * 2) */
	ck_assert_double_eq_tol(sul_pearson(x, y, 3), 0.5, 1e-15);
	ck_assert_double_nan(sul_pearson(a, k, 4));
	ck_assert_double_nan(sul_pearson(tenth, x, 3));
	ck_assert_double_nan(sul_pearson(a, b, 1));
	/* pairs: (a,b) 1, (a,c) -1, (b,c) -1; with k undefined, skipped */
	ck_assert_double_eq_tol(sul_mean_pairwise_pearson(maps, 4, 4), -1.0 / 3, 1e-15);
	ck_assert_double_eq_tol(sul_mean_pairwise_pearson(maps, 2, 4), 1, 1e-15);
	ck_assert_double_nan(sul_mean_pairwise_pearson(maps, 1, 4));
	ck_assert_double_nan(sul_mean_pairwise_pearson(maps + 3, 1, 4));
	maps[0] = k;
	maps[1] = tenth;
	ck_assert_double_nan(sul_mean_pairwise_pearson(maps, 2, 3));
}
END_TEST

START_TEST(spearman_average_ranks)
{
	/* Ranks with ties averaged: x (1, 2.5, 2.5, 4, 5), y (1, 3, 2, 4.5, 4.5);
	 * centred on 3: (-2, -.5, -.5, 1, 2), (-2, 0, -1, 1.5, 1.5);
	 * sxy = 4 + 0 + .5 + 1.5 + 3 = 9, sxx = syy = 9.5: r = 18/19. */
	static const float x[5] = { 1, 2, 2, 3, 4 }, y[5] = { 1, 3, 2, 4, 4 };
	/* Monotone but not linear: ranks agree exactly. */
	static const float u[5] = { -3, 0.5f, 7, 100, 1e6f }, v[5] = { 1, 2, 3, 4, 5 }, k[5] = { 2, 2, 2, 2, 2 };
	const float nan_x[5] = { 1, 2, 3, 4, NAN };

	ck_assert_double_eq_tol(sul_spearman(x, y, 5), 18.0 / 19, 1e-15);
	ck_assert_double_eq_tol(sul_spearman(y, x, 5), 18.0 / 19, 1e-15);
	ck_assert_double_eq_tol(sul_spearman(u, v, 5), 1, 1e-15);
	ck_assert_double_nan(sul_spearman(u, k, 5));
	ck_assert_double_nan(sul_spearman(nan_x, v, 5));
	ck_assert_double_nan(sul_spearman(u, v, 1));
}
END_TEST

/* --- chi-square ------------------------------------------------------------------ */

static double q_integer(int n, double x)
{
	/* Q(n, x) = e^-x sum_{j<n} x^j / j! for integer n (Poisson tail) */
	double term = 1, s = 0;
	int j;

	for (j = 0; j < n; j++) {
		s += term;
		term *= x / (j + 1);
	}
	return exp(-x) * s;
}

START_TEST(incomplete_gamma_closed_forms)
{
	static const double xs[] = { 1e-3, 0.3, 1.5, 5, 30 };
	size_t i;

	for (i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
		double x = xs[i];
		ck_assert_msg(near(sul_gamma_q(1, x) / exp(-x), 1, 1e-13), "Q(1, %g)", x);
		ck_assert_msg(near(sul_gamma_q(0.5, x) / erfc(sqrt(x)), 1, 1e-13), "Q(1/2, %g)", x);
		ck_assert_msg(near(sul_gamma_q(3, x) / q_integer(3, x), 1, 1e-13), "Q(3, %g)", x);
	}
	/* Large a: both branches, tails and the middle (Q(50, 50) = 0.48119). */
	ck_assert_msg(near(sul_gamma_q(50, 30) / q_integer(50, 30), 1, 1e-12), "Q(50, 30)");
	ck_assert_msg(near(sul_gamma_q(50, 50) / q_integer(50, 50), 1, 1e-12), "Q(50, 50)");
	ck_assert_msg(near(sul_gamma_q(50, 80) / q_integer(50, 80), 1, 1e-12), "Q(50, 80)");
	ck_assert_double_eq_tol(sul_gamma_q(50, 50), 0.4811916845, 1e-10);
	ck_assert_double_eq(sul_gamma_q(2, 0), 1);
	ck_assert_double_eq(sul_gamma_q(2, INFINITY), 0);
	ck_assert_double_nan(sul_gamma_q(0, 1));
	ck_assert_double_nan(sul_gamma_q(1, -1));
	ck_assert_double_nan(sul_gamma_q(NAN, 1));
}
END_TEST

START_TEST(chi2_independence_known_tables)
{
	/* Totals: rows 30, 70, columns 40, 60, N 100; expected 12 18 28 42;
	 * 4/12 + 4/18 + 4/28 + 4/42 = 50/63 = 0.79365; df 1, where
	 * p = erfc(sqrt(x / 2)) = 0.37300 (scipy.stats.chi2_contingency
	 * with correction=False gives 0.7937, 0.3730). */
	static const double t22[4] = { 10, 20, 30, 40 };
	/* The same table with an empty row and column: the same test. */
	static const double t33z[9] = { 10, 20, 0, 30, 40, 0, 0, 0, 0 };
	/* All expected 20: (100 * 4) / 20 = 20, df 4: p = e^-10 (1 + 10). */
	static const double t33[9] = { 10, 20, 30, 20, 20, 20, 30, 20, 10 };
	/* A 3x3 with an empty column is 3x2: df 2, p = exp(-x/2);
	 * x = 451/36 by exact fractions. */
	static const double t32[9] = { 10, 20, 0, 20, 20, 0, 30, 10, 0 };
	static const double one_row[6] = { 5, 6, 7, 0, 0, 0 }, negative[4] = { 10, -1, 3, 4 };
	struct sul_chi2 c;

	c = sul_chi2_independence(t22, 2, 2);
	ck_assert_int_eq(c.df, 1);
	ck_assert_double_eq_tol(c.stat, 50.0 / 63, 1e-14);
	ck_assert_double_eq_tol(c.p, erfc(sqrt(50.0 / 126)), 1e-14);
	ck_assert_double_eq_tol(c.p, 0.37300, 1e-5);
	c = sul_chi2_independence(t33z, 3, 3);
	ck_assert_int_eq(c.df, 1);
	ck_assert_double_eq_tol(c.stat, 50.0 / 63, 1e-14);
	ck_assert_double_eq_tol(c.p, 0.37300, 1e-5);
	c = sul_chi2_independence(t33, 3, 3);
	ck_assert_int_eq(c.df, 4);
	ck_assert_double_eq_tol(c.stat, 20, 1e-12);
	ck_assert_msg(near(c.p / (11 * exp(-10)), 1, 1e-12), "p %.17g", c.p);
	c = sul_chi2_independence(t32, 3, 3);
	ck_assert_int_eq(c.df, 2);
	ck_assert_double_eq_tol(c.stat, 451.0 / 36, 1e-12);
	ck_assert_msg(near(c.p / exp(-451.0 / 72), 1, 1e-12), "p %.17g", c.p);
	ck_assert_double_eq_tol(c.p, 0.0019038276, 1e-10);
	c = sul_chi2_independence(one_row, 2, 3);
	ck_assert_int_eq(c.df, 0);
	ck_assert_double_eq(c.stat, 0);
	ck_assert_double_nan(c.p);
	c = sul_chi2_independence(negative, 2, 2);
	ck_assert_double_nan(c.stat);
	ck_assert_double_nan(c.p);
}
END_TEST

/* --- faithfulness ----------------------------------------------------------------- */

START_TEST(average_drop_and_increase_in_confidence)
{
	/* Drops: (0.8 - 0.4) / 0.8 = 0.5, none (rose), none (equal): mean 1/6.
	 * Rose: 1 of 3 (equal is not an increase). */
	static const double Y[3] = { 0.8, 0.5, 0.4 }, O[3] = { 0.4, 0.6, 0.4 }, Y0[3] = { 0.8, 0, 0.4 };
	double drop, inc;

	sul_confidence_change(Y, O, 3, &drop, &inc);
	ck_assert_double_eq_tol(drop, 100.0 / 6, 1e-12);
	ck_assert_double_eq_tol(inc, 100.0 / 3, 1e-12);
	sul_confidence_change(Y0, O, 3, &drop, &inc);  /* a score of 0: no ratio */
	ck_assert_double_nan(drop);
	ck_assert_double_eq_tol(inc, 100.0 / 3, 1e-12);
	sul_confidence_change(Y, O, 0, &drop, &inc);
	ck_assert_double_nan(drop);
	ck_assert_double_nan(inc);
}
END_TEST

START_TEST(deletion_curve_order_and_area)
{
	static const float heat[6] = { 0.5f, 0.9f, 0.5f, NAN, 0.1f, 0.9f };
	static const size_t want[6] = { 1, 5, 0, 2, 4, 3 };
	static const double spike[4] = { 1, 0, 0, 0 }, flat[3] = { 0.7, 0.7, 0.7 };
	double line[11];
	float *many;
	size_t order[6], *big, i;

	sul_pixel_order(heat, 6, order);
	for (i = 0; i < 6; i++)
		ck_assert_uint_eq(order[i], want[i]);
	/* Many ties (qsort is not stable by itself): 2s, then 1s, then 0s,
	 * each in index order. */
	many = sul_xmalloc(999 * sizeof(*many));
	big = sul_xmalloc(999 * sizeof(*big));
	for (i = 0; i < 999; i++)
		many[i] = (float)(i % 3);
	sul_pixel_order(many, 999, big);
	for (i = 0; i < 999; i++)
		ck_assert_uint_eq(big[i], (i % 333) * 3 + 2 - i / 333);
	free(many);
	free(big);

	for (i = 0; i <= 10; i++)
		line[i] = i / 10.0;
	ck_assert_double_eq_tol(sul_curve_auc(line, 10), 0.5, 1e-15);
	ck_assert_double_eq_tol(sul_curve_auc(spike, 3), 1.0 / 6, 1e-15);
	ck_assert_double_eq_tol(sul_curve_auc(flat, 2), 0.7, 1e-15);
	ck_assert_double_nan(sul_curve_auc(line, 0));
}
END_TEST

SUL_SUITE(heatmap)
{
	Suite *s = suite_create("heatmap");
	TCase *m = tcase_create("methods");
	TCase *st = tcase_create("stats");

	tcase_add_test(m, gradcam_matches_reference);
	tcase_add_test(m, cam_and_the_gap_identity);
	tcase_add_test(m, hirescam_xgradcam_layercam_by_hand);
	tcase_add_test(m, variants_reduce_to_gradcam_for_constant_gradients);
	tcase_add_test(m, gradcampp_matches_eq19_reference);
	tcase_add_test(m, gradcampp_small_gradients_need_no_epsilon);
	tcase_add_test(m, gradcampp_guards_the_pole);
	tcase_add_test(m, final_6x6_matches_pytorch_grad_cam);
	tcase_add_test(m, eigencam_matches_numpy_svd);
	tcase_add_test(m, scorecam_and_ablationcam_by_hand);
	tcase_add_test(m, downsample_area_by_hand);
	tcase_add_test(m, attributions_by_hand);
	tcase_add_test(m, bilinear_uses_half_pixel_centres);
	tcase_add_test(m, minmax_spans_zero_to_one);
	suite_add_tcase(s, m);
	tcase_add_test(st, region_stats_by_hand);
	tcase_add_test(st, pointing_game_and_mask_share);
	tcase_add_test(st, chance_levels);
	tcase_add_test(st, overlay_tints_the_head_only);
	tcase_add_test(st, pearson_known_values);
	tcase_add_test(st, spearman_average_ranks);
	tcase_add_test(st, incomplete_gamma_closed_forms);
	tcase_add_test(st, chi2_independence_known_tables);
	tcase_add_test(st, average_drop_and_increase_in_confidence);
	tcase_add_test(st, deletion_curve_order_and_area);
	suite_add_tcase(s, st);
	return s;
}
