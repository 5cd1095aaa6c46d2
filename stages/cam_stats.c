/*
 * cam_stats.c - the `cam` kind's results as tables and metrics:
 * tables/heatmaps.tsv (one row per heatmap, the `heatmaps` table of
 * db/migrate-4.sql), and per method tables/heatmap_lobes.tsv (how often each
 * lobe holds the peak, per group), tables/heatmap_tests.tsv (a chi-square
 * test of lobe against group, the consistency of heatmaps within a subject,
 * within a group and across methods, the faithfulness and sanity means) and
 * the same summaries as metrics.  It computes nothing per heatmap.
 */
#include "cam_int.h"
#include "../engine/fsutil.h"
#include "tsv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int sul_cam_heatmaps_table(const struct cam_run *run, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	size_t i;
	int l, r;

	sul_buf_adds(&b, "subject\tslice\tgroup_name\tlabel\tmethod\ttarget\tpredicted\tprob\tapplicable\traw_min\traw_max");
	for (l = 0; l < NLOBES; l++)
		sul_buf_addf(&b, "\tshare_%s", sul_cam_lobe_names[l]);
	for (l = 0; l < NLOBES; l++)
		sul_buf_addf(&b, "\tpeak_%s", sul_cam_lobe_names[l]);
	sul_buf_adds(&b, "\tpeak_lobe\ttop_lobe\tlobe_source\tpointing\tpointing_chance\tlesion_share\tlesion_share_chance"
			 "\tscore\tmasked_score\tdeletion_auc\tinsertion_auc\tsanity_rho\tcompleteness_error\n");
	for (i = 0; i < run->nheatmaps; i++) {
		const struct cam_heatmap *h = &run->heatmaps[i];
		const struct sul_slice *s = &run->slices.rows[h->slice_row];
		sul_buf_addf(&b, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%.6g\t%d", s->subject, s->slice, s->group,
			     run->model.class_names[s->label], sul_cam_method_names[h->method], run->model.class_names[h->target],
			     run->model.class_names[h->predicted], h->prob, h->applicable);
		if (!h->applicable) {
			/* CAM on a non-GAP head: the row says so, every value is NULL. */
			for (l = 0; l < 2 + 2 * NLOBES + 13; l++)
				sul_buf_adds(&b, "\t");
			sul_buf_addc(&b, '\n');
			continue;
		}
		sul_tsv_num(&b, h->raw_min);
		sul_tsv_num(&b, h->raw_max);
		for (l = 0; l < NLOBES; l++)
			sul_tsv_num(&b, h->has_lobes ? h->lobes[l].share : NAN);
		for (l = 0; l < NLOBES; l++)
			sul_tsv_num(&b, h->has_lobes ? h->lobes[l].peak : NAN);
		sul_buf_addf(&b, "\t%s\t%s\t%s", h->peak_lobe ? sul_cam_lobe_names[h->peak_lobe - 1] : "",
			     h->top_lobe ? sul_cam_lobe_names[h->top_lobe - 1] : "",
			     h->lobe_source == 1 ? "labels" : h->lobe_source == 2 ? "geometric" : "");
		if (h->pointing < 0)
			sul_buf_adds(&b, "\t");
		else
			sul_buf_addf(&b, "\t%d", h->pointing);
		sul_tsv_num(&b, h->pointing_chance);
		sul_tsv_num(&b, h->lesion_share);
		sul_tsv_num(&b, h->lesion_share_chance);
		sul_tsv_num(&b, h->score);
		sul_tsv_num(&b, h->masked_score);
		sul_tsv_num(&b, h->deletion);
		sul_tsv_num(&b, h->insertion);
		sul_tsv_num(&b, h->sanity);
		sul_tsv_num(&b, h->completeness);
		sul_buf_addc(&b, '\n');
	}
	r = sul_ctx_table(run->ctx, "heatmaps", &b, err);
	sul_buf_release(&b);
	return r;
}

static void test_row(struct sul_buf *b, const char *method, const char *name, double value, double df, double p,
		     double n)
{
	sul_buf_addf(b, "%s\t%s", method, name);
	sul_tsv_num(b, value);
	sul_tsv_num(b, df);
	sul_tsv_num(b, p);
	sul_tsv_num(b, n);
	sul_buf_addc(b, '\n');
}

static int metric(const struct sul_stage_ctx *ctx, const char *name, const char *method, double v, struct sul_err *err)
{
	char buf[128];

	if (isnan(v))
		return 0;
	snprintf(buf, sizeof(buf), "%s_%s", name, method);
	/* Speeds are measurements of this run, kept out of the output's digest. */
	return strstr(name, "_per_s") ? sul_ctx_timing(ctx, buf, -1, v, err) : sul_ctx_metric(ctx, buf, -1, v, err);
}

/* Is row h the heatmap of the model's own decision (target = prediction)? */
static int decision(const struct cam_heatmap *h)
{
	return h->applicable && h->target == h->predicted;
}

/* Mean pairwise correlation of the decision maps of method m among rows
 * whose key (subject, or group + slice) agrees; returns the mean over keys. */
static double consistency(const struct cam_run *run, int m, int by_group, double *npairs)
{
	const size_t msz = (size_t)run->lh * run->lw;
	double sum = 0;
	size_t i, j, keys = 0;
	unsigned char *done = sul_xcalloc(run->nheatmaps ? run->nheatmaps : 1, 1);

	*npairs = 0;
	for (i = 0; i < run->nheatmaps; i++) {
		const struct cam_heatmap *a = &run->heatmaps[i];
		const struct sul_slice *sa = &run->slices.rows[a->slice_row];
		const float **maps;
		size_t n = 0;
		double r;
		if (done[i] || a->method != m || !decision(a))
			continue;
		maps = sul_xmalloc(run->nheatmaps * sizeof(*maps));
		for (j = i; j < run->nheatmaps; j++) {
			const struct cam_heatmap *c = &run->heatmaps[j];
			const struct sul_slice *sc = &run->slices.rows[c->slice_row];
			int same = by_group ? !strcmp(sa->group, sc->group) && sa->slice == sc->slice
					    : !strcmp(sa->subject, sc->subject);
			if (!done[j] && c->method == m && decision(c) && same) {
				done[j] = 1;
				maps[n++] = c->small;
			}
		}
		r = sul_mean_pairwise_pearson(maps, n, msz);
		if (!isnan(r)) {
			sum += r;
			keys++;
			*npairs += (double)n * (n - 1) / 2;
		}
		free(maps);
	}
	free(done);
	return keys ? sum / keys : NAN;
}

/* The groups of the slices, in order of first appearance, and how many. */
struct groups {
	const char **names;  /* borrowed from the slice data */
	size_t n;
};

/* What one method's summaries add up over its applicable heatmaps. */
struct method_sums {
	size_t applicable;
	double *peaks;        /* groups x NLOBES: heatmaps whose peak is in the lobe; owned */
	double n_ad, ad, ic;  /* Average Drop, Increase in Confidence: count, sums */
	double nd, del, ins;  /* deletion and insertion AUC */
	double nsan, san;     /* sanity rank correlation */
	double npt, hits;     /* pointing game */
	double nptc, hitsc;   /* its chance level, over the slices that have one */
	double nls, lshare;   /* share of heat in lesions, over slices with a lesion */
	double nlsc, lsharec; /* its chance level */
	double ncomp, comp;   /* Integrated Gradients' completeness error */
};

static void sum_method(const struct cam_run *run, int m, const struct groups *groups, struct method_sums *s)
{
	size_t i, g;

	memset(s, 0, sizeof(*s));
	s->peaks = sul_xcalloc(groups->n * NLOBES, sizeof(double));
	for (i = 0; i < run->nheatmaps; i++) {
		const struct cam_heatmap *h = &run->heatmaps[i];
		if (h->method != m || !h->applicable)
			continue;
		s->applicable++;
		if (h->peak_lobe)
			for (g = 0; g < groups->n; g++)
				if (!strcmp(groups->names[g], run->slices.rows[h->slice_row].group))
					s->peaks[g * NLOBES + h->peak_lobe - 1] += 1;
		if (h->score > 0) {
			s->ad += (h->score > h->masked_score ? h->score - h->masked_score : 0) / h->score;
			s->ic += h->masked_score > h->score;
			s->n_ad++;
		}
		if (!isnan(h->deletion)) {
			s->del += h->deletion;
			s->ins += h->insertion;
			s->nd++;
		}
		if (!isnan(h->sanity)) {
			s->san += h->sanity;
			s->nsan++;
		}
		if (h->pointing >= 0) {
			s->hits += h->pointing;
			s->npt++;
		}
		if (!isnan(h->pointing_chance)) {
			s->hitsc += h->pointing_chance;
			s->nptc++;
		}
		if (!isnan(h->lesion_share)) {
			s->lshare += h->lesion_share;
			s->nls++;
		}
		if (!isnan(h->lesion_share_chance)) {
			s->lsharec += h->lesion_share_chance;
			s->nlsc++;
		}
		if (!isnan(h->completeness)) {
			s->comp += h->completeness;
			s->ncomp++;
		}
	}
}

/* Method m's rows of heatmap_lobes, and its chi-square test of peak lobe
 * against group. */
static int lobe_tests(const struct cam_run *run, int m, const struct groups *groups, const struct method_sums *s,
		      struct sul_buf *lobes, struct sul_buf *tests, struct sul_err *err)
{
	const char *name = sul_cam_method_names[m];
	struct sul_chi2 c2;
	double peaks = 0;
	size_t g, i;
	int l;

	for (g = 0; g < groups->n; g++) {
		double tot = 0;
		for (l = 0; l < NLOBES; l++)
			tot += s->peaks[g * NLOBES + l];
		for (l = 0; l < NLOBES; l++) {
			sul_buf_addf(lobes, "%s\t%s\t%s\t%.0f\t%.0f", name, groups->names[g], sul_cam_lobe_names[l],
				     s->peaks[g * NLOBES + l], tot);
			sul_tsv_num(lobes, tot > 0 ? s->peaks[g * NLOBES + l] / tot : NAN);
			sul_buf_addc(lobes, '\n');
		}
	}
	c2 = sul_chi2_independence(s->peaks, (int)groups->n, NLOBES);
	for (i = 0; i < groups->n * NLOBES; i++)
		peaks += s->peaks[i];
	/* Without lobe labels there is nothing to test. */
	if (peaks > 0) {
		test_row(tests, name, "chi2_peak_lobe_by_group", c2.stat, c2.df, c2.p, peaks);
		if (metric(run->ctx, "chi2_p", name, c2.p, err))
			return -1;
	}
	return 0;
}

/* Method m's mean correlation with each later method, on the same slice
 * and target. */
static void agreement_tests(const struct cam_run *run, int m, struct sul_buf *tests)
{
	const size_t msz = (size_t)run->lh * run->lw;
	size_t i, j;
	int m2;

	for (m2 = m + 1; m2 < NMETHODS; m2++) {
		double sum = 0, cnt = 0;
		char name[64];
		if (!run->use[m2])
			continue;
		for (i = 0; i < run->nheatmaps; i++) {
			const struct cam_heatmap *a = &run->heatmaps[i];
			if (a->method != m || !decision(a))
				continue;
			for (j = 0; j < run->nheatmaps; j++) {
				const struct cam_heatmap *c = &run->heatmaps[j];
				if (c->method == m2 && c->applicable && c->slice_row == a->slice_row && c->target == a->target) {
					double rr = sul_pearson(a->small, c->small, msz);
					if (!isnan(rr)) {
						sum += rr;
						cnt++;
					}
					break;
				}
			}
		}
		snprintf(name, sizeof(name), "agreement_with_%s", sul_cam_method_names[m2]);
		test_row(tests, sul_cam_method_names[m], name, cnt ? sum / cnt : NAN, NAN, NAN, cnt);
	}
}

/* Method m's means of localization, faithfulness and sanity, as rows of
 * heatmap_tests and as metrics. */
static int mean_tests(const struct cam_run *run, int m, const struct method_sums *s, struct sul_buf *tests,
		      struct sul_err *err)
{
	const char *name = sul_cam_method_names[m];

	test_row(tests, name, "average_drop", s->n_ad ? 100 * s->ad / s->n_ad : NAN, NAN, NAN, s->n_ad);
	test_row(tests, name, "increase_in_confidence", s->n_ad ? 100 * s->ic / s->n_ad : NAN, NAN, NAN, s->n_ad);
	test_row(tests, name, "deletion_auc", s->nd ? s->del / s->nd : NAN, NAN, NAN, s->nd);
	test_row(tests, name, "insertion_auc", s->nd ? s->ins / s->nd : NAN, NAN, NAN, s->nd);
	test_row(tests, name, "pointing_game", s->npt ? s->hits / s->npt : NAN, NAN, NAN, s->npt);
	test_row(tests, name, "pointing_game_chance", s->nptc ? s->hitsc / s->nptc : NAN, NAN, NAN, s->nptc);
	test_row(tests, name, "lesion_share", s->nls ? s->lshare / s->nls : NAN, NAN, NAN, s->nls);
	test_row(tests, name, "lesion_share_chance", s->nlsc ? s->lsharec / s->nlsc : NAN, NAN, NAN, s->nlsc);
	test_row(tests, name, "sanity_rank_correlation", s->nsan ? s->san / s->nsan : NAN, NAN, NAN, s->nsan);
	if (s->ncomp) {
		test_row(tests, name, "completeness_error", s->comp / s->ncomp, NAN, NAN, s->ncomp);
		if (metric(run->ctx, "completeness_error", name, s->comp / s->ncomp, err))
			return -1;
	}
	if (metric(run->ctx, "average_drop", name, s->n_ad ? 100 * s->ad / s->n_ad : NAN, err)
	    || metric(run->ctx, "increase_in_confidence", name, s->n_ad ? 100 * s->ic / s->n_ad : NAN, err)
	    || metric(run->ctx, "deletion_auc", name, s->nd ? s->del / s->nd : NAN, err)
	    || metric(run->ctx, "insertion_auc", name, s->nd ? s->ins / s->nd : NAN, err)
	    || metric(run->ctx, "pointing_game", name, s->npt ? s->hits / s->npt : NAN, err)
	    || metric(run->ctx, "pointing_game_chance", name, s->nptc ? s->hitsc / s->nptc : NAN, err)
	    || metric(run->ctx, "lesion_share", name, s->nls ? s->lshare / s->nls : NAN, err)
	    || metric(run->ctx, "lesion_share_chance", name, s->nlsc ? s->lsharec / s->nlsc : NAN, err)
	    || metric(run->ctx, "sanity_rho", name, s->nsan ? s->san / s->nsan : NAN, err)
	    || metric(run->ctx, "heatmaps_per_s", name, run->secs[m] > 0 ? run->counted[m] / run->secs[m] : NAN, err))
		return -1;
	return 0;
}

/* Everything method m adds to heatmap_lobes, heatmap_tests and the metrics. */
static int method_summary(const struct cam_run *run, int m, const struct groups *groups, struct sul_buf *lobes,
			  struct sul_buf *tests, struct sul_err *err)
{
	const char *name = sul_cam_method_names[m];
	struct method_sums s;
	double np, r;
	int ret = -1;

	sum_method(run, m, groups, &s);
	if (!s.applicable) {
		test_row(tests, name, "not_applicable", 1, NAN, NAN, 0);
		ret = 0;
		goto out;
	}
	if (lobe_tests(run, m, groups, &s, lobes, tests, err))
		goto out;
	r = consistency(run, m, 0, &np);
	test_row(tests, name, "consistency_within_subject", r, NAN, NAN, np);
	if (metric(run->ctx, "consistency_subject", name, r, err))
		goto out;
	r = consistency(run, m, 1, &np);
	test_row(tests, name, "consistency_within_group", r, NAN, NAN, np);
	if (metric(run->ctx, "consistency_group", name, r, err))
		goto out;
	agreement_tests(run, m, tests);
	if (mean_tests(run, m, &s, tests, err))
		goto out;
	ret = 0;
out:
	free(s.peaks);
	return ret;
}

int sul_cam_summaries(const struct cam_run *run, struct sul_err *err)
{
	struct sul_buf lobes = SUL_BUF_INIT, tests = SUL_BUF_INIT;
	struct groups groups;
	size_t i, g;
	int m, ret = -1;

	groups.names = sul_xcalloc(run->slices.n ? run->slices.n : 1, sizeof(char *));
	groups.n = 0;
	for (i = 0; i < run->slices.n; i++) {
		for (g = 0; g < groups.n && strcmp(groups.names[g], run->slices.rows[i].group); g++)
			;
		if (g == groups.n)
			groups.names[groups.n++] = run->slices.rows[i].group;
	}
	sul_buf_adds(&lobes, "method\tgroup_name\tlobe\tpeaks\theatmaps\tfraction\n");
	sul_buf_adds(&tests, "method\tname\tvalue\tdf\tp\tn\n");
	for (m = 0; m < NMETHODS; m++)
		if (run->use[m] && method_summary(run, m, &groups, &lobes, &tests, err))
			goto out;
	if (sul_ctx_table(run->ctx, "heatmap_lobes", &lobes, err) || sul_ctx_table(run->ctx, "heatmap_tests", &tests, err))
		goto out;
	ret = 0;
out:
	sul_buf_release(&lobes);
	sul_buf_release(&tests);
	free(groups.names);
	return ret;
}
