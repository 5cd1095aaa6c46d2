/*
 * layers.c - corrected forward/backward functions for Darknet layers,
 * installed on each parsed network by reassigning the layer's function
 * pointers (Darknet's own vtable), so nothing of Darknet is rewritten.
 *
 * Convolutional (same arithmetic as Darknet's, except):
 *  - a 1x1 convolution with stride > 1 (or padding) runs im2col; Darknet
 *    feeds the raw input to GEMM there, which is wrong (AlexeyAB#6471);
 *  - a 1x1 convolution's backward ADDS its input gradient to the previous
 *    layer's delta, as every other layer does; Darknet overwrites it (GEMM
 *    with beta 0, pjreddie#1229), which in a ResNet bottleneck erases the
 *    gradient that the shortcut already put there;
 *  - at inference (net.train == 0: Grad-CAM) the batchnorm Jacobian is the
 *    per-channel factor scale / (sqrt(rolling variance) + 1e-6) of the
 *    inference forward; Darknet applies the batch-statistics formula.  No
 *    weight gradients are accumulated then: nothing will be updated.
 * Connected: at inference, only the input gradient (Darknet's also
 *    accumulates weight gradients: the 4096 x 25088 GEMM of a VGG head,
 *    for nothing); batchnorm as for convolutions.
 * Dropout: identity backward at inference (Darknet multiplies by a mask
 *    that only training fills); on the GPU, masks from rand() (below).
 *
 * The CUDA build installs the same fixes on the *_gpu pointers, with the
 * same arithmetic on the device (Darknet's kernels: gemm_gpu, im2col_gpu,
 * ...).  Its connected layer's training backward is ours too: Darknet's
 * GPU version clips the deltas to [-1, 1] (constrain_gpu), its CPU
 * version does not, and both builds must train alike.
 */
#include "darknet_internal.h"
#include "shim.h"

#include <math.h>
#include <omp.h>
#include <string.h>

/*
 * A convolution's GEMM loops, over images and groups, on the host or the
 * device: conv_io says where the arrays are and which kernels reach them.
 * The batchnorm, bias and activation around them differ by build.
 */
struct conv_io {
	float *weights, *weight_updates, *output, *delta;  /* the layer's */
	float *input, *input_delta, *workspace;            /* the network's; input_delta may be NULL */
	void (*gemm)(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b, int ldb,
		     float beta, float *c, int ldc);
	void (*im2col)(float *im, int channels, int height, int width, int ksize, int stride, int pad, float *col);
	void (*col2im)(float *col, int channels, int height, int width, int ksize, int stride, int pad, float *im);
};

/* A 1x1 convolution with stride 1 and no padding multiplies the input as it is. */
static int conv_direct(const layer *l)
{
	return l->size == 1 && l->stride == 1 && l->pad == 0;
}

/* output += weights * im2col(input), per image and group. */
static void conv_gemm_forward(const layer *l, const struct conv_io *io)
{
	const int m = l->n / l->groups, k = l->size * l->size * l->c / l->groups, n = l->out_w * l->out_h;
	const size_t in_size = (size_t)l->c / l->groups * l->h * l->w;
	int i, j;

	for (i = 0; i < l->batch; ++i)
		for (j = 0; j < l->groups; ++j) {
			float *a = io->weights + j * l->nweights / l->groups;
			float *c = io->output + (size_t)(i * l->groups + j) * n * m;
			float *im = io->input + (size_t)(i * l->groups + j) * in_size;
			float *b = im;

			if (!conv_direct(l)) {
				b = io->workspace;
				io->im2col(im, l->c / l->groups, l->h, l->w, l->size, l->stride, l->pad, b);
			}
			io->gemm(0, 0, m, n, k, 1, a, k, b, n, 1, c, n);
		}
}

/* From the pre-activation delta: weight gradients (train only), and the
 * input's gradient ADDED to input_delta (Darknet's 1x1 path overwrote it). */
static void conv_gemm_backward(const layer *l, const struct conv_io *io, int train)
{
	const int m = l->n / l->groups, n = l->size * l->size * l->c / l->groups, k = l->out_w * l->out_h;
	const size_t in_size = (size_t)l->c / l->groups * l->h * l->w;
	int i, j;

	for (i = 0; i < l->batch; ++i)
		for (j = 0; j < l->groups; ++j) {
			float *a = io->delta + (size_t)(i * l->groups + j) * m * k;
			float *im = io->input + (size_t)(i * l->groups + j) * in_size;
			float *imd = io->input_delta ? io->input_delta + (size_t)(i * l->groups + j) * in_size : NULL;

			if (train) {
				float *b = im;
				if (!conv_direct(l)) {
					b = io->workspace;
					io->im2col(im, l->c / l->groups, l->h, l->w, l->size, l->stride, l->pad, b);
				}
				io->gemm(0, 1, m, n, k, 1, a, k, b, k, 1, io->weight_updates + j * l->nweights / l->groups, n);
			}
			if (imd) {
				float *w = io->weights + j * l->nweights / l->groups;
				if (conv_direct(l)) {
					io->gemm(1, 0, n, k, m, 1, w, n, a, k, 1, imd, k);
				} else {
					io->gemm(1, 0, n, k, m, 1, w, n, a, k, 0, io->workspace, k);
					io->col2im(io->workspace, l->c / l->groups, l->h, l->w, l->size, l->stride, l->pad, imd);
				}
			}
		}
}

static struct conv_io conv_io_host(const layer *l, const network *net)
{
	struct conv_io io = { l->weights, l->weight_updates, l->output, l->delta, net->input, net->delta,
			      net->workspace, gemm, im2col_cpu, col2im_cpu };
	return io;
}

static void conv_forward(layer l, network net)
{
	struct conv_io io = conv_io_host(&l, &net);

	memset(l.output, 0, sizeof(float) * (size_t)l.outputs * l.batch);
	conv_gemm_forward(&l, &io);
	if (l.batch_normalize)
		forward_batchnorm_layer(l, net);
	else
		add_bias(l.output, l.biases, l.batch, l.n, l.out_h * l.out_w);
	activate_array(l.output, l.outputs * l.batch, l.activation);
}

/* delta *= dBN/dx at inference: per channel, scale / (sqrt(rolling var) + 1e-6). */
static void batchnorm_inference_backward(layer l)
{
	const int spatial = l.out_w * l.out_h;
	int bf;

#pragma omp parallel for schedule(static)
	for (bf = 0; bf < l.batch * l.out_c; ++bf) {
		const int f = bf % l.out_c;
		const float g = l.scales[f] / (sqrtf(l.rolling_variance[f]) + .000001f);
		float *d = l.delta + (size_t)bf * spatial;
		int s;
		for (s = 0; s < spatial; ++s)
			d[s] *= g;
	}
}

static void conv_backward(layer l, network net)
{
	struct conv_io io = conv_io_host(&l, &net);

	gradient_array(l.output, l.outputs * l.batch, l.activation, l.delta);
	if (!net.train) {
		if (l.batch_normalize)
			batchnorm_inference_backward(l);
	} else if (l.batch_normalize) {
		backward_batchnorm_layer(l, net);
	} else {
		backward_bias(l.bias_updates, l.delta, l.batch, l.n, l.out_w * l.out_h);
	}
	conv_gemm_backward(&l, &io, net.train);
}

static void connected_backward(layer l, network net)
{
	if (net.train) {
		backward_connected_layer(l, net);
		return;
	}
	gradient_array(l.output, l.outputs * l.batch, l.activation, l.delta);
	if (l.batch_normalize) {
		int bo;
		for (bo = 0; bo < l.batch * l.outputs; bo++) {
			const int f = bo % l.outputs;
			l.delta[bo] *= l.scales[f] / (sqrtf(l.rolling_variance[f]) + .000001f);
		}
	}
	if (net.delta)
		gemm(0, 0, l.batch, l.inputs, l.outputs, 1, l.delta, l.outputs, l.weights, l.inputs, 1, net.delta,
		     l.inputs);
}

static void dropout_backward(layer l, network net)
{
	int i;

	if (!net.delta || !net.train)
		return;
	for (i = 0; i < l.batch * l.inputs; ++i) {
		if (l.rand[i] < l.probability)
			net.delta[i] = 0;
		else
			net.delta[i] *= l.scale;
	}
}

#ifdef GPU
static struct conv_io conv_io_device(const layer *l, const network *net)
{
	struct conv_io io = { l->weights_gpu, l->weight_updates_gpu, l->output_gpu, l->delta_gpu, net->input_gpu,
			      net->delta_gpu, net->workspace, gemm_gpu, im2col_gpu, col2im_gpu };
	return io;
}

static void conv_forward_gpu(layer l, network net)
{
	struct conv_io io = conv_io_device(&l, &net);

	fill_gpu(l.outputs * l.batch, 0, l.output_gpu, 1);
	conv_gemm_forward(&l, &io);
	if (l.batch_normalize)
		forward_batchnorm_layer_gpu(l, net);
	else
		add_bias_gpu(l.output_gpu, l.biases_gpu, l.batch, l.n, l.out_h * l.out_w);
	activate_array_gpu(l.output_gpu, l.outputs * l.batch, l.activation);
}

/* batchnorm_inference_backward() on the device.  The per-channel factors
 * go through mean_delta_gpu, a scratch array that a training backward
 * recomputes before it reads it. */
static void batchnorm_inference_backward_gpu(layer l, int channels, int spatial)
{
	int f;

	cuda_pull_array(l.scales_gpu, l.scales, (size_t)channels);
	cuda_pull_array(l.rolling_variance_gpu, l.rolling_variance, (size_t)channels);
	for (f = 0; f < channels; ++f)
		l.mean_delta[f] = l.scales[f] / (sqrtf(l.rolling_variance[f]) + .000001f);
	cuda_push_array(l.mean_delta_gpu, l.mean_delta, (size_t)channels);
	scale_bias_gpu(l.delta_gpu, l.mean_delta_gpu, l.batch, channels, spatial);
}

static void conv_backward_gpu(layer l, network net)
{
	struct conv_io io = conv_io_device(&l, &net);

	gradient_array_gpu(l.output_gpu, l.outputs * l.batch, l.activation, l.delta_gpu);
	if (!net.train) {
		if (l.batch_normalize)
			batchnorm_inference_backward_gpu(l, l.out_c, l.out_w * l.out_h);
	} else if (l.batch_normalize) {
		backward_batchnorm_layer_gpu(l, net);
	} else {
		backward_bias_gpu(l.bias_updates_gpu, l.delta_gpu, l.batch, l.n, l.out_w * l.out_h);
	}
	conv_gemm_backward(&l, &io, net.train);
}

/* Darknet's backward_connected_layer_gpu() without its clipping of the
 * deltas; at inference the input gradient only (see connected_backward). */
static void connected_backward_gpu(layer l, network net)
{
	gradient_array_gpu(l.output_gpu, l.outputs * l.batch, l.activation, l.delta_gpu);
	if (!net.train) {
		if (l.batch_normalize)
			batchnorm_inference_backward_gpu(l, l.outputs, 1);
	} else {
		if (l.batch_normalize)
			backward_batchnorm_layer_gpu(l, net);
		else
			backward_bias_gpu(l.bias_updates_gpu, l.delta_gpu, l.batch, l.outputs, 1);
		gemm_gpu(1, 0, l.outputs, l.inputs, l.batch, 1, l.delta_gpu, l.outputs, net.input_gpu, l.inputs, 1,
			 l.weight_updates_gpu, l.inputs);
	}
	if (net.delta_gpu)
		gemm_gpu(0, 0, l.batch, l.inputs, l.outputs, 1, l.delta_gpu, l.outputs, l.weights_gpu, l.inputs, 1,
			 net.delta_gpu, l.inputs);
}

/*
 * Dropout on the device.  Darknet draws its GPU masks with cuRAND seeded
 * from time(0): not deterministic for a seed, and unlike the CPU's.  Here
 * the mask comes from Darknet's rand() as on the CPU, drawn on the host in
 * the same order, and goes to the device as multipliers (0 or the layer's
 * scale) in rand_gpu, which the backward applies again.
 */
static void dropout_forward_gpu(layer l, network net)
{
	const int n = l.batch * l.inputs;
	int i;

	if (!net.train)
		return;
	for (i = 0; i < n; ++i)
		l.rand[i] = rand_uniform(0, 1) < l.probability ? 0 : l.scale;
	cuda_push_array(l.rand_gpu, l.rand, (size_t)n);
	mul_gpu(n, l.rand_gpu, 1, net.input_gpu, 1);
}

static void dropout_backward_gpu(layer l, network net)
{
	if (net.delta_gpu && net.train)
		mul_gpu(l.batch * l.inputs, l.rand_gpu, 1, net.delta_gpu, 1);
}
#endif

void sul_dn_fix_layers(network *net)
{
	int i;

	for (i = 0; i < net->n; i++) {
		layer *l = &net->layers[i];
		if (l->type == CONVOLUTIONAL && !l->xnor && !l->binary) {
			l->forward = conv_forward;
			l->backward = conv_backward;
#ifdef GPU
			l->forward_gpu = conv_forward_gpu;
			l->backward_gpu = conv_backward_gpu;
#endif
		} else if (l->type == CONNECTED) {
			l->backward = connected_backward;
#ifdef GPU
			l->backward_gpu = connected_backward_gpu;
#endif
		} else if (l->type == DROPOUT) {
			l->backward = dropout_backward;
#ifdef GPU
			l->forward_gpu = dropout_forward_gpu;
			l->backward_gpu = dropout_backward_gpu;
#endif
		}
	}
}
