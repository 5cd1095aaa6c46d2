/*
 * shim.h - what the files of sulcus-darknet.so (stages/dn/) share with one
 * another.  The library's public face is stages/dn.h; nothing here is
 * exported from it.
 */
#ifndef SUL_DN_SHIM_H
#define SUL_DN_SHIM_H

#include <darknet.h>
#include <stddef.h>

struct sul_err;

/* blas.c: OpenBLAS and OpenMP threads; <= 0: every core. */
void sul_dn_set_threads(int threads);

/* layers.c: installs the corrected layer functions on a parsed network. */
void sul_dn_fix_layers(network *net);

/*
 * gpu.c: host and device copies.  With a network on a CUDA device the
 * device holds the truth; these copy between the two.  They do nothing
 * in the CPU build and for a network opened on the CPU.
 */
/* dn.h's devices(). */
int sul_dn_gpu_devices(char *why, size_t n);
/* Sets Darknet's gpu_index before parsing (-1: CPU), checking the device. */
int sul_dn_gpu_select(int device, struct sul_err *err);
enum { SUL_DN_ROLLING = 1, SUL_DN_BATCH = 2 };
/* Batchnorm statistics of l to the host: rolling and/or the last batch's. */
void sul_dn_bn_pull(const network *net, layer *l, int which);
void sul_dn_bn_push_rolling(const network *net, layer *l);
/* All of l's parameters (weights, biases, batchnorm scales and statistics). */
void sul_dn_params_pull(const network *net, layer *l);
void sul_dn_params_push(const network *net, layer *l);
/* The first n floats of l's output and/or delta to the host. */
void sul_dn_io_pull(const network *net, layer *l, int output, int delta, size_t n);
void sul_dn_delta_push(const network *net, layer *l, size_t n);
/* Whether l ends in a rectifier (a convolutional, connected or shortcut
 * layer with relu or leaky activation): where guided backpropagation
 * drops negative gradients. */
int sul_dn_rectified(const layer *l);
/* That rule on l's delta (host or device), before l's backward. */
void sul_dn_guide(const network *net, layer *l);
/* Runs layers start..last forward in inference mode from layer start - 1's
 * host output (pushed to the device first), after a forward of the same
 * inputs; the last layer's output is left where Darknet leaves it
 * (io_pull it). */
void sul_dn_forward_layers(network *net, int start);
/* Runs layer i's backward in inference mode, its input gradient going to
 * the previous layer's delta, or for i = 0 to input_delta (batch x
 * inputs, host; NULL: none).  *input_delta_dev is a device buffer for it,
 * made on first use; free it with sul_dn_dev_free(). */
void sul_dn_backward_layer(network *net, int i, float *input_delta, float **input_delta_dev);
void sul_dn_dev_free(const network *net, float *dev);

#endif
