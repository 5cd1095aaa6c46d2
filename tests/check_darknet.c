/*
 * check_darknet.c - sulcus-darknet.so (stages/dn.h, stages/dn/): its
 * replacements of Darknet's math against Darknet's own, and a tiny network
 * trained, saved and reloaded through the table of dn.h.
 *
 * Darknet's own functions are found with dlsym() on a handle of
 * libdarknet.so (its own definition comes first in its own scope); ours
 * with dlsym() on a handle of sulcus-darknet.so.  The loops must give the
 * same bits as Darknet's (stages/dn/blas.c promises it), on sizes above
 * their OpenMP thresholds too, run with 3 threads so that the work is split
 * unevenly.  "Darknet's" means the installed binary: Debian builds it with
 * -Ofast, whose vectorized sums (sum_array, backward_scale_cpu) and
 * rewritten expressions (normalize_delta_cpu) fix the order of operations.
 * gemm goes to OpenBLAS and matches to float rounding.
 *
 * These tests fail, rather than pass, where libdarknet is not installed:
 * `make deps` installs it.
 */
#include "check_util.h"
#include "../engine/fsutil.h"
#include "../engine/strbuf.h"
#include "../stages/dn.h"
#include "../stages/rng.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DARKNET_SO "/usr/lib/darknet/libdarknet.so"

/* enum ACTIVATION of darknet.h (tests/ is compiled without Darknet's include folder). */
enum { ACT_LOGISTIC = 0, ACT_RELU = 1, ACT_LINEAR = 3, ACT_TANH = 5, ACT_LEAKY = 7 };

/* Signatures of stages/dn/darknet_internal.h, ACTIVATION as int (an enum of small values: same ABI). */
typedef void (*im2col_fn)(float *im, int channels, int height, int width, int ksize, int stride, int pad, float *col);
typedef void (*bias_fn)(float *out, float *b, int batch, int n, int size);
typedef void (*activate_fn)(float *x, int n, int a);
typedef void (*gradient_fn)(const float *x, int n, int a, float *delta);
typedef void (*axpy_fn)(int n, float alpha, float *x, int incx, float *y, int incy);
typedef void (*scal_fn)(int n, float alpha, float *x, int incx);
typedef void (*stat_fn)(float *x, int batch, int filters, int spatial, float *out);
/* variance_cpu, backward_scale_cpu, mean_delta_cpu: two arrays, three sizes, an output. */
typedef void (*stat2_fn)(float *x, float *y, int batch, int filters, int spatial, float *out);
typedef void (*normalize_fn)(float *x, float *mean, float *variance, int batch, int filters, int spatial);
typedef void (*variance_delta_fn)(float *x, float *delta, float *mean, float *variance, int batch, int filters,
				  int spatial, float *variance_delta);
typedef void (*normalize_delta_fn)(float *x, float *mean, float *variance, float *mean_delta,
				   float *variance_delta, int batch, int filters, int spatial, float *delta);

/* Fails the test, with what to do, when Darknet or our library is missing. */
static const struct sul_dn_api *load_api(void)
{
	struct sul_err err = SUL_ERR_INIT;
	const struct sul_dn_api *api;

	ck_assert_msg(access(DARKNET_SO, R_OK) == 0,
		      "libdarknet is not installed (%s: %s): run `make deps` (Debian package darknet)", DARKNET_SO,
		      strerror(errno));
	api = sul_dn_load(0, &err);
	ck_assert_msg(api != NULL, "sul_dn_load: %s", err.msg);
	ck_assert_int_eq(api->abi, SUL_DN_ABI);
	return api;
}

/* Where sul_dn_load() looks for the library: $SULCUS_DARKNET, else beside the executable. */
static char *our_library(void)
{
	const char *env = getenv("SULCUS_DARKNET");
	char exe[PATH_MAX], *dir, *path;
	ssize_t n;

	if (env && *env)
		return sul_xstrdup(env);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = '\0';
	dir = sul_path_dirname(exe);
	path = sul_xasprintf("%s/sulcus-darknet.so", dir);
	free(dir);
	return path;
}

struct libs {
	void *ours, *darknet;
};

static void libs_open(struct libs *l)
{
	char *path;
	void (*set_threads)(int);

	load_api();
	path = our_library();
	l->ours = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(l->ours != NULL, "%s", dlerror());
	l->darknet = dlopen(DARKNET_SO, RTLD_NOW | RTLD_LOCAL);
	ck_assert_msg(l->darknet != NULL, "%s", dlerror());
	free(path);
	/* More threads than this machine may have cores: the split must not matter. */
	*(void **)&set_threads = dlsym(l->ours, "omp_set_num_threads");
	ck_assert_msg(set_threads != NULL, "omp_set_num_threads: %s", dlerror());
	set_threads(3);
}

static void libs_close(struct libs *l)
{
	dlclose(l->ours);
	dlclose(l->darknet);
}

static int ends_with(const char *s, const char *tail)
{
	size_t a = strlen(s), b = strlen(tail);
	return a >= b && !strcmp(s + a - b, tail);
}

/* Ours and Darknet's definition of name: two functions, each in its library. */
static void lookup(const struct libs *l, const char *name, void **ours, void **darknet)
{
	Dl_info a, b;

	*ours = dlsym(l->ours, name);
	*darknet = dlsym(l->darknet, name);
	ck_assert_msg(*ours && *darknet, "%s: not found in both libraries", name);
	ck_assert_msg(*ours != *darknet, "%s: the same function in both libraries: not interposed", name);
	ck_assert(dladdr(*ours, &a) && dladdr(*darknet, &b));
	ck_assert_msg(ends_with(a.dli_fname, "/sulcus-darknet.so"), "%s: ours is in %s", name, a.dli_fname);
	ck_assert_msg(ends_with(b.dli_fname, "/libdarknet.so"), "%s: Darknet's is in %s", name, b.dli_fname);
}

static void fill(struct sul_rng *r, float *x, size_t n, double lo, double hi)
{
	size_t i;

	for (i = 0; i < n; i++)
		x[i] = (float)(lo + (hi - lo) * sul_rng_uniform(r));
}

/* Two copies of the same random array, GUARD floats longer (to catch writes past the end). */
#define GUARD 16

static float *twin(const float *x, size_t n)
{
	float *y = sul_xmalloc((n + GUARD) * sizeof(float));
	memcpy(y, x, (n + GUARD) * sizeof(float));
	return y;
}

static float *random_array(struct sul_rng *r, size_t n, double lo, double hi)
{
	float *x = sul_xmalloc((n + GUARD) * sizeof(float));
	fill(r, x, n + GUARD, lo, hi);
	return x;
}

/* Differences found so far: the first MAX_LISTED listed (Check limits a message's size), the others counted. */
#define MAX_LISTED 12

struct diffs {
	struct sul_buf listed;
	int n;
};

#define DIFFS_INIT { SUL_BUF_INIT, 0 }

/*
 * Bit-identical, guard included?  A difference is recorded in *d (the first
 * one per call) rather than failing at once, so that one run lists the
 * functions and sizes that differ.
 */
static void same_bits(struct diffs *d, const float *ours, const float *darknet, size_t n, const char *what)
{
	size_t i;

	if (!memcmp(ours, darknet, (n + GUARD) * sizeof(float)))
		return;
	for (i = 0; i < n + GUARD && !memcmp(&ours[i], &darknet[i], sizeof(float)); i++)
		;
	if (d->n++ < MAX_LISTED)
		sul_buf_addf(&d->listed, "\n  %s: element %zu of %zu%s: ours %.9g, Darknet's %.9g", what, i, n,
			     i >= n ? " (past the end)" : "", ours[i], darknet[i]);
}

static void assert_no_difference(struct diffs *d)
{
	ck_assert_msg(d->n == 0, "not bit-identical to Darknet's in %d cases:%s%s", d->n, d->listed.buf,
		      d->n > MAX_LISTED ? "\n  ..." : "");
	sul_buf_release(&d->listed);
}

/* ---- gemm ------------------------------------------------------------- */

/* |ours - Darknet's| relative to the size of what was summed:
 * |alpha| sum_p |op(A)_ip op(B)_pj| + |beta C_ij|, the bound of float rounding. */
static double gemm_error(int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda, const float *b,
			 int ldb, float beta, const float *c0, const float *ours, const float *darknet, int ldc)
{
	double worst = 0;
	int i, j, p;

	for (i = 0; i < m; i++)
		for (j = 0; j < n; j++) {
			double scale = fabs(beta * c0[i * ldc + j]), e;
			for (p = 0; p < k; p++) {
				double x = ta ? a[p * lda + i] : a[i * lda + p];
				double y = tb ? b[j * ldb + p] : b[p * ldb + j];
				scale += fabs(alpha * x * y);
			}
			e = fabs((double)ours[i * ldc + j] - darknet[i * ldc + j]) / (scale > 1e-30 ? scale : 1e-30);
			if (e > worst)
				worst = e;
		}
	return worst;
}

typedef void (*gemm_fn)(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb,
			float beta, float *c, int ldc);

/* One shape and transposition, alpha 1 and 0.5, beta 0 and 1; pad: extra
 * leading dimension.  check_direct: also the table's gemm_darknet against
 * Darknet's gemm_cpu called directly. */
static void gemm_case(const struct sul_dn_api *api, gemm_fn darknet_gemm_cpu, struct sul_rng *r, int m, int n, int k,
		      int pad, int ta, int tb, int check_direct)
{
	static const float alphas[] = { 1, 0.5f }, betas[] = { 0, 1 };
	const int lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
	const size_t nc = (size_t)m * ldc;
	float *a = random_array(r, (size_t)(ta ? k : m) * lda, -1, 1);
	float *b = random_array(r, (size_t)(tb ? n : k) * ldb, -1, 1);
	float *c0 = random_array(r, nc, -1, 1);
	int ia, ib, i, j;

	for (ia = 0; ia < 2; ia++)
		for (ib = 0; ib < 2; ib++) {
			const float alpha = alphas[ia], beta = betas[ib];
			float *ours = twin(c0, nc), *dn = twin(c0, nc);
			double e;

			api->gemm_ours(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, ours, ldc);
			api->gemm_darknet(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, dn, ldc);
			if (check_direct) {
				float *direct = twin(c0, nc);
				darknet_gemm_cpu(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, direct, ldc);
				ck_assert_mem_eq(direct, dn, (nc + GUARD) * sizeof(float));
				free(direct);
			}
			e = gemm_error(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, ours, dn, ldc);
			ck_assert_msg(e < 1e-5, "gemm %dx%dx%d ta=%d tb=%d alpha=%g beta=%g: relative error %g", m, n,
				      k, ta, tb, alpha, beta, e);
			/* The padding at the end of each row and the guard are left alone. */
			for (i = 0; i < m; i++)
				for (j = n; j < ldc; j++)
					ck_assert(!memcmp(&ours[i * ldc + j], &c0[i * ldc + j], sizeof(float)));
			ck_assert(!memcmp(ours + nc, c0 + nc, GUARD * sizeof(float)));
			free(ours);
			free(dn);
		}
	free(a);
	free(b);
	free(c0);
}

START_TEST(gemm_matches_darknet)
{
	static const int sizes[][4] = { { 37, 53, 71, 0 }, { 64, 196, 576, 0 }, { 1, 10, 300, 0 }, { 5, 7, 3, 3 } };
	const struct sul_dn_api *api = load_api();
	gemm_fn ours_gemm, darknet_gemm, darknet_gemm_cpu, ours_gemm_cpu;
	struct libs l;
	struct sul_rng r;
	size_t s;
	int ta, tb;

	/* The table's two: ours (OpenBLAS) and Darknet's own gemm_cpu, which we do not replace. */
	libs_open(&l);
	lookup(&l, "gemm", (void **)&ours_gemm, (void **)&darknet_gemm);
	ck_assert_ptr_eq((void *)api->gemm_ours, (void *)ours_gemm);
	*(void **)&darknet_gemm_cpu = dlsym(l.darknet, "gemm_cpu");
	*(void **)&ours_gemm_cpu = dlsym(l.ours, "gemm_cpu");
	ck_assert_ptr_nonnull((void *)darknet_gemm_cpu);
	ck_assert_ptr_eq((void *)ours_gemm_cpu, (void *)darknet_gemm_cpu);
	sul_rng_seed(&r, 11);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (ta = 0; ta < 2; ta++)
			for (tb = 0; tb < 2; tb++)
				gemm_case(api, darknet_gemm_cpu, &r, sizes[s][0], sizes[s][1], sizes[s][2], sizes[s][3],
					  ta, tb, s == 0);
	libs_close(&l);
}
END_TEST

/* ---- im2col, col2im ------------------------------------------------------ */

struct conv_fns {
	im2col_fn im2col_ours, im2col_dn, col2im_ours, col2im_dn;
};

/* One shape through both im2col_cpu and both col2im_cpu; returns the column matrix's size. */
static size_t conv_case(const struct conv_fns *f, struct sul_rng *r, struct diffs *bad, int c, int h, int w, int ks,
			int st, int pad)
{
	const int hc = (h + 2 * pad - ks) / st + 1, wc = (w + 2 * pad - ks) / st + 1;
	const size_t ncol = (size_t)c * ks * ks * hc * wc, nim = (size_t)c * h * w;
	float *im = random_array(r, nim, -2, 2), *col = random_array(r, ncol, -2, 2);
	float *a = twin(col, ncol), *b = twin(col, ncol);
	char msg[160];

	f->im2col_ours(im, c, h, w, ks, st, pad, a);
	f->im2col_dn(im, c, h, w, ks, st, pad, b);
	snprintf(msg, sizeof(msg), "im2col_cpu c=%d h=%d w=%d ksize=%d stride=%d pad=%d", c, h, w, ks, st, pad);
	same_bits(bad, a, b, ncol, msg);
	free(a);
	free(b);
	/* col2im adds into the image: both start from the same random one. */
	a = twin(im, nim);
	b = twin(im, nim);
	f->col2im_ours(col, c, h, w, ks, st, pad, a);
	f->col2im_dn(col, c, h, w, ks, st, pad, b);
	snprintf(msg, sizeof(msg), "col2im_cpu c=%d h=%d w=%d ksize=%d stride=%d pad=%d", c, h, w, ks, st, pad);
	same_bits(bad, a, b, nim, msg);
	ck_assert_msg(memcmp(a, im, nim * sizeof(float)), "%s: changed nothing", msg);
	free(a);
	free(b);
	free(im);
	free(col);
	return ncol;
}

START_TEST(im2col_col2im_bit_identical)
{
	static const int ksizes[] = { 1, 3, 5, 7 }, strides[] = { 1, 2 }, pads[] = { 0, 1, 2, 3 };
	static const int shapes[][3] = { { 3, 13, 11 }, { 64, 13, 11 }, { 64, 37, 29 }, { 5, 2, 9 } };  /* c, h, w */
	struct diffs bad = DIFFS_INIT;
	struct conv_fns f;
	struct libs l;
	struct sul_rng r;
	int cases = 0, parallel = 0;
	size_t ki, si, pi, sh;

	libs_open(&l);
	lookup(&l, "im2col_cpu", (void **)&f.im2col_ours, (void **)&f.im2col_dn);
	lookup(&l, "col2im_cpu", (void **)&f.col2im_ours, (void **)&f.col2im_dn);
	sul_rng_seed(&r, 12);
	for (sh = 0; sh < sizeof(shapes) / sizeof(shapes[0]); sh++)
		for (ki = 0; ki < 4; ki++)
			for (si = 0; si < 2; si++)
				for (pi = 0; pi < 4; pi++) {
					const int h = shapes[sh][1], w = shapes[sh][2], ks = ksizes[ki], pad = pads[pi];
					size_t ncol;
					if (h + 2 * pad < ks || w + 2 * pad < ks)
						continue;
					ncol = conv_case(&f, &r, &bad, shapes[sh][0], h, w, ks, strides[si], pad);
					parallel += ncol > 32768;  /* ours goes parallel above */
					cases++;
				}
	ck_assert_int_ge(cases, 100);
	ck_assert_int_ge(parallel, 20);
	libs_close(&l);
	assert_no_difference(&bad);
}
END_TEST

/* ---- bias and activation -------------------------------------------------- */

/* batch, n (channels), size (spatial): small, above 65536 elements, spatial 1 (connected layers). */
static const int shapes3[][3] = { { 2, 5, 7 }, { 3, 37, 667 }, { 1, 64, 1200 }, { 8, 16, 1 }, { 1, 70, 1000 } };
#define NSHAPES3 (sizeof(shapes3) / sizeof(shapes3[0]))

START_TEST(bias_and_activation_bit_identical)
{
	static const char *const bias_names[] = { "add_bias", "scale_bias", "backward_bias" };
	static const int acts[] = { ACT_LINEAR, ACT_RELU, ACT_LEAKY, ACT_LOGISTIC, ACT_TANH };
	static const int ns[] = { 1000, 65537, 100003 };
	static const float special[] = { -0.0f, NAN, INFINITY, -INFINITY, 1e-40f, -1e-40f, 1e30f, -1e30f };
	struct diffs bad = DIFFS_INIT;
	struct libs l;
	activate_fn act_ours, act_dn;
	gradient_fn grad_ours, grad_dn;
	struct sul_rng r;
	size_t f, s, ai, ni;
	char msg[160];

	libs_open(&l);
	sul_rng_seed(&r, 13);
	for (f = 0; f < 3; f++) {
		bias_fn ours, dn;
		lookup(&l, bias_names[f], (void **)&ours, (void **)&dn);
		for (s = 0; s < NSHAPES3; s++) {
			const int batch = shapes3[s][0], n = shapes3[s][1], size = shapes3[s][2];
			const size_t total = (size_t)batch * n * size;
			float *x = random_array(&r, total, -3, 3), *bias = random_array(&r, (size_t)n, -2, 2);
			float *a, *b;

			snprintf(msg, sizeof(msg), "%s batch=%d n=%d size=%d", bias_names[f], batch, n, size);
			if (f < 2) {  /* output[b][i][j] += or *= bias[i] */
				a = twin(x, total);
				b = twin(x, total);
				ours(a, bias, batch, n, size);
				dn(b, bias, batch, n, size);
				same_bits(&bad, a, b, total, msg);
				ck_assert_msg(memcmp(a, x, total * sizeof(float)), "%s changed nothing", msg);
			} else {  /* bias_updates[i] += sum of delta over images and pixels */
				a = twin(bias, (size_t)n);
				b = twin(bias, (size_t)n);
				ours(a, x, batch, n, size);
				dn(b, x, batch, n, size);
				same_bits(&bad, a, b, (size_t)n, msg);
				ck_assert_msg(memcmp(a, bias, (size_t)n * sizeof(float)), "%s changed nothing", msg);
			}
			free(a);
			free(b);
			free(x);
			free(bias);
		}
	}

	lookup(&l, "activate_array", (void **)&act_ours, (void **)&act_dn);
	lookup(&l, "gradient_array", (void **)&grad_ours, (void **)&grad_dn);
	for (ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
		for (ai = 0; ai < sizeof(acts) / sizeof(acts[0]); ai++) {
			const int n = ns[ni], act = acts[ai];
			float *x = random_array(&r, (size_t)n, -4, 4), *delta = random_array(&r, (size_t)n, -1, 1);
			float *a, *b;
			int i;

			for (i = 0; i < n; i += 97)
				x[i] = 0;  /* the kinks of RELU and LEAKY */
			memcpy(x + 1, special, sizeof(special));
			a = twin(x, (size_t)n);
			b = twin(x, (size_t)n);
			act_ours(a, n, act);
			act_dn(b, n, act);
			snprintf(msg, sizeof(msg), "activate_array n=%d activation=%d", n, act);
			same_bits(&bad, a, b, (size_t)n, msg);
			/* gradient_array takes the activated output, as the layers call it. */
			free(b);
			b = twin(delta, (size_t)n);
			memcpy(x, a, (size_t)n * sizeof(float));
			free(a);
			a = twin(delta, (size_t)n);
			grad_ours(x, n, act, a);
			grad_dn(x, n, act, b);
			snprintf(msg, sizeof(msg), "gradient_array n=%d activation=%d", n, act);
			same_bits(&bad, a, b, (size_t)n, msg);
			if (act != ACT_LINEAR)
				ck_assert_msg(memcmp(a, delta, (size_t)n * sizeof(float)), "%s changed nothing", msg);
			free(a);
			free(b);
			free(x);
			free(delta);
		}
	libs_close(&l);
	assert_no_difference(&bad);
}
END_TEST

/* ---- batchnorm loops --------------------------------------------------- */

/* SGD's loops (update_*_layer): on threads above 65536 values, strided on one. */
START_TEST(sgd_loops_bit_identical)
{
	static const int ns[] = { 1000, 65537, 300007 };
	static const float alphas[] = { 0.9f, -0.0005f * 16, 0.001f / 16 };
	struct diffs bad = DIFFS_INIT;
	struct libs l;
	axpy_fn axpy_ours, axpy_dn;
	scal_fn scal_ours, scal_dn;
	struct sul_rng r;
	size_t ni, ai;
	char msg[160];

	libs_open(&l);
	sul_rng_seed(&r, 17);
	lookup(&l, "axpy_cpu", (void **)&axpy_ours, (void **)&axpy_dn);
	lookup(&l, "scal_cpu", (void **)&scal_ours, (void **)&scal_dn);
	for (ni = 0; ni < sizeof(ns) / sizeof(ns[0]); ni++)
		for (ai = 0; ai < sizeof(alphas) / sizeof(alphas[0]); ai++) {
			const int n = ns[ni], inc = ni == 0 ? 3 : 1;
			const size_t total = (size_t)n * inc;
			float *x = random_array(&r, total, -3, 3), *y = random_array(&r, total, -3, 3);
			float *a = twin(y, total), *b = twin(y, total);
			snprintf(msg, sizeof(msg), "axpy_cpu n=%d alpha=%g inc=%d", n, alphas[ai], inc);
			axpy_ours(n, alphas[ai], x, inc, a, inc);
			axpy_dn(n, alphas[ai], x, inc, b, inc);
			same_bits(&bad, a, b, total, msg);
			ck_assert_msg(memcmp(a, y, total * sizeof(float)), "%s changed nothing", msg);
			snprintf(msg, sizeof(msg), "scal_cpu n=%d alpha=%g inc=%d", n, alphas[ai], inc);
			scal_ours(n, alphas[ai], a, inc);
			scal_dn(n, alphas[ai], b, inc);
			same_bits(&bad, a, b, total, msg);
			free(x);
			free(y);
			free(a);
			free(b);
		}
	libs_close(&l);
	assert_no_difference(&bad);
}
END_TEST

START_TEST(batchnorm_loops_bit_identical)
{
	struct diffs bad = DIFFS_INIT;
	struct libs l;
	stat_fn mean_ours, mean_dn;
	stat2_fn var_ours, var_dn, scale_ours, scale_dn, mdelta_ours, mdelta_dn;
	normalize_fn norm_ours, norm_dn;
	variance_delta_fn vdelta_ours, vdelta_dn;
	normalize_delta_fn ndelta_ours, ndelta_dn;
	struct sul_rng r;
	size_t s;
	char msg[160];

	libs_open(&l);
	lookup(&l, "mean_cpu", (void **)&mean_ours, (void **)&mean_dn);
	lookup(&l, "variance_cpu", (void **)&var_ours, (void **)&var_dn);
	lookup(&l, "normalize_cpu", (void **)&norm_ours, (void **)&norm_dn);
	lookup(&l, "backward_scale_cpu", (void **)&scale_ours, (void **)&scale_dn);
	lookup(&l, "mean_delta_cpu", (void **)&mdelta_ours, (void **)&mdelta_dn);
	lookup(&l, "variance_delta_cpu", (void **)&vdelta_ours, (void **)&vdelta_dn);
	lookup(&l, "normalize_delta_cpu", (void **)&ndelta_ours, (void **)&ndelta_dn);
	sul_rng_seed(&r, 14);
	for (s = 0; s < NSHAPES3; s++) {
		const int batch = shapes3[s][0], nf = shapes3[s][1], sp = shapes3[s][2];
		const size_t total = (size_t)batch * nf * sp;
		float *x = random_array(&r, total, -3, 5), *delta = random_array(&r, total, -1, 1);
		float *mean = random_array(&r, (size_t)nf, -1, 1), *var = random_array(&r, (size_t)nf, 0.05, 4);
		float *mdelta = random_array(&r, (size_t)nf, -1, 1), *vdelta = random_array(&r, (size_t)nf, -1, 1);
		float *a = twin(mean, (size_t)nf), *b = twin(mean, (size_t)nf);

#define SHAPE(name) (snprintf(msg, sizeof(msg), "%s batch=%d filters=%d spatial=%d", name, batch, nf, sp), msg)
		mean_ours(x, batch, nf, sp, a);
		mean_dn(x, batch, nf, sp, b);
		same_bits(&bad, a, b, (size_t)nf, SHAPE("mean_cpu"));
		var_ours(x, mean, batch, nf, sp, a);
		var_dn(x, mean, batch, nf, sp, b);
		same_bits(&bad, a, b, (size_t)nf, SHAPE("variance_cpu"));
		mdelta_ours(delta, var, batch, nf, sp, a);
		mdelta_dn(delta, var, batch, nf, sp, b);
		same_bits(&bad, a, b, (size_t)nf, SHAPE("mean_delta_cpu"));
		vdelta_ours(x, delta, mean, var, batch, nf, sp, a);
		vdelta_dn(x, delta, mean, var, batch, nf, sp, b);
		same_bits(&bad, a, b, (size_t)nf, SHAPE("variance_delta_cpu"));
		/* backward_scale_cpu accumulates into its output. */
		free(a);
		free(b);
		a = twin(mdelta, (size_t)nf);
		b = twin(mdelta, (size_t)nf);
		scale_ours(x, delta, batch, nf, sp, a);
		scale_dn(x, delta, batch, nf, sp, b);
		same_bits(&bad, a, b, (size_t)nf, SHAPE("backward_scale_cpu"));
		free(a);
		free(b);
		/* In place over the whole tensor. */
		a = twin(x, total);
		b = twin(x, total);
		norm_ours(a, mean, var, batch, nf, sp);
		norm_dn(b, mean, var, batch, nf, sp);
		same_bits(&bad, a, b, total, SHAPE("normalize_cpu"));
		free(a);
		free(b);
		a = twin(delta, total);
		b = twin(delta, total);
		ndelta_ours(x, mean, var, mdelta, vdelta, batch, nf, sp, a);
		ndelta_dn(x, mean, var, mdelta, vdelta, batch, nf, sp, b);
		same_bits(&bad, a, b, total, SHAPE("normalize_delta_cpu"));
#undef SHAPE
		free(a);
		free(b);
		free(x);
		free(delta);
		free(mean);
		free(var);
		free(mdelta);
		free(vdelta);
	}
	libs_close(&l);
	assert_no_difference(&bad);
}
END_TEST

/* ---- a network through dn.h --------------------------------------------- */

#define W 16
#define H 16
#define C 3
#define BATCH 4
#define CLASSES 3
#define IMG (W * H * C)

/* Layers: 0 conv 3x3 8 bn leaky (16x16), 1 maxpool (8x8), 2 conv 1x1 8 leaky,
 * 3 avgpool, 4 connected 3, 5 softmax. */
static const char net_cfg[] =
	"[net]\nbatch=4\nsubdivisions=1\nwidth=16\nheight=16\nchannels=3\nmomentum=0.9\ndecay=0.0005\n"
	"[convolutional]\nbatch_normalize=1\nfilters=%d\nsize=3\nstride=1\npad=1\nactivation=leaky\n"
	"[maxpool]\nsize=2\nstride=2\n"
	"[convolutional]\nfilters=8\nsize=1\nstride=1\npad=0\nactivation=leaky\n"
	"[avgpool]\n"
	"[connected]\noutput=3\nactivation=linear\n"
	"[softmax]\ngroups=1\n";

/* The cfg's layer 0 in a weights file: biases, scales, rolling mean and
 * variance (8 each), weights 8x3x3x3; the header before it. */
#define HEADER_BYTES 20
#define LAYER0_BYTES ((4 * 8 + 8 * 3 * 3 * 3) * 4)
#define ALL_BYTES (HEADER_BYTES + LAYER0_BYTES + (8 + 8 * 8) * 4 + (3 + 3 * 8) * 4)

static char *write_cfg(const char *dir, const char *name, int filters0)
{
	char text[1024];

	snprintf(text, sizeof(text), net_cfg, filters0);
	tu_write(dir, name, text);
	return sul_xasprintf("%s/%s", dir, name);
}

/* The network tests run once per backend: the loop index _i of Check is
 * SUL_DN_ONEDNN (0) or SUL_DN_DARKNET (1). */
static struct sul_dn_net *open_net_on(const struct sul_dn_api *api, const char *cfg, const char *weights,
				      int load_layers, unsigned long seed, int backend)
{
	struct sul_dn_open o = { .cfg = cfg, .weights = weights, .load_layers = load_layers, .batch = BATCH,
				 .seed = seed, .threads = 2, .gpu = -1, .backend = backend };
	struct sul_err err = SUL_ERR_INIT;
	struct sul_dn_net *net = NULL;

	ck_assert_msg(api->open(&o, &net, &err) == 0, "open %s: %s", cfg, err.msg);
	ck_assert_ptr_nonnull(net);
	return net;
}

/* Refused: returns the message. */
static void open_fails(const struct sul_dn_api *api, const char *cfg, const char *weights, int load_layers,
		       struct sul_err *err)
{
	struct sul_dn_open o = { .cfg = cfg, .weights = weights, .load_layers = load_layers, .batch = BATCH,
				 .seed = 7, .threads = 2, .gpu = -1 };
	struct sul_dn_net *net = NULL;

	sul_err_clear(err);
	ck_assert_msg(api->open(&o, &net, err) == -1, "open %s with %s: accepted", cfg, weights ? weights : "-");
	ck_assert_ptr_null(net);
	ck_assert_int_ne(err->kind, SUL_ERR_NONE);
}

/* Four images of three classes: class k has channel k bright (0.8) and the
 * others dark (0.2), plus noise.  A global-average-pool head sees this. */
static void make_images(float *x, int *labels)
{
	static const int lab[BATCH] = { 0, 1, 2, 1 };
	struct sul_rng r;
	int i, c, p;

	sul_rng_seed(&r, 99);
	for (i = 0; i < BATCH; i++) {
		labels[i] = lab[i];
		for (c = 0; c < C; c++)
			for (p = 0; p < W * H; p++)
				x[i * IMG + c * W * H + p] =
					(float)((c == lab[i] ? 0.8 : 0.2) + 0.1 * (sul_rng_uniform(&r) - 0.5));
	}
}

/* Mean cross-entropy of probs for labels. */
static double xent(const float *probs, const int *labels, int n)
{
	double s = 0;
	int i;

	for (i = 0; i < n; i++)
		s -= log(fmax(probs[i * CLASSES + labels[i]], 1e-7));
	return s / n;
}

static int argmax(const float *p)
{
	int c, best = 0;

	for (c = 1; c < CLASSES; c++)
		if (p[c] > p[best])
			best = c;
	return best;
}

static void train(const struct sul_dn_api *api, struct sul_dn_net *net, const float *x, const int *labels, int steps,
		  double *first, double *last)
{
	struct sul_err err = SUL_ERR_INIT;
	float probs[BATCH * CLASSES];
	int s;

	for (s = 0; s < steps; s++) {
		ck_assert_msg(api->train_step(net, x, labels, NULL, 0.1f, probs, &err) == 0, "step %d: %s", s, err.msg);
		if (s == 0 && first)
			*first = xent(probs, labels, BATCH);
	}
	if (last)
		*last = xent(probs, labels, BATCH);
}

static void read_all(const char *path, struct sul_buf *b)
{
	struct sul_err err = SUL_ERR_INIT;

	sul_buf_reset(b);
	ck_assert_msg(sul_read_file(path, b, &err) == 0, "%s", err.msg);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, n, f), n);
	ck_assert_int_eq(fclose(f), 0);
}

/* What open() reads from the cfg; one seed, one initialization. */
START_TEST(open_describes_and_seeds)
{
	const struct sul_dn_api *api = load_api();
	struct sul_err err = SUL_ERR_INIT;
	char *dir = tu_tmpdir(), *cfg = write_cfg(dir, "a.cfg", 8), *want;
	struct sul_dn_net *a, *b, *c;
	struct sul_dn_info info;
	struct sul_dn_layer li;
	char ha[65], hb[65], hc[65];
	static const char *const types[] = { "convolutional", "maxpool", "convolutional",
					     "avgpool",       "connected", "softmax" };
	int i;

	ck_assert_str_eq(api->build, "cpu (oneDNN, OpenBLAS)");
	a = open_net_on(api, cfg, NULL, 0, 7, _i);
	api->info(a, &info);
	ck_assert_int_eq(info.w, W);
	ck_assert_int_eq(info.h, H);
	ck_assert_int_eq(info.c, C);
	ck_assert_int_eq(info.classes, CLASSES);
	ck_assert_int_eq(info.batch, BATCH);
	ck_assert_int_eq(info.nlayers, 6);
	/* oneDNN says which instruction set it dispatched to: any will do. */
	if (_i == SUL_DN_DARKNET)
		ck_assert_str_eq(info.backend, "darknet");
	else
		ck_assert_msg(!strncmp(info.backend, "onednn (", 8), "%s", info.backend);
	ck_assert_int_eq(info.softmax_last, 1);
	ck_assert_int_eq(info.gap_layer, 2);
	ck_assert_int_eq(info.last_spatial, 2);
	/* conv0: 8 biases + 8 scales + 216 weights; conv2: 8 + 64; connected: 3 + 24 */
	ck_assert_int_eq(info.params, 232 + 72 + 27);
	ck_assert_uint_eq(info.weights_bytes, ALL_BYTES);
	for (i = 0; i < 6; i++) {
		api->layer(a, i, &li);
		ck_assert_str_eq(li.type, types[i]);
	}
	api->layer(a, 0, &li);
	ck_assert_int_eq(li.out_w, 16);
	ck_assert_int_eq(li.out_c, 8);
	ck_assert_int_eq(li.batch_normalize, 1);
	ck_assert_int_eq(li.params, 232);
	api->layer(a, 1, &li);
	ck_assert_int_eq(li.out_w, 8);
	ck_assert_int_eq(li.out_h, 8);

	b = open_net_on(api, cfg, NULL, 0, 7, _i);
	c = open_net_on(api, cfg, NULL, 0, 8, _i);
	api->digest(a, ha);
	api->digest(b, hb);
	api->digest(c, hc);
	ck_assert_uint_eq(strlen(ha), 64);
	ck_assert_str_eq(ha, hb);
	ck_assert_str_ne(ha, hc);
	api->close(a);
	api->close(b);
	api->close(c);

	/* What Darknet would overflow the heap or exit on. */
	{
		struct sul_dn_open o = { .cfg = cfg, .batch = 8, .seed = 7, .threads = 2, .gpu = -1 };
		ck_assert_int_eq(api->open(&o, &a, &err), -1);
		want = sul_xasprintf("%s: [net] batch=4, expected 8", cfg);
		ck_assert_str_eq(err.msg, want);
		free(want);
		o.batch = BATCH;
		o.gpu = 0;
		ck_assert_int_eq(api->open(&o, &a, &err), -1);
		ck_assert_str_eq(err.msg, "gpu = 0: this is the CPU build of sulcus-darknet.so; build the CUDA one with "
				  "`make GPU=1`");
		/* The CPU build has no devices and says why. */
		{
			char why[128] = "";
			ck_assert_int_eq(api->devices(why, sizeof(why)), 0);
			ck_assert_ptr_nonnull(strstr(why, "CPU build"));
		}
		/* An input the layers shrink to nothing (Darknet goes on with an
		 * empty layer; oneDNN would divide by zero). */
		{
			char *tiny = sul_xasprintf("%s/tiny.cfg", dir);
			const char *text = "[net]\nbatch=4\nwidth=3\nheight=3\nchannels=3\n"
					   "[convolutional]\nfilters=4\nsize=3\nstride=1\npad=0\nactivation=leaky\n"
					   "[maxpool]\nsize=3\nstride=2\npadding=0\n"
					   "[connected]\noutput=3\nactivation=linear\n[softmax]\n";
			tu_write(dir, "tiny.cfg", text);
			o.gpu = -1;
			o.cfg = tiny;
			o.backend = _i;
			ck_assert_int_eq(api->open(&o, &a, &err), -1);
			want = sul_xasprintf("%s: layer 1 [maxpool] has an empty output (0x0x4): the 3x3 input is too small "
					     "for this network", tiny);
			ck_assert_str_eq(err.msg, want);
			free(want);
			free(tiny);
		}
	}
	free(cfg);
	tu_cleanup();
}
END_TEST

/* Train on four images, predict them, save, reload, refuse wrong weights,
 * load only the first layer. */
START_TEST(trains_saves_and_reloads)
{
	const struct sul_dn_api *api = load_api();
	struct sul_err err = SUL_ERR_INIT;
	char *dir = tu_tmpdir(), *cfg = write_cfg(dir, "a.cfg", 8), *cfg16 = write_cfg(dir, "b.cfg", 16);
	char *saved = sul_xasprintf("%s/a.weights", dir), *fresh = sul_xasprintf("%s/fresh.weights", dir);
	char *part = sul_xasprintf("%s/part.weights", dir), *cut = sul_xasprintf("%s/cut.weights", dir);
	char *partsaved = sul_xasprintf("%s/partsaved.weights", dir), *want;
	float x[BATCH * IMG], probs[BATCH * CLASSES], again[BATCH * CLASSES], other[BATCH * CLASSES];
	/* weights files: trained, fresh, partially loaded twice */
	struct sul_buf wa = SUL_BUF_INIT, wf = SUL_BUF_INIT, wp = SUL_BUF_INIT, wq = SUL_BUF_INIT;
	int labels[BATCH], i;
	struct sul_dn_net *net, *back, *p, *f;
	struct sul_dn_info info16;
	char h1[65], h2[65];
	double first, last;
	struct stat st;

	make_images(x, labels);
	net = open_net_on(api, cfg, NULL, 0, 7, _i);
	train(api, net, x, labels, 30, &first, &last);
	ck_assert_msg(first > 0.5 && last < 0.1 * first, "loss %g -> %g", first, last);
	ck_assert_msg(api->predict(net, x, BATCH, probs, &err) == 0, "%s", err.msg);
	for (i = 0; i < BATCH; i++)
		ck_assert_msg(argmax(probs + i * CLASSES) == labels[i], "image %d (class %d): p = %g %g %g", i,
			      labels[i], probs[i * CLASSES], probs[i * CLASSES + 1], probs[i * CLASSES + 2]);
	/* Fewer images than the batch: the same probabilities for them. */
	ck_assert_int_eq(api->predict(net, x, 2, again, &err), 0);
	ck_assert_mem_eq(again, probs, 2 * CLASSES * sizeof(float));
	ck_assert_int_eq(api->predict(net, x, BATCH + 1, again, &err), -1);

	/* Saved and reopened: the same parameters, the same predictions. */
	ck_assert_msg(api->save(net, saved, &err) == 0, "%s", err.msg);
	ck_assert_int_eq(stat(saved, &st), 0);
	ck_assert_int_eq(st.st_size, ALL_BYTES);
	back = open_net_on(api, cfg, saved, 0, 8, _i);
	api->digest(net, h1);
	api->digest(back, h2);
	ck_assert_str_eq(h1, h2);
	ck_assert_int_eq(api->predict(back, x, BATCH, again, &err), 0);
	ck_assert_mem_eq(again, probs, sizeof(probs));
	api->close(back);

	/* A folder that does not exist: an error, not Darknet's exit(0). */
	want = sul_xasprintf("%s/no/such/folder/x.weights", dir);
	ck_assert_int_eq(api->save(net, want, &err), -1);
	ck_assert_msg(strstr(err.msg, "/no/such/folder/x.weights") != NULL, "%s", err.msg);
	free(want);

	/* Weights of another network, and a cut file: refused with the byte counts. */
	back = open_net_on(api, cfg16, NULL, 0, 7, _i);
	api->info(back, &info16);
	api->close(back);
	open_fails(api, cfg16, saved, 0, &err);
	want = sul_xasprintf("%s: %d bytes, but the weights of this network take %zu bytes: weights for another "
			     "network? (load_layers loads only the first layers)",
			     saved, ALL_BYTES, info16.weights_bytes);
	ck_assert_str_eq(err.msg, want);
	free(want);
	read_all(saved, &wa);
	write_bytes(cut, wa.buf, 1000);
	open_fails(api, cfg, cut, 0, &err);
	want = sul_xasprintf("%s: 1000 bytes, but the weights of this network take %d bytes: weights for another "
			     "network? (load_layers loads only the first layers)",
			     cut, ALL_BYTES);
	ck_assert_str_eq(err.msg, want);
	free(want);
	write_bytes(cut, wa.buf, 10);
	open_fails(api, cfg, cut, 0, &err);
	ck_assert_msg(strstr(err.msg, "not a Darknet weights file") != NULL, "%s", err.msg);

	/* The first layer's weights only (`darknet partial`): load_layers=1 takes
	 * them; all layers, or three, do not fit in them. */
	write_bytes(part, wa.buf, HEADER_BYTES + LAYER0_BYTES);
	open_fails(api, cfg, part, 0, &err);
	ck_assert_msg(strstr(err.msg, "1012 bytes, but the weights of this network take 1408 bytes") != NULL, "%s",
		      err.msg);
	open_fails(api, cfg, part, 3, &err);
	want = sul_xasprintf("%s: %d bytes, but the weights of this network's first 3 layers take %d bytes: weights "
			     "for another network?",
			     part, HEADER_BYTES + LAYER0_BYTES, HEADER_BYTES + LAYER0_BYTES + (8 + 64) * 4);
	ck_assert_str_eq(err.msg, want);
	free(want);
	p = open_net_on(api, cfg, part, 1, 9, _i);
	f = open_net_on(api, cfg, NULL, 0, 9, _i);
	ck_assert_int_eq(api->save(p, partsaved, &err), 0);
	ck_assert_int_eq(api->save(f, fresh, &err), 0);
	read_all(partsaved, &wp);
	read_all(fresh, &wf);
	ck_assert_uint_eq(wp.len, ALL_BYTES);
	ck_assert_uint_eq(wf.len, ALL_BYTES);
	/* Layer 0 from the file, the others as a fresh network of the same seed initializes them. */
	ck_assert_mem_eq(wp.buf + HEADER_BYTES, wa.buf + HEADER_BYTES, LAYER0_BYTES);
	ck_assert_mem_eq(wp.buf + HEADER_BYTES + LAYER0_BYTES, wf.buf + HEADER_BYTES + LAYER0_BYTES,
			 ALL_BYTES - HEADER_BYTES - LAYER0_BYTES);
	/* ...which is a test only because training changed both parts. */
	ck_assert(memcmp(wa.buf + HEADER_BYTES, wf.buf + HEADER_BYTES, LAYER0_BYTES));
	ck_assert(memcmp(wa.buf + HEADER_BYTES + LAYER0_BYTES, wf.buf + HEADER_BYTES + LAYER0_BYTES,
			 ALL_BYTES - HEADER_BYTES - LAYER0_BYTES));
	ck_assert_int_eq(api->predict(p, x, BATCH, other, &err), 0);
	ck_assert(memcmp(other, probs, sizeof(probs)));
	api->close(p);
	/* The same from the complete file: load_layers=1 stops after layer 0. */
	p = open_net_on(api, cfg, saved, 1, 9, _i);
	ck_assert_int_eq(api->save(p, partsaved, &err), 0);
	read_all(partsaved, &wq);
	ck_assert_uint_eq(wq.len, ALL_BYTES);
	ck_assert_mem_eq(wq.buf, wp.buf, ALL_BYTES);
	/* load_layers = the number of layers: all of them. */
	back = open_net_on(api, cfg, saved, 6, 9, _i);
	api->digest(back, h2);
	ck_assert_str_eq(h1, h2);
	api->close(back);
	api->close(p);
	api->close(f);
	api->close(net);

	sul_buf_release(&wa);
	sul_buf_release(&wf);
	sul_buf_release(&wp);
	sul_buf_release(&wq);
	free(cfg);
	free(cfg16);
	free(saved);
	free(fresh);
	free(part);
	free(cut);
	free(partsaved);
	tu_cleanup();
}
END_TEST

/* The loss falls for other seeds too: the criterion above is not luck. */
START_TEST(training_converges_for_several_seeds)
{
	const struct sul_dn_api *api = load_api();
	char *dir = tu_tmpdir(), *cfg = write_cfg(dir, "a.cfg", 8);
	float x[BATCH * IMG];
	int labels[BATCH];
	unsigned long seed;

	make_images(x, labels);
	for (seed = 1; seed <= 5; seed++) {
		struct sul_dn_net *net = open_net_on(api, cfg, NULL, 0, seed, _i);
		double first, last;
		train(api, net, x, labels, 30, &first, &last);
		ck_assert_msg(last < 0.1 * first, "seed %lu: loss %g -> %g", seed, first, last);
		api->close(net);
	}
	free(cfg);
	tu_cleanup();
}
END_TEST

/* Same seed, same data, same steps: the same parameters, bit for bit. */
START_TEST(training_is_deterministic)
{
	const struct sul_dn_api *api = load_api();
	char *dir = tu_tmpdir(), *cfg = write_cfg(dir, "a.cfg", 8);
	struct sul_dn_net *a, *b;
	float x[BATCH * IMG];
	int labels[BATCH];
	char h0[65], ha[65], hb[65];

	make_images(x, labels);
	a = open_net_on(api, cfg, NULL, 0, 5, _i);
	api->digest(a, h0);
	train(api, a, x, labels, 5, NULL, NULL);
	b = open_net_on(api, cfg, NULL, 0, 5, _i);
	train(api, b, x, labels, 5, NULL, NULL);
	api->digest(a, ha);
	api->digest(b, hb);
	ck_assert_str_eq(ha, hb);
	ck_assert_str_ne(ha, h0);
	api->close(a);
	api->close(b);
	free(cfg);
	tu_cleanup();
}
END_TEST

SUL_SUITE(darknet)
{
	Suite *s = suite_create("darknet");
	TCase *math = tcase_create("math");
	TCase *net = tcase_create("network");

	tcase_set_timeout(math, 60);
	tcase_add_test(math, gemm_matches_darknet);
	tcase_add_test(math, im2col_col2im_bit_identical);
	tcase_add_test(math, bias_and_activation_bit_identical);
	tcase_add_test(math, batchnorm_loops_bit_identical);
	tcase_add_test(math, sgd_loops_bit_identical);
	suite_add_tcase(s, math);
	tcase_set_timeout(net, 60);
	tcase_add_loop_test(net, open_describes_and_seeds, 0, 2);
	tcase_add_loop_test(net, trains_saves_and_reloads, 0, 2);
	tcase_add_loop_test(net, training_converges_for_several_seeds, 0, 2);
	tcase_add_loop_test(net, training_is_deterministic, 0, 2);
	suite_add_tcase(s, net);
	return s;
}
