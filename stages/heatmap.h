/*
 * heatmap.h - the arithmetic of class activation maps: CAM, Grad-CAM,
 * Grad-CAM++, HiResCAM, XGrad-CAM and LayerCAM from one image's activations
 * and gradients, EigenCAM, Score-CAM and Ablation-CAM from activations and
 * the scores of forward passes, and the map operations applied before maps
 * are compared (bilinear and area resize, min-max normalization).  Not a kind and no Darknet: the `cam` kind runs the network,
 * takes A and G out of it and calls these.  Statistics over finished maps
 * (regions, pointing game, correlations) are in stats.h.
 *
 * Layouts.  A (activations) and G (gradients) of one image at the target
 * layer are k x h x w floats, channel-major (Darknet's CHW):
 * A[c * h * w + i * w + j] is channel c at row i, column j.  A map is h x w
 * floats, row-major.  A_c below is channel c of A, g = G_c[i][j].
 *
 * G is d(score)/dA for the class's score *before* the softmax (the logit):
 * the papers differentiate that score, and after a softmax the gradients of
 * a confident prediction vanish.
 *
 * Sums are accumulated in double and rounded to float once, so a map does
 * not depend on the order of channels beyond the last bit.  Every function
 * here is pure: no state, the caller owns all arrays, outputs never alias
 * inputs, nothing can fail.  Methods that need working memory (channel
 * weights, EigenCAM's Gram matrix) allocate it (sul_xmalloc: out of memory aborts).  Sizes must
 * be positive (assert).
 */
#ifndef SUL_HEATMAP_H
#define SUL_HEATMAP_H

#include <stddef.h>

/* CAM (Zhou et al., "Learning Deep Features for Discriminative
 * Localization", CVPR 2016).  For a network that ends in global average
 * pooling and one fully connected layer, the class score is
 * sum_c wc[c] * mean_ij A_c[i][j] + bias, so the map
 *
 *     map = sum_c wc[c] * A_c
 *
 * says how much each position contributes to that score.  wc is the fully
 * connected layer's weight row for the class (k floats).  The map is raw:
 * no ReLU, negative where a position argues against the class. */
void sul_cam(const float *A, const float *wc, int k, int h, int w, float *map);

/* Grad-CAM channel weights (Selvaraju et al., "Grad-CAM: Visual
 * Explanations from Deep Networks via Gradient-based Localization", ICCV
 * 2017, Eq. 1): alpha[c] = mean_ij G_c[i][j], the gradient averaged over
 * the map.  alpha has k entries. */
void sul_gradcam_weights(const float *G, int k, int h, int w, double *alpha);

/* Grad-CAM (ibid., Eq. 2): map = ReLU(sum_c alpha[c] * A_c) with alpha
 * from sul_gradcam_weights().  Generalizes CAM: with a GAP + fully
 * connected head, G_c is the constant wc[c] / (h w), so the Grad-CAM map
 * is ReLU(CAM map) / (h w).  The ReLU keeps the positions that raise the
 * score. */
void sul_gradcam(const float *A, const float *G, int k, int h, int w, float *map);

/* Grad-CAM++ channel weights (Chattopadhay et al., "Grad-CAM++:
 * Generalized Gradient-based Visual Explanations for Deep Convolutional
 * Networks", WACV 2018).  Grad-CAM weighs every position's gradient
 * equally; Grad-CAM++ weighs position (i,j) of channel c by alpha_ij so
 * that several separate objects of the class all count:
 *
 *     w[c] = sum_ij alpha_ij * ReLU(g_ij)
 *
 * With the score taken as exp(logit), the paper's Eq. 19 gives alpha in
 * first derivatives only:
 *
 *     alpha_ij = g^2 / (2 g^2 + S g^3),   S = sum_ab A_c[a][b],
 *
 * which we use divided through by g^2 ("epsilon-free"):
 *
 *     alpha_ij = 1 / (2 + S g)   where g > 0,   0 elsewhere
 *
 * (where g <= 0 alpha is multiplied by ReLU(g) = 0 anyway).  Why not the
 * common form: pytorch-grad-cam adds 1e-6 to the denominator of the g^2
 * form, and gradients of a network with a GAP head are small (|g| around
 * 4e-4 on a resnet18), where 2 g^2 is near 1e-6: the epsilon then shrinks
 * alpha and changes the map.  MONAI uses sum_ab A g^3 in the denominator,
 * which agrees with Eq. 19 only for gradients constant over the map; the
 * authors' code also divides alpha by its sum over the channel.  All three
 * differ from this form (tests/check_heatmap.c compares them).
 *
 * Note that alpha is not invariant to scaling the gradients (it depends
 * on S g): as g -> 0 it tends to 1/2 and w[c] to half the sum of the
 * positive gradients.
 *
 * Guard: after a ReLU, S >= 0 and the denominator is at least 2.  With
 * leaky activations S can be negative and 2 + S g reach 0, where alpha
 * has a pole and beyond which it is negative (a negative weight for a
 * positive gradient, which the derivation does not allow).  Where
 * 2 + S g <= 1e-12 we set alpha to 0, dropping those positions from w[c].
 * Between the pole and 2 (that is -2 < S g < 0) alpha exceeds 1/2 and is
 * kept.  Computed in double.  w has k entries.  Returns the number of
 * positions dropped by the guard (0 after a ReLU), for the caller to
 * report. */
size_t sul_gradcampp_weights(const float *A, const float *G, int k, int h, int w, double *wts);

/* Grad-CAM++ map: ReLU(sum_c w[c] * A_c) with w from
 * sul_gradcampp_weights().  Returns what that returns. */
size_t sul_gradcampp(const float *A, const float *G, int k, int h, int w, float *map);

/* HiResCAM (Draelos & Carin, "Use HiResCAM instead of Grad-CAM for
 * faithful explanations of convolutional neural networks", 2020): the
 * gradient multiplies the activations position by position instead of
 * being averaged over the map first,
 *
 *     map = ReLU(sum_c G_c * A_c)   (elementwise),
 *
 * so for a network whose score is a sum over positions (a GAP head and a
 * linear layer) the map is exactly each position's share of the score;
 * pytorch-grad-cam's HiResCAM, whose ReLU comes from its base class.
 * Equal to Grad-CAM when each channel's gradient is constant over the map
 * (a GAP head), and different wherever the gradient varies. */
void sul_hirescam(const float *A, const float *G, int k, int h, int w, float *map);

/* XGrad-CAM (Fu et al., "Axiom-based Grad-CAM", BMVC 2020, Eq. 13): the
 * channel weight averages the gradient weighted by the activation,
 *
 *     w[c] = sum_ij (A_c[i][j] / sum_ab A_c[a][b]) G_c[i][j],
 *     map  = ReLU(sum_c w[c] A_c),
 *
 * which makes the map satisfy the paper's sensitivity and conservation
 * axioms for a linear head.  A channel whose activations sum to 0 (a dead
 * channel after a ReLU: it adds nothing to the map whatever its weight)
 * gets weight 0 where pytorch-grad-cam adds 1e-7 to the denominator; with
 * leaky activations a sum within 1e-12 of 0 is treated the same rather
 * than blown up.  Equal to Grad-CAM when each channel's gradient is
 * constant over the map. */
void sul_xgradcam_weights(const float *A, const float *G, int k, int h, int w, double *wts);
void sul_xgradcam(const float *A, const float *G, int k, int h, int w, float *map);

/* LayerCAM (Jiang et al., "LayerCAM: Exploring Hierarchical Class
 * Activation Maps for Localization", IEEE TIP 2021, Eq. 5-6): each
 * position keeps its own positive gradient as its weight,
 *
 *     map = ReLU(sum_c ReLU(G_c) * A_c)   (elementwise),
 *
 * which stays sharp at earlier, higher-resolution layers where averaged
 * gradients blur (small MS lesions); pytorch-grad-cam's LayerCAM. */
void sul_layercam(const float *A, const float *G, int k, int h, int w, float *map);

/* map = ReLU(sum_c wts[c] * A_c): the last step of the methods whose
 * channel weights come from forward passes of the network rather than from
 * gradients (Score-CAM, Ablation-CAM below). */
void sul_weighted_map(const float *A, const double *wts, int k, int h, int w, float *map);

/* EigenCAM (Muhammad & Yeasin, "Eigen-CAM: Class Activation Map using
 * Principal Components", IJCNN 2020): the activations' first principal
 * component, with no gradient and no class.  With X the h w x k matrix of
 * positions by channels, centred (each channel's mean over positions
 * subtracted, as pytorch-grad-cam's get_2d_projection does) and v its
 * first right singular vector,
 *
 *     map = ReLU(X v)
 *
 * (pytorch-grad-cam's ReLU comes from its base class).  The sign of v is
 * arbitrary in an SVD (numpy's choice is LAPACK's); we take the one whose
 * channel loadings sum to >= 0, so that the map follows where the
 * channels are jointly high rather than low.  v comes from the smaller
 * Gram matrix (positions or channels) by power iteration from a fixed
 * start: deterministic, and where the first two singular values are
 * nearly equal the component is ill-defined by any method.  Class-
 * agnostic: every target gets the same map.  Constant activations give
 * all 0. */
void sul_eigencam(const float *A, int k, int h, int w, float *map);

/* Score-CAM (Wang et al., "Score-CAM: Score-Weighted Visual Explanations
 * for Convolutional Neural Networks", CVPR-W 2020): channel c's weight is
 * the model's softmax probability of the class on the image masked by
 * that channel (upsampled to the image, min-max normalized, multiplied
 * into every image channel), and map = ReLU(sum_c w[c] A_c)
 * (sul_weighted_map).  This makes the mask of channel Ac (h x w) at image
 * size H x W; 0 and no mask for a constant channel, which the authors'
 * code skips (its weight is 0).  The weights are the probabilities
 * themselves as in the authors' code; pytorch-grad-cam instead takes a
 * softmax over channels of the masked images' logits, which puts nearly
 * all weight on a few channels. */
int sul_scorecam_mask(const float *Ac, int h, int w, float *mask, int H, int W);

/* Ablation-CAM (Desai & Ramaswamy, "Ablation-CAM: Visual Explanations for
 * Deep Convolutional Network via Gradient-free Localization", WACV 2020,
 * Eq. 3): channel c's weight is the fall of the class score (the logit)
 * when that channel is set to 0 everywhere, relative to the score,
 *
 *     w[c] = (y - y_c) / y,   map = ReLU(sum_c w[c] A_c),
 *
 * from y and y_ablated[c] = y_c.  We divide by |y| instead: for a class
 * the model scores below 0 (target = all explains every class) dividing
 * by y would flip every weight, so that channels that support the class
 * would count against it; for y > 0 it is the paper's formula, as
 * pytorch-grad-cam's.  |y| < 1e-12 divides by 1 (the map is normalized
 * afterwards; only the raw values change scale). */
void sul_ablationcam_weights(double y, const float *y_ablated, int k, double *wts);

/* Resizes an h x w map to H x W by bilinear interpolation with half-pixel
 * centres, as OpenCV's cv2.resize(INTER_LINEAR) and PyTorch's
 * interpolate(align_corners=False) do, and so pytorch-grad-cam: output
 * pixel (y, x) samples the input at
 *
 *     sy = (y + 0.5) * h / H - 0.5,   sx = (x + 0.5) * w / W - 0.5,
 *
 * coordinates clamped to [0, h-1] and [0, w-1] (the edge pixel repeats).
 * Pixel centres, not corners, line up, so a map covers the same area of
 * the image at every size.  Downsizing does not average (no antialiasing),
 * as INTER_LINEAR. */
void sul_upsample_bilinear(const float *in, int h, int w, float *out, int H, int W);

/* Shrinks an H x W map to h x w (H >= h, W >= w) by area averaging: each
 * output pixel is the mean of the input it covers, fractional pixels
 * weighted by their share (OpenCV's INTER_AREA).  Pixel-space maps are
 * compared with layer-resolution maps at the layer's resolution. */
void sul_downsample_area(const float *in, int H, int W, float *out, int h, int w);

/* Min-max normalization in place: m = (m - min) / (max - min), so the map
 * spans [0, 1].  A constant map (max == min) becomes all 0: it has no
 * place that stands out.  pytorch-grad-cam divides by (max - min + 1e-7)
 * instead, which is within 1e-7 of this.  n may be 0.  Values must be
 * finite. */
void sul_minmax01(float *m, size_t n);

#endif
