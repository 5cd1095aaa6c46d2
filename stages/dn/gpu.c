/*
 * gpu.c - keeping Darknet's host and device copies in step, for the CUDA
 * build of sulcus-darknet.so (make GPU=1).
 *
 * With a CUDA Darknet, a network opened on a device computes there:
 * forward_network(), backward_network() and update_network() take their
 * *_gpu paths, and the device holds the truth.  The host arrays (weights,
 * batchnorm statistics, outputs, deltas) are then stale copies that
 * Darknet refreshes only when it saves weights and for the last layer's
 * output.  net.c reads and writes the host arrays and calls these
 * functions around that.  In the CPU build (GPU not defined), and for a
 * network opened with gpu = -1, they do nothing.
 */
#include "../../engine/err.h"
#include "darknet_internal.h"
#include "shim.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#ifdef GPU
#define ON_GPU(net) ((net)->gpu_index >= 0)
#else
#define ON_GPU(net) ((void)(net), 0)
#endif

int sul_dn_gpu_select(int device, struct sul_err *err)
{
#ifdef GPU
	int count = 0;
	cudaError_t e;

	gpu_index = device;  /* parse_network_cfg() copies it; -1: the CPU paths */
	if (device < 0)
		return 0;
	e = cudaGetDeviceCount(&count);
	if (e != cudaSuccess)
		return sul_err_set(err, SUL_ERR_INPUT, "gpu = %d: no usable CUDA device (%s)", device,
				   cudaGetErrorString(e));
	if (device >= count)
		return sul_err_set(err, SUL_ERR_INPUT, "gpu = %d: this machine has %d CUDA device%s", device, count,
				   count == 1 ? "" : "s");
	cuda_set_device(device);
	return 0;
#else
	if (device >= 0)
		return sul_err_set(err, SUL_ERR_INPUT, "gpu = %d: this is the CPU build of sulcus-darknet.so; build the "
				   "CUDA one with `make GPU=1`", device);
	return 0;
#endif
}

int sul_dn_gpu_devices(char *why, size_t n)
{
#ifdef GPU
	int count = 0;
	cudaError_t e = cudaGetDeviceCount(&count);

	if (e != cudaSuccess) {
		if (why)
			snprintf(why, n, "%s", cudaGetErrorString(e));
		return 0;
	}
	if (!count && why)
		snprintf(why, n, "no CUDA device");
	return count;
#else
	if (why)
		snprintf(why, n, "the CPU build of sulcus-darknet.so (make GPU=1 builds the CUDA one)");
	return 0;
#endif
}

static size_t bn_channels(const layer *l)
{
	return (size_t)(l->type == CONNECTED ? l->outputs : l->n);
}

void sul_dn_bn_pull(const network *net, layer *l, int which)
{
	if (!ON_GPU(net) || !l->batch_normalize)
		return;
#ifdef GPU
	if (which & SUL_DN_ROLLING) {
		cuda_pull_array(l->rolling_mean_gpu, l->rolling_mean, bn_channels(l));
		cuda_pull_array(l->rolling_variance_gpu, l->rolling_variance, bn_channels(l));
	}
	if (which & SUL_DN_BATCH) {
		cuda_pull_array(l->mean_gpu, l->mean, bn_channels(l));
		cuda_pull_array(l->variance_gpu, l->variance, bn_channels(l));
	}
#else
	(void)which, (void)bn_channels;
#endif
}

void sul_dn_bn_push_rolling(const network *net, layer *l)
{
	if (!ON_GPU(net) || !l->batch_normalize)
		return;
#ifdef GPU
	cuda_push_array(l->rolling_mean_gpu, l->rolling_mean, bn_channels(l));
	cuda_push_array(l->rolling_variance_gpu, l->rolling_variance, bn_channels(l));
#endif
}

/* Darknet's own pull_*_layer/push_*_layer: weights, biases, their update
 * (momentum) buffers, batchnorm scales and rolling statistics. */
void sul_dn_params_pull(const network *net, layer *l)
{
	if (!ON_GPU(net))
		return;
#ifdef GPU
	if (l->type == CONVOLUTIONAL)
		pull_convolutional_layer(*l);
	else if (l->type == CONNECTED)
		pull_connected_layer(*l);
	else if (l->type == BATCHNORM)
		pull_batchnorm_layer(*l);
#else
	(void)l;
#endif
}

void sul_dn_params_push(const network *net, layer *l)
{
	if (!ON_GPU(net))
		return;
#ifdef GPU
	if (l->type == CONVOLUTIONAL)
		push_convolutional_layer(*l);
	else if (l->type == CONNECTED)
		push_connected_layer(*l);
	else if (l->type == BATCHNORM)
		push_batchnorm_layer(*l);
#else
	(void)l;
#endif
}

void sul_dn_io_pull(const network *net, layer *l, int output, int delta, size_t n)
{
	if (!ON_GPU(net))
		return;
#ifdef GPU
	if (output)
		cuda_pull_array(l->output_gpu, l->output, n);
	if (delta)
		cuda_pull_array(l->delta_gpu, l->delta, n);
#else
	(void)l, (void)output, (void)delta, (void)n;
#endif
}

void sul_dn_delta_push(const network *net, layer *l, size_t n)
{
	if (!ON_GPU(net))
		return;
#ifdef GPU
	cuda_push_array(l->delta_gpu, l->delta, n);
#else
	(void)l, (void)n;
#endif
}

int sul_dn_rectified(const layer *l)
{
	return (l->type == CONVOLUTIONAL || l->type == CONNECTED || l->type == SHORTCUT)
	       && (l->activation == RELU || l->activation == LEAKY);
}

void sul_dn_guide(const network *net, layer *l)
{
	const size_t n = (size_t)l->outputs * l->batch;
	size_t i;

	if (!sul_dn_rectified(l))
		return;
	/* On a device: through the host, which is slow but the rule's only use
	 * (guided backpropagation) is one pass per heatmap. */
	sul_dn_io_pull(net, l, 0, 1, n);
	for (i = 0; i < n; i++)
		l->delta[i] = l->delta[i] > 0 ? l->delta[i] : 0;
	sul_dn_delta_push(net, l, n);
}

void sul_dn_forward_layers(network *net, int start)
{
	network tmp = *net;
	layer *prev = &net->layers[start - 1];
	int i;

	tmp.train = 0;
	tmp.truth = NULL;
	tmp.delta = NULL;
	if (!ON_GPU(net)) {
		tmp.input = prev->output;
		for (i = start; i < net->n; i++) {
			layer l = net->layers[i];
			tmp.index = i;
			if (l.delta)
				memset(l.delta, 0, sizeof(float) * (size_t)l.outputs * l.batch);
			l.forward(l, tmp);
			tmp.input = l.output;
		}
		return;
	}
#ifdef GPU
	cuda_push_array(prev->output_gpu, prev->output, (size_t)prev->outputs * prev->batch);
	tmp.input_gpu = prev->output_gpu;
	tmp.input = prev->output;
	for (i = start; i < net->n; i++) {
		layer l = net->layers[i];
		tmp.index = i;
		if (l.delta_gpu)
			fill_gpu(l.outputs * l.batch, 0, l.delta_gpu, 1);
		l.forward_gpu(l, tmp);
		tmp.input_gpu = l.output_gpu;
		tmp.input = l.output;
	}
#endif
}

void sul_dn_backward_layer(network *net, int i, float *input_delta, float **input_delta_dev)
{
	network tmp = *net;
	layer l = net->layers[i];

	tmp.index = i;
	tmp.train = 0;
	if (!ON_GPU(net)) {
		tmp.input = i ? net->layers[i - 1].output : net->input;
		tmp.delta = i ? net->layers[i - 1].delta : input_delta;
		l.backward(l, tmp);
		return;
	}
#ifdef GPU
	/* The input's gradient: a device buffer of ours, Darknet has none. */
	if (i == 0 && input_delta) {
		const size_t n = (size_t)net->batch * net->inputs;
		if (!*input_delta_dev)
			*input_delta_dev = cuda_make_array(input_delta, n);
		else
			cuda_push_array(*input_delta_dev, input_delta, n);
	}
	tmp.input_gpu = i ? net->layers[i - 1].output_gpu : net->input_gpu;
	tmp.delta_gpu = i ? net->layers[i - 1].delta_gpu : input_delta ? *input_delta_dev : NULL;
	l.backward_gpu(l, tmp);
	if (i == 0 && input_delta)
		cuda_pull_array(*input_delta_dev, input_delta, (size_t)net->batch * net->inputs);
#else
	(void)input_delta_dev;
#endif
}

void sul_dn_dev_free(const network *net, float *dev)
{
	if (!dev || !ON_GPU(net))
		return;
#ifdef GPU
	cuda_free(dev);
#endif
}
