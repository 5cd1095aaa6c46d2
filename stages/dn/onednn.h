/*
 * onednn.h - a network's forward and backward passes on oneDNN
 * primitives (the default backend of sulcus-darknet.so; Darknet's own
 * layer functions are the reference backend).
 *
 * Darknet still parses the cfg and owns every parameter in its own arrays
 * and layout (l->weights, l->biases, batchnorm scales and statistics,
 * their *_updates); Darknet's update_network() applies SGD to them and
 * save_weights() writes them.  A plan adds, per layer and for the batch
 * the network was parsed with: oneDNN primitives (created once, reused),
 * the activations and their gradients in oneDNN's channel-blocked layout
 * from layer to layer, and blocked copies of the weights, refreshed after
 * sul_dnnl_params_changed().  Layers that oneDNN does not run ([softmax],
 * [dropout]) run Darknet's own code on Darknet's planar arrays; outputs
 * are reordered to those arrays only where something reads them there.
 *
 * Training (net->train = 1): convolution and inner product forward_training,
 * batchnorm by Darknet's formulas (blocked.h), backward data and weights;
 * the weight gradients are added into Darknet's l->weight_updates, as its
 * own backward does.  Inference: batchnorm folded into the convolution's
 * weights and bias, the activation fused as a post-op, and a backward (for
 * Grad-CAM) through the same folded weights, which is exactly the
 * inference-mode Jacobian that stages/dn/layers.c gives the reference path.
 */
#ifndef SUL_DN_ONEDNN_H
#define SUL_DN_ONEDNN_H

#include <darknet.h>
#include <stddef.h>

struct sul_err;
struct sul_dnnl;

/*
 * Makes a plan for net (parsed, at its batch).  Returns 0 and *out, or -1:
 * with err's kind SUL_ERR_INPUT when the network holds a layer the plan
 * does not support (the message says which: the caller may then use the
 * reference backend), SUL_ERR_FAIL when oneDNN failed.
 */
int sul_dnnl_new(network *net, struct sul_dnnl **out, struct sul_err *err);
void sul_dnnl_free(struct sul_dnnl *p);

/* The whole forward pass, from net->input, in training or inference mode
 * as net->train says.  Darknet's own layers see net->truth as usual. */
int sul_dnnl_forward(struct sul_dnnl *p, struct sul_err *err);

/* The forward pass from layer start (>= 1) on, after a forward of the same
 * inputs: layer start - 1's output is taken from its l->output (planar,
 * which the caller wrote); the layers before it keep what that forward
 * left, for the routes and shortcuts that read them. */
int sul_dnnl_forward_from(struct sul_dnnl *p, int start, struct sul_err *err);

/*
 * The backward pass after a forward in the same mode: from the last layer's
 * delta (set by its forward, or by the caller) down to layer stop + 1, as
 * Darknet's backward_network would run.  stop = -1 runs every layer; then
 * input_delta, if not NULL, receives d(loss)/d(input) (batch x inputs,
 * planar).  In training the weight gradients are added to the layers'
 * *_updates.  guided (inference only): guided backpropagation, only
 * positive gradients passing back through each rectifier (sul_dn_rectified).
 */
int sul_dnnl_backward(struct sul_dnnl *p, int stop, float *input_delta, int guided, struct sul_err *err);

/* Makes layer i's output and/or delta valid in Darknet's planar arrays
 * (l->output, l->delta) after a forward / backward. */
int sul_dnnl_pull(struct sul_dnnl *p, int i, int output, int delta, struct sul_err *err);

/* Parameters or batchnorm statistics changed in Darknet's arrays (an
 * update, loaded weights, ...): the blocked and folded copies are stale. */
void sul_dnnl_params_changed(struct sul_dnnl *p);

/* The instruction set oneDNN dispatches to, in words ("avx2", "avx512_core", ...). */
const char *sul_dnnl_isa(void);

#endif
