/*
 * stats.h - the statistics the evaluation and heatmap kinds report: ROC AUC
 * by ranks; for heatmaps, how heat falls on labelled regions and masks
 * (region shares, pointing game), agreement between maps (Pearson,
 * Spearman), independence of categorical outcomes (chi-square), and the
 * faithfulness scores of explanation papers (Average Drop, Increase in
 * Confidence, deletion / insertion curves).  Not a kind, and no files: the
 * callers read and write tables.
 *
 * Conventions.  A map is n floats (h x w row-major where geometry matters);
 * heat is meant to be non-negative (a map after ReLU or min-max
 * normalization), else shares can fall outside [0, 1].  An undefined result
 * is NaN (never 0), so that a caller averaging over images can tell "no
 * information" from "zero"; -1 for a yes/no result that does not apply.
 * Nothing here can fail: functions that need scratch memory take it from
 * sul_xmalloc (out of memory aborts) and say so.  The caller owns all
 * arrays.
 */
#ifndef SUL_STATS_H
#define SUL_STATS_H

#include <stddef.h>

struct sul_score {
	double p;   /* the classifier's score */
	int pos;    /* 1: a positive example */
};

/* The index of the largest of k probabilities (the first of ties). */
int sul_argmax(const float *p, int k);

/* Cross-entropy -log(q) of the probability q given to the true class,
 * with q clamped at 1e-12 so that a confident mistake costs 27.6, not inf. */
double sul_xent(double q);

/* Area under the ROC curve of the scores (Mann-Whitney U / (P N), ties
 * counted one half); sorts s.  NaN without positives or negatives. */
double sul_auc(struct sul_score *s, size_t n);

/* --- heat on regions and masks ---------------------------------------------- */

/* Heat on one region of a label map (sul_region_stats). */
struct sul_region_stat {
	size_t npix;   /* pixels labelled with this region */
	double sum;    /* heat summed over them */
	double share;  /* sum / the heat summed over all labelled pixels (1..R);
			* NaN when that total is 0.  Shares add up to 1. */
	double peak;   /* the largest heat in the region; NaN without pixels */
	double mean;   /* sum / npix; NaN without pixels */
};

/* Region statistics of one heatmap against a label map of the same n
 * pixels: label 0 is background (outside the brain), 1..nregions regions
 * (lobes, atlas areas).  Fills per_region[0..nregions-1] for labels
 * 1..nregions.  Background heat counts nowhere: shares are of the heat
 * inside the brain, so a map that lights up the skull is not penalized
 * twice.
 *
 * *peak_region: the label of the labelled pixel of largest heat (the first
 * in index order among equal maxima; a flat map after resizing can put
 * equal maxima in two regions); 0 when no pixel is labelled or all
 * labelled pixels have the same heat (no peak to point at).
 * *top_share_region: the region of largest share (the lowest label among
 * equal shares); 0 when shares are NaN.  The two differ when a sharp peak
 * lies in a small region and diffuse heat in a large one.
 *
 * Pixels labelled above nregions are ignored like background and counted:
 * returns their number, which should be 0 (a label map that does not match
 * the region table).  NaN heat counts as 0. */
size_t sul_region_stats(const float *heat, const unsigned char *labels, size_t n, int nregions,
			struct sul_region_stat *per_region, int *peak_region, int *top_share_region);

/* The pointing game (Zhang et al., "Top-down Neural Attention by Excitation
 * Backprop", ECCV 2016): a hit when the pixel of largest heat (the first in
 * row-major order among equal maxima) lies within tol pixels (Euclidean,
 * distance <= tol) of a pixel of the h x w mask (nonzero = inside the
 * object, e.g. a lesion).  The paper uses a tolerance of 15 pixels at the
 * network's input size, to forgive the coarse resolution of the maps.
 * Returns 1 for a hit, 0 for a miss, -1 when the mask is empty (the image
 * has no object: the game does not apply, and must not count as a miss). */
int sul_pointing_game(const float *heat, const unsigned char *mask, int h, int w, double tol);

/* The share of heat inside a mask: sum of heat where mask != 0 / sum of all
 * heat (the "energy-based pointing game" of Score-CAM, Wang et al. 2020).
 * Graded where the pointing game is yes/no.  NaN when the total heat is 0. */
double sul_mask_share(const float *heat, const unsigned char *mask, size_t n);

/* Chance levels: what a map spread evenly over region (nonzero = inside,
 * e.g. the brain) would score.  sul_mask_share of such a map is the share
 * of region's pixels inside mask; the pointing game of a map whose peak
 * falls on a uniformly random pixel of region hits with the probability
 * that a pixel of region lies within tol of mask.  NaN when region is
 * empty; both 0 when mask is. */
double sul_mask_share_chance(const unsigned char *mask, const unsigned char *region, size_t n);
double sul_pointing_chance(const unsigned char *mask, const unsigned char *region, int h, int w, double tol);

/* --- agreement between maps ------------------------------------------------- */

/* Pearson correlation of two maps of n pixels, accumulated in double.  NaN
 * when n < 2 or either map is constant (no variance: correlation is
 * undefined, not 0). */
double sul_pearson(const float *x, const float *y, size_t n);

/* The mean of sul_pearson() over the m (m - 1) / 2 pairs of maps[0..m-1]
 * (each n pixels), skipping pairs where it is NaN: how consistent the maps
 * of a group of images (or of several methods) are.  NaN when m < 2 or no
 * pair is defined. */
double sul_mean_pairwise_pearson(const float *const *maps, size_t m, size_t n);

/* Spearman rank correlation of two maps (or any two vectors) of n values:
 * Pearson of the ranks, equal values sharing their average rank (as
 * scipy.stats.spearmanr).  Invariant to monotone rescaling: the right
 * comparison for maps normalized differently, and the usual score of the
 * model-randomization sanity check (Adebayo et al., NeurIPS 2018).  NaN
 * when n < 2, either vector is constant, or a value is NaN.  Allocates
 * scratch of about 4 n doubles. */
double sul_spearman(const float *x, const float *y, size_t n);

/* --- tests of independence -------------------------------------------------- */

struct sul_chi2 {
	double stat;  /* sum over cells of (observed - expected)^2 / expected */
	int df;       /* (rows - 1)(columns - 1), all-zero rows and columns dropped */
	double p;     /* P(chi-square(df) >= stat); NaN when df == 0 */
};

/* Pearson's chi-square test of independence on an r x c table of counts
 * (row-major, non-negative; e.g. patient group x region of peak heat).
 * Expected counts are row total * column total / grand total; no continuity
 * correction (scipy.stats.chi2_contingency(correction=False)).  Rows and
 * columns that are all zero carry no information and are dropped before
 * the degrees of freedom are counted (a region that never wins must not
 * add a degree of freedom).  With fewer than two non-empty rows or columns
 * there is nothing to test: df = 0, stat = 0, p = NaN.  A negative count
 * makes stat and p NaN.  The approximation wants expected counts of about
 * 5 or more; checking that is the caller's business. */
struct sul_chi2 sul_chi2_independence(const double *counts, int r, int c);

/* The regularized upper incomplete gamma function
 * Q(a, x) = Gamma(a, x) / Gamma(a) = 1 - P(a, x), for a > 0, x >= 0: the
 * chi-square survival function is Q(df / 2, stat / 2).  A power series for
 * x < a + 1 and a continued fraction (modified Lentz) above, after
 * Numerical Recipes' gammq; relative error about 1e-16 * max(a, x), from the
 * leading factor x^a e^-x / Gamma(a).  (Below a + 1, Q is taken as 1 - P;
 * for a >= 1/2, any chi-square, Q stays above 0.08 there, so that costs at
 * most a digit.)  Special cases:
 * Q(1, x) = exp(-x), Q(1/2, x) = erfc(sqrt(x)).  NaN for a <= 0, x < 0 or
 * NaN arguments. */
double sul_gamma_q(double a, double x);

/* --- faithfulness ----------------------------------------------------------- */

/* Average Drop and Increase in Confidence (Chattopadhay et al., Grad-CAM++,
 * WACV 2018, section 6.1).  Y[i] is the model's score for the class on
 * image i, O[i] on the image multiplied by its min-max normalized heatmap
 * (only what the map highlights is left):
 *
 *   average drop           = 100 * mean_i max(0, Y_i - O_i) / Y_i
 *   increase in confidence = 100 * (number of i with O_i > Y_i) / n
 *
 * A good explanation keeps the score: low drop, high increase.  The scores
 * must be positive (softmax probabilities, as in the paper): average drop
 * is NaN if any Y_i <= 0, both are NaN when n == 0. */
void sul_confidence_change(const double *Y, const double *O, size_t n, double *average_drop,
			   double *increase_in_confidence);

/* Deletion and insertion curves (Petsiuk et al., "RISE: Randomized Input
 * Sampling for Explanation of Black-box Models", BMVC 2018): pixels are
 * removed from the image (deletion) or revealed on a blurred image
 * (insertion) in order of decreasing heat, and the class score is recorded
 * after each step; the area under the score curve rates the map (low for
 * deletion, high for insertion is good).
 *
 * sul_pixel_order() fills order[0..n-1] with the pixel indices sorted by
 * heat, highest first; equal heat in index order (stable), NaN last, so
 * that the curve does not depend on the sort.  Allocates n pairs. */
void sul_pixel_order(const float *heat, size_t n, size_t *order);

/* The trapezoid area under y[0..nsteps], taken at x = 0, 1/nsteps, ..., 1
 * (the fraction of pixels removed or inserted): a constant c gives c, a
 * straight line from 0 to 1 gives 1/2.  NaN when nsteps < 1. */
double sul_curve_auc(const double *y, int nsteps);

#endif
