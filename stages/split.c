/*
 * split.c - the `split` kind: a seeded, group-stratified train / validation
 * / test split at the subject level.
 *
 * Its one input holds a table (default subjects.tsv; a slice index works
 * too) with `subject` and `group` columns.  Within each group the subjects
 * are shuffled and dealt out by the fractions (largest remainder), so every
 * row of a subject lands in the same split: no subject leaks between
 * training and testing.  Where the table has a `participant` column (ingest
 * keeping several sessions of a participant as rows), participants are
 * what is dealt out, so no participant's sessions are in two splits.
 *
 * Cross-validation (folds = k > 0): within each group the shuffled
 * subjects are dealt round-robin into k folds (continuing from group to
 * group, so that fold sizes differ by at most one); fold `fold` is the
 * test set, and of the other subjects of each group a share val / (train +
 * val) goes to validation.  The shuffle depends on the seed only, so the k
 * stages of one seed (foreach over fold) test every subject exactly once:
 * one round of k-fold cross-validation; another seed is another round.  A slice-level split, which does leak, needs
 * level = "row" and says so in the log and the metrics.  The output is the
 * input table with a `split` column added, or replaced where the table
 * had one (split.tsv).
 */
#include "../engine/fsutil.h"
#include "../engine/kind.h"
#include "../engine/strbuf.h"
#include "rng.h"
#include "tsv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct sul_param_spec split_params[] = {
	{ "table", SUL_T_STRING, "subjects.tsv", 0, 0, NULL, "the input's table, relative to its folder" },
	{ "train", SUL_T_FLOAT, "0.75", 0, 1, NULL, "fraction of subjects for training" },
	{ "val", SUL_T_FLOAT, "0.10", 0, 1, NULL, "fraction for validation" },
	{ "test", SUL_T_FLOAT, "0.15", 0, 1, NULL, "fraction for testing" },
	{ "seed", SUL_T_INT, "1", 0, 4294967295.0, NULL, "random seed" },
	{ "level", SUL_T_STRING, "subject", 0, 0, "subject|row",
	  "subject: no subject in two splits; row: rows split independently (leaks subjects)" },
	{ "folds", SUL_T_INT, "0", 0, 1000, NULL,
	  "k-fold cross-validation: k folds stratified by group, fold `fold` the test set (test is then ignored); "
	  "0: the fractions above" },
	{ "fold", SUL_T_INT, "0", 0, 1000, NULL, "with folds = k: the test fold, 1 to k" },
	{ NULL, 0, NULL, 0, 0, NULL, NULL },
};


static const char *const split_names[3] = { "train", "val", "test" };

static int split_check(const struct sul_stage_ctx *ctx, const char **about, struct sul_err *err)
{
	double sum = sul_ctx_float(ctx, "train") + sul_ctx_float(ctx, "val") + sul_ctx_float(ctx, "test");

	const long folds = sul_ctx_int(ctx, "folds"), fold = sul_ctx_int(ctx, "fold");

	if (folds) {
		*about = "folds";
		if (folds < 2)
			return sul_err_set(err, SUL_ERR_INPUT, "parameter 'folds': expected 0 (no cross-validation) or "
					   "at least 2 folds, got %ld", folds);
		if (!strcmp(sul_ctx_str(ctx, "level"), "row"))
			return sul_err_set(err, SUL_ERR_INPUT, "parameter 'folds': cross-validation deals out subjects; "
					   "level = \"row\" would put one subject in several folds");
		*about = "fold";
		if (fold < 1 || fold > folds)
			return sul_err_set(err, SUL_ERR_INPUT, "parameter 'fold': expected 1 to %ld (folds), got %ld",
					   folds, fold);
		*about = NULL;
		if (sul_ctx_float(ctx, "train") + sul_ctx_float(ctx, "val") <= 0)
			return sul_err_set(err, SUL_ERR_INPUT, "parameters 'train', 'val': expected a positive sum");
		return 0;
	}
	if (fold) {
		*about = "fold";
		return sul_err_set(err, SUL_ERR_INPUT, "parameter 'fold': %ld without folds (0: no cross-validation)",
				   fold);
	}
	if (fabs(sum - 1.0) > 1e-6)
		return sul_err_set(err, SUL_ERR_INPUT,
				   "parameters 'train', 'val', 'test': expected fractions that sum to 1, got %g", sum);
	return 0;
}

/* Largest-remainder allocation of n items to the three fractions. */
static void allocate(size_t n, const double frac[3], size_t out[3])
{
	double rem[3];
	size_t k, given = 0;

	for (k = 0; k < 3; k++) {
		double exact = frac[k] * (double)n;
		out[k] = (size_t)floor(exact);
		rem[k] = exact - floor(exact);
		given += out[k];
	}
	while (given < n) {
		size_t best = 0;
		for (k = 1; k < 3; k++)
			if (rem[k] > rem[best] + 1e-12)
				best = k;
		out[best]++;
		rem[best] = -1;
		given++;
	}
}

static void shuffle(char **items, size_t n, struct sul_rng *rng)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)sul_rng_below(rng, i);
		char *t = items[i - 1];
		items[i - 1] = items[j];
		items[j] = t;
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every row of subject `subject` (column scol) into split s. */
static void set_split(const struct sul_tsv *t, long scol, const char *subject, unsigned char s,
		      unsigned char *row_split, size_t subj_counts[3])
{
	size_t row;

	subj_counts[s]++;
	for (row = 1; row < t->nrows; row++)
		if (!strcmp(sul_tsv_at(t, row, (size_t)scol), subject))
			row_split[row] = s;
}

static int split_run(const struct sul_stage_ctx *ctx, struct sul_err *err)
{
	const double frac[3] = { sul_ctx_float(ctx, "train"), sul_ctx_float(ctx, "val"), sul_ctx_float(ctx, "test") };
	const int folds = (int)sul_ctx_int(ctx, "folds"), fold = (int)sul_ctx_int(ctx, "fold");
	/* Cross-validation: the non-test subjects between train and val. */
	const double rest[3] = { frac[0] / (frac[0] + frac[1]), frac[1] / (frac[0] + frac[1]), 0 };
	int by_row = !strcmp(sul_ctx_str(ctx, "level"), "row");
	char *in = sul_xasprintf("%s/%s", ctx->inputs[0].dir, sul_ctx_str(ctx, "table"));
	char **subjects = NULL, **groups = NULL, *path = NULL;
	size_t nsub = 0, row, i, g, counts[3] = { 0 }, subj_counts[3] = { 0 }, dealt = 0;
	unsigned char *row_split = NULL;
	struct sul_buf out = SUL_BUF_INIT;
	struct sul_rng rng;
	struct sul_tsv t;
	long scol, gcol, old_split;
	const char *unit;
	int ret = -1;

	memset(&t, 0, sizeof(t));
	sul_rng_seed(&rng, (uint64_t)sul_ctx_int(ctx, "seed"));
	if (sul_tsv_read(in, &t, err))
		goto out;
	/* The unit kept whole: the participant where the table has one (ingest
	 * with several sessions per participant), else the subject. */
	scol = sul_tsv_col(&t, "participant");
	if (scol < 0)
		scol = sul_tsv_col(&t, "subject");
	unit = sul_tsv_col(&t, "participant") >= 0 ? "participant" : "subject";
	gcol = sul_tsv_col(&t, "group");
	if (scol < 0 || gcol < 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: expected columns 'subject' and 'group'", in);
		goto out;
	}
	row_split = sul_xcalloc(t.nrows, 1);
	if (by_row) {
		/* Rows dealt out independently: the same subject may be in every split. */
		char **idx = sul_xcalloc(t.nrows, sizeof(*idx));
		size_t alloc_n[3], k = 0, s;
		fprintf(stderr, "split: warning: level = \"row\": rows of one subject land in several splits, "
				"so test results are optimistic (subject leakage)\n");
		for (row = 1; row < t.nrows; row++)
			idx[row - 1] = (char *)(uintptr_t)row;
		shuffle(idx, t.nrows - 1, &rng);
		allocate(t.nrows - 1, frac, alloc_n);
		for (s = 0; s < 3; s++)
			for (i = 0; i < alloc_n[s]; i++)
				row_split[(uintptr_t)idx[k++]] = (unsigned char)s;
		free(idx);
		if (sul_ctx_metric(ctx, "subject_leakage", -1, 1, err))
			goto out;
	} else {
		/* Distinct subjects, each with one group. */
		subjects = sul_xcalloc(t.nrows, sizeof(*subjects));
		groups = sul_xcalloc(t.nrows, sizeof(*groups));
		for (row = 1; row < t.nrows; row++) {
			const char *s = sul_tsv_at(&t, row, (size_t)scol), *gr = sul_tsv_at(&t, row, (size_t)gcol);
			for (i = 0; i < nsub && strcmp(subjects[i], s); i++)
				;
			if (i == nsub) {
				subjects[nsub] = (char *)s;
				groups[nsub++] = (char *)gr;
			} else if (strcmp(groups[i], gr)) {
				sul_err_set(err, SUL_ERR_INPUT, "%s:%zu: %s '%s' is in group '%s' here and '%s' above",
					    in, row + 1, unit, s, gr, groups[i]);
				goto out;
			}
		}
		/* Sorted first, so the result depends on the seed, not on the row order. */
		qsort(subjects, nsub, sizeof(*subjects), cmp_str);
		for (i = 0; i < nsub; i++)
			for (row = 1; row < t.nrows; row++)
				if (!strcmp(sul_tsv_at(&t, row, (size_t)scol), subjects[i])) {
					groups[i] = (char *)sul_tsv_at(&t, row, (size_t)gcol);
					break;
				}
		for (g = 0; g < nsub; g++) {
			char **members;
			size_t nm = 0, alloc_n[3], k = 0, s;
			int seen = 0;

			for (i = 0; i < g; i++)
				seen |= !strcmp(groups[i], groups[g]);
			if (seen)
				continue;
			members = sul_xcalloc(nsub, sizeof(*members));
			for (i = 0; i < nsub; i++)
				if (!strcmp(groups[i], groups[g]))
					members[nm++] = subjects[i];
			shuffle(members, nm, &rng);
			if (folds) {
				/* The test fold out of the deal; the rest keeps its order. */
				size_t nrest = 0;
				for (i = 0; i < nm; i++, dealt++)
					if ((int)(dealt % (size_t)folds) == fold - 1)
						set_split(&t, scol, members[i], 2, row_split, subj_counts);
					else
						members[nrest++] = members[i];
				allocate(nrest, rest, alloc_n);
				nm = nrest;
			} else {
				allocate(nm, frac, alloc_n);
			}
			for (s = 0; s < 2 + !folds; s++)
				for (i = 0; i < alloc_n[s]; i++, k++)
					set_split(&t, scol, members[k], (unsigned char)s, row_split, subj_counts);
			free(members);
		}
	}
	/* A split column the table already has (a split of a split) is replaced. */
	old_split = sul_tsv_col(&t, "split");
	for (i = 0; i < t.ncols; i++)
		if ((long)i != old_split)
			sul_buf_addf(&out, "%s\t", sul_tsv_at(&t, 0, i));
	sul_buf_adds(&out, "split\n");
	for (row = 1; row < t.nrows; row++) {
		for (i = 0; i < t.ncols; i++)
			if ((long)i != old_split)
				sul_buf_addf(&out, "%s\t", sul_tsv_at(&t, row, i));
		sul_buf_addf(&out, "%s\n", split_names[row_split[row]]);
		counts[row_split[row]]++;
	}
	path = sul_xasprintf("%s/split.tsv", ctx->out);
	if (sul_write_file_atomic(path, out.buf, out.len, err))
		goto out;
	for (i = 0; i < 3; i++) {
		char name[64];
		snprintf(name, sizeof(name), "rows_%s", split_names[i]);
		if (sul_ctx_metric(ctx, name, -1, (double)counts[i], err))
			goto out;
		if (!by_row) {
			snprintf(name, sizeof(name), "subjects_%s", split_names[i]);
			if (sul_ctx_metric(ctx, name, -1, (double)subj_counts[i], err))
				goto out;
		}
	}
	ret = 0;
out:
	sul_tsv_release(&t);
	sul_buf_release(&out);
	free(row_split);
	free(subjects);
	free(groups);
	free(path);
	free(in);
	return ret;
}

const struct sul_kind sul_kind_split = {
	.name = "split",
	.version = 2,
	.doc = "seeded, group-stratified train/val/test split by subject (split.tsv), or one fold of a k-fold "
	       "cross-validation",
	.params = split_params,
	.inputs = { 1, 1, "exactly one input (the table's stage)" },
	.check = split_check,
	.run = split_run,
};
