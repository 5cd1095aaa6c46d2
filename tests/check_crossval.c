/*
 * check_crossval.c - the statistics of the `crossval` kind
 * (stages/cvstats.h): the figures of pooled predictions against hand
 * computation and against evaluate's own AUC (stats.h sul_auc), subject
 * weights against duplicated data, the stratified resample, quantiles,
 * and the stage ids a pattern names.
 */
#include "../stages/cvstats.h"
#include "../stages/rng.h"
#include "../stages/stats.h"
#include "check_util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copies of the given arrays into a prepared struct (cvstats owns them). */
static void make_preds(struct sul_cv_preds *p, size_t n, size_t nsub, int k, const int *label, const float *probs,
		       const size_t *subject)
{
	memset(p, 0, sizeof(*p));
	p->nslices = n, p->nsubjects = nsub, p->classes = k;
	p->label = malloc(sizeof(int) * n);
	p->probs = malloc(sizeof(float) * n * k);
	p->subject = malloc(sizeof(size_t) * n);
	memcpy(p->label, label, sizeof(int) * n);
	memcpy(p->probs, probs, sizeof(float) * n * k);
	memcpy(p->subject, subject, sizeof(size_t) * n);
	sul_cv_prepare(p);
}

/* Six slices of three subjects, two classes; by hand: argmax right on
 * slices 0, 1, 2 (slice 3's tie goes to class 0, the first); subject
 * means: s0 (0.8, 0.2) right, s1 (0.45, 0.55) for class 1 right, s2 (0.6,
 * 0.4) but class 1: wrong (2/3). */
static const int label6[6] = { 0, 0, 1, 1, 1, 1 };
static const float probs6[12] = { 0.9f, 0.1f, 0.7f, 0.3f, 0.4f, 0.6f, 0.5f, 0.5f, 0.7f, 0.3f, 0.5f, 0.5f };
static const size_t subj6[6] = { 0, 0, 1, 1, 2, 2 };

START_TEST(figures_by_hand)
{
	struct sul_cv_preds p;
	struct sul_cv_metrics m;
	struct sul_score sc[6];
	double auc0, auc1;
	int i;

	make_preds(&p, 6, 3, 2, label6, probs6, subj6);
	sul_cv_metrics(&p, NULL, &m);
	ck_assert(fabs(m.accuracy - 3.0 / 6) < 1e-12);
	ck_assert(fabs(m.subject_accuracy - 2.0 / 3) < 1e-12);
	ck_assert(fabs(m.loss - (-log(0.9) - log(0.7) - log(0.6) - log(0.5) - log(0.3) - log(0.5)) / 6) < 1e-6);
	/* The macro AUC equals evaluate's Mann-Whitney on each class. */
	for (i = 0; i < 6; i++)
		sc[i].p = probs6[i * 2], sc[i].pos = label6[i] == 0;
	auc0 = sul_auc(sc, 6);
	for (i = 0; i < 6; i++)
		sc[i].p = probs6[i * 2 + 1], sc[i].pos = label6[i] == 1;
	auc1 = sul_auc(sc, 6);
	ck_assert_msg(fabs(m.macro_auc - (auc0 + auc1) / 2) < 1e-12, "macro AUC %g, sul_auc %g and %g", m.macro_auc,
		      auc0, auc1);
	sul_cv_release(&p);
}
END_TEST

/* Subject 1 counted 3 times and subject 0 not at all equals the data
 * with subject 1's slices written out three times. */
START_TEST(weights_are_duplicates)
{
	static const int lab_dup[8] = { 1, 1, 1, 1, 1, 1, 1, 1 };
	struct sul_cv_preds p, d;
	struct sul_cv_metrics a, b;
	const double w[3] = { 0, 3, 1 };
	float pd[16];
	size_t sd[8];
	int i, l[8];

	make_preds(&p, 6, 3, 2, label6, probs6, subj6);
	/* slices 2, 3 three times (subject 1), then 4, 5 (subject 2). */
	for (i = 0; i < 8; i++) {
		const int src = i < 6 ? 2 + i % 2 : 4 + i % 2;
		pd[i * 2] = probs6[src * 2], pd[i * 2 + 1] = probs6[src * 2 + 1];
		sd[i] = i < 6 ? 1 : 2;
		l[i] = lab_dup[i];
	}
	make_preds(&d, 8, 3, 2, l, pd, sd);
	sul_cv_metrics(&p, w, &a);
	sul_cv_metrics(&d, NULL, &b);
	ck_assert(fabs(a.accuracy - b.accuracy) < 1e-12 && fabs(a.loss - b.loss) < 1e-12);
	/* One class only among the weighted: its AUC is undefined, the other's too. */
	ck_assert(isnan(a.macro_auc) && isnan(b.macro_auc));
	/* Subject accuracy: subject 1 (right) three times, subject 2 (wrong) once. */
	ck_assert(fabs(a.subject_accuracy - 0.75) < 1e-12);
	sul_cv_release(&p);
	sul_cv_release(&d);
}
END_TEST

/* A resample keeps each stratum's size, draws only its members, and is
 * the same for the same seed. */
START_TEST(stratified_resample)
{
	const int strata[7] = { 0, 0, 0, 1, 1, -1, 2 };
	double w[7], w2[7];
	struct sul_rng r1, r2;
	int k, rep;

	sul_rng_seed(&r1, 5);
	sul_rng_seed(&r2, 5);
	for (rep = 0; rep < 50; rep++) {
		double s[3] = { 0 };
		sul_cv_resample(strata, 7, 3, &r1, w);
		sul_cv_resample(strata, 7, 3, &r2, w2);
		ck_assert(memcmp(w, w2, sizeof(w)) == 0);
		for (k = 0; k < 7; k++)
			if (strata[k] >= 0)
				s[strata[k]] += w[k];
		ck_assert(s[0] == 3 && s[1] == 2 && s[2] == 1 && w[5] == 0 && w[6] == 1);
	}
}
END_TEST

START_TEST(quantiles_type7)
{
	double x[5] = { 4, NAN, 1, 3, 2 }, y[4];

	ck_assert(fabs(sul_quantile(x, 5, 0.5) - 2.5) < 1e-12);
	/* x is left as it was: a second quantile of the same data agrees. */
	ck_assert(x[0] == 4 && isnan(x[1]) && x[4] == 2);
	ck_assert(fabs(sul_quantile(x, 5, 0.25) - 1.75) < 1e-12);
	memcpy(y, (double[]){ 4, 1, 3, 2 }, sizeof(y));
	ck_assert(fabs(sul_quantile(y, 4, 0.025) - 1.075) < 1e-12);
	memcpy(y, (double[]){ 4, 1, 3, 2 }, sizeof(y));
	ck_assert(sul_quantile(y, 4, 1) == 4 && sul_quantile(y, 4, 0) == 1);
	ck_assert(isnan(sul_quantile(y, 0, 0.5)));
}
END_TEST

START_TEST(ids_by_pattern)
{
	char *model = NULL;
	long fold = -1, seed = -1;

	ck_assert(sul_cv_match("eval_{model}_f{fold}_s{seed}", "eval_vgg16_fc_f3_s12", &model, &fold, &seed));
	ck_assert_str_eq(model, "vgg16_fc");
	ck_assert(fold == 3 && seed == 12);
	ck_assert(sul_cv_match("cv_{model}_{fold}", "cv_resnet18_2", &model, &fold, &seed));
	ck_assert_str_eq(model, "resnet18");
	ck_assert(fold == 2);
	ck_assert(!sul_cv_match("eval_{model}_f{fold}_s{seed}", "eval_x_f_s1", &model, &fold, &seed));
	ck_assert(!sul_cv_match("eval_{model}_f{fold}", "eval_x_f2b", &model, &fold, &seed));
	ck_assert(!sul_cv_match("eval_{model}", "train_x", &model, &fold, &seed));
	free(model);
}
END_TEST

SUL_SUITE(crossval)
{
	Suite *s = suite_create("crossval");
	TCase *tc = tcase_create("cvstats");

	tcase_add_test(tc, figures_by_hand);
	tcase_add_test(tc, weights_are_duplicates);
	tcase_add_test(tc, stratified_resample);
	tcase_add_test(tc, quantiles_type7);
	tcase_add_test(tc, ids_by_pattern);
	suite_add_tcase(s, tc);
	return s;
}
