/*
 * blocked.h - the elementwise and per-channel parts of a layer that
 * oneDNN's primitives leave to us (stages/dn/onednn.c), on activations in
 * oneDNN's channel-blocked layout: batchnorm with Darknet's own formulas,
 * fused with the activation, the residual add of [shortcut], and the
 * activations' gradients.
 *
 * A tensor of N x C x H x W floats is stored as [n][c / b][h][w][c % b]
 * with the channels padded up to a multiple of the block b (oneDNN's
 * nChw8c / nChw16c); b = 1 is Darknet's own planar layout.  Padded
 * channels hold zeros and these functions keep them so.
 *
 * Why not oneDNN's batch normalization primitive: Darknet normalizes with
 * the unbiased variance and divides by sqrt(var) + 1e-6, where oneDNN
 * uses the biased variance and sqrt(var + eps): a relative difference of
 * 1/(N*H*W - 1), 1e-3 on a 7x7 map at batch 16, ten times what the two
 * paths may differ by.  And its backward is Darknet's (which, like
 * Darknet, differentiates the eps-inside form): the reference path's
 * training curves are the ones we must reproduce.
 */
#ifndef SUL_DN_BLOCKED_H
#define SUL_DN_BLOCKED_H

#include <darknet.h>
#include <stddef.h>

struct sul_blk {
	int n, c, h, w;  /* logical shape */
	int b;           /* channel block: 1 (planar), 8 or 16 */
};

/* Floats the tensor occupies, channel padding included. */
size_t sul_blk_floats(const struct sul_blk *t);

/* Only LINEAR, RELU and LEAKY are supported (sul_blk_act_ok says). */
int sul_blk_act_ok(ACTIVATION a);

/*
 * Training-mode batchnorm of a convolution's (or connected layer's)
 * output x into y, then the activation, as Darknet's
 * forward_batchnorm_layer + activate_array: batch mean and unbiased
 * variance into l->mean and l->variance, Darknet's rolling update
 * (0.99 / 0.01) of l->rolling_*, y = act(scale (x - mean) / (sqrt(var) +
 * 1e-6) + bias).
 */
void sul_blk_bn_forward(const struct sul_blk *t, const float *x, float *y, layer *l);

/*
 * Its backward, in place on delta (the gradient with respect to y on
 * entry, with respect to x on return): Darknet's gradient_array +
 * backward_batchnorm_layer, accumulating into l->bias_updates and
 * l->scale_updates.
 */
void sul_blk_bn_backward(const struct sul_blk *t, const float *x, const float *y, float *delta, layer *l);

/* delta *= act'(y), y the activation's output (as Darknet's gradient_array). */
void sul_blk_act_backward(const struct sul_blk *t, const float *y, float *delta, ACTIVATION a);

/*
 * [shortcut]: y = act(alpha * prev + beta * from), with Darknet's rules
 * when the shapes differ (from subsampled or upsampled by whole factors,
 * the common channels only, and where from does not reach, y = prev).
 * prev and y have shape t, from has shape f, in the same block size.
 */
void sul_blk_shortcut_forward(const struct sul_blk *t, const float *prev, const struct sul_blk *f,
			      const float *from, float alpha, float beta, ACTIVATION a, float *y);

/*
 * Its backward: delta *= act'(y) in place, then d(prev) = alpha * delta
 * and d(from) = beta * delta on the positions the forward read.  Each of
 * prev_delta and from_delta is overwritten when its *_set is 0 (from's
 * positions the forward did not read become 0) and added to otherwise;
 * either may be NULL (not wanted).
 */
void sul_blk_shortcut_backward(const struct sul_blk *t, const float *y, float *delta, const struct sul_blk *f,
			       float alpha, float beta, ACTIVATION a, float *prev_delta, int prev_set,
			       float *from_delta, int from_set);

/* y += x over n floats. */
void sul_blk_add(float *y, const float *x, size_t n);

#endif
