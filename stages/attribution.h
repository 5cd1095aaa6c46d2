/*
 * attribution.h - the arithmetic of pixel-space attributions: guided
 * backpropagation, Guided Grad-CAM, SmoothGrad, Integrated Gradients and
 * occlusion sensitivity, from input gradients and scores that the `cam`
 * kind gets out of the network (stages/cam_methods.c).  Not a kind and no
 * Darknet; pure functions, the caller owns every array.
 *
 * Layouts.  An image or an input gradient is 3 x plane floats (CHW, plane
 * = H x W pixels); a map is plane floats.  A map collapses the three
 * channels so that it can be compared with the CAM family's maps.
 */
#ifndef SUL_ATTRIBUTION_H
#define SUL_ATTRIBUTION_H

#include <stddef.h>

/*
 * map = sum_ch |g_ch|: the magnitude of a gradient image (guided
 * backpropagation, Springenberg et al. 2015; SmoothGrad, Smilkov et al.
 * 2017, of the mean gradient over noisy copies: the paper averages the
 * gradients, then takes the magnitude).  Summed over the channels as
 * Captum's visualization does (it takes the sum's absolute value; a sum of
 * absolute values keeps a pixel whose channels disagree in sign).
 */
void sul_attr_magnitude(const float *g, size_t plane, float *map);

/*
 * Integrated Gradients (Sundararajan et al., "Axiomatic Attribution for
 * Deep Networks", ICML 2017) from the mean gradient gmean over the path
 * from the baseline 0 (a black slice: the background of skull-stripped
 * images) to x, taken at the midpoints alpha = (j + 0.5) / m of m steps:
 *
 *     attr_ch = x_ch * gmean_ch,   map = ReLU(sum_ch attr_ch),
 *
 * the pixels that raise the class score (CAM's ReLU; Captum shows the
 * sum's absolute value by default).  Returns the sum of every attribution,
 * which the completeness axiom says equals F(x) - F(0) as m grows.
 */
double sul_attr_integrated(const float *x, const float *gmean, size_t plane, float *map);

/* Completeness of Integrated Gradients: |sum - (fx - f0)| / |fx - f0|;
 * NaN when the score does not change (|fx - f0| < 1e-6). */
double sul_attr_completeness(double sum, double fx, double f0);

/*
 * Occlusion sensitivity (Zeiler & Fergus, "Visualizing and Understanding
 * Convolutional Networks", ECCV 2014; Captum's Occlusion): a patch x patch
 * window set to 0 at every position of a grid with step `stride` over a
 * size x size image.  sul_occlusion_offsets puts the windows' top (or
 * left) offsets into off (at most size of them) and returns how many: 0,
 * stride, 2 stride, ..., and size - patch last so that every pixel is
 * covered (patch <= size, stride >= 1).  The windows are every pair of
 * offsets, row-major: window (a, b) at row off[a], column off[b].
 */
int sul_occlusion_offsets(int size, int patch, int stride, int *off);

/* The occlusion map: each pixel's mean of drop[w] = score(image) -
 * score(window w occluded) over the windows covering it; noff offsets as
 * sul_occlusion_offsets() gave, noff^2 drops.  Signed: negative where
 * hiding the pixels raises the score. */
void sul_occlusion_map(const double *drop, const int *off, int noff, int patch, int size, float *map);

#endif
