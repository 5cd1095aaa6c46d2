/*
 * onednn.c - a Darknet network run on oneDNN primitives (see onednn.h).
 *
 * A plan holds one node per Darknet layer:
 *   conv      [convolutional]: convolution forward (training, and inference
 *             with batchnorm folded and the activation as a post-op),
 *             backward data, backward weights; batchnorm in training by
 *             blocked.c.  Output in the blocked layout.
 *   fc        [connected]: inner product on planar data (oneDNN's GEMM;
 *             its blocked-source kernels are reference code in 2.6).
 *   maxpool, avgpool: pooling, in the layout of their input.
 *   shortcut  blocked.c, in the layout of its input.
 *   darknet   [softmax], [dropout]: Darknet's own functions on its planar
 *             arrays (a dropout shares its input's arrays, as in Darknet).
 * Consumers come in two sorts.  Blocked ones (conv, pools, shortcut) read
 * the producer's tensor as it is and write its gradient there: the first
 * writer of a backward pass overwrites (no zeroing), later ones add.
 * Planar ones (fc, darknet) read the producer's l->output, which is
 * reordered from the blocked tensor after the producer's forward, and add
 * into its l->delta (zeroed in the forward, as Darknet zeroes every
 * delta), which is folded into the blocked gradient before the producer's
 * backward.
 *
 * Weights stay Darknet's (planar, l->weights); each primitive's own
 * layout is a copy refreshed when the plan's generation moves on
 * (sul_dnnl_params_changed).  Weight gradients go through a scratch in the
 * primitive's layout and are added into l->weight_updates by a reorder
 * with a sum post-op.
 */
#include "onednn.h"

#include "../../engine/err.h"
#include "blocked.h"
#include "darknet_internal.h"
#include "shim.h"

#include <dnnl.h>
#include <dnnl_debug.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum node_kind { N_CONV, N_FC, N_MAXPOOL, N_AVGPOOL, N_SHORTCUT, N_DARKNET };

/* An activation or gradient in a node's layout.  Planar ones are views of
 * Darknet's arrays; blocked ones are ours. */
struct tensor {
	struct sul_blk shape;
	dnnl_memory_desc_t md;
	float *data;
	dnnl_memory_t mem;
	int own;
};

struct reorder {
	dnnl_primitive_t p;
	dnnl_memory_t src, dst;
};

/* Weights in one primitive's layout, refreshed from Darknet's arrays. */
struct weights {
	dnnl_memory_desc_t md;
	float *data;
	dnnl_memory_t mem;
	struct reorder from_plain;
	int own;
	unsigned gen;  /* the plan generation it holds; 0: none */
};

struct pnode {
	enum node_kind kind;
	layer *l;
	int index;
	struct pnode *in, *from;        /* producers (NULL in: the network input) */
	struct tensor out, dout;
	struct tensor x;               /* conv/fc with batchnorm, training: before batchnorm */
	struct tensor raw;             /* conv on oneDNN's planar kernels: its output, then its gradient */
	struct reorder raw_out, raw_x, dout_raw;  /* raw -> out (or x), dout -> raw */
	int plain_readers;             /* a planar consumer reads l->output */
	int plain_writers;             /* a planar consumer adds into l->delta */
	int plain_valid;               /* l->output holds out (this forward) */
	int written;                   /* dout holds gradient (this backward) */
	int pending_plain;             /* l->delta holds gradient not yet in dout */
	struct reorder to_plain, delta_to_plain, delta_from_plain, delta_add_plain;
	struct reorder from_plain;     /* l->output -> out, for sul_dnnl_forward_from() */
	/* The first layer's input gradient: oneDNN has only its reference
	 * kernel for a 3-channel diff_src of most kernels (7x7 stride 2: 27 s
	 * a batch), so it is computed here, Darknet's way: W^T dY by GEMM, then
	 * col2im (first_layer_input_grad). */
	float *col;                    /* ksize^2 c x out_h out_w */

	/* conv, fc */
	dnnl_primitive_desc_t fwd_train_pd, fwd_infer_pd, bwd_data_pd, bwd_weights_pd;
	dnnl_primitive_t fwd_train, fwd_infer, bwd_data, bwd_weights;
	struct weights w_train, w_infer, w_bwd_train, w_bwd_infer;
	float *b_infer;                /* folded biases */
	dnnl_memory_t b_infer_mem, bias_mem, dbias_mem;
	float *dbias;
	struct tensor dw;              /* backward weights' output */
	struct reorder dw_add;         /* dw added into l->weight_updates */
	dnnl_memory_t wu_mem;
	float *fc_src_grad;            /* fc: d(input), added into the producer's l->delta */
	dnnl_memory_t fc_src_grad_mem, fc_src_mem, fc_dst_mem, fc_ddst_mem;
	dnnl_memory_t scratch_mem;     /* p->scratch in the layout of the input's gradient */

	/* pools */
	dnnl_primitive_desc_t pool_pd, pool_bwd_pd;
	dnnl_primitive_t pool_fwd, pool_bwd;
	dnnl_memory_t ws;
};

struct sul_dnnl {
	network *net;
	dnnl_engine_t engine;
	dnnl_stream_t stream;
	int block;                     /* channel block of activations: 8 or 16 */
	int n;
	struct pnode *nodes;
	struct tensor input;           /* net->input, planar */
	struct tensor input_grad;      /* sul_dnnl_backward's input_delta, when asked */
	int input_written;
	unsigned gen;
	float *fold;                   /* scratch: folded planar weights */
	size_t fold_floats;
	float *scratch;                /* scratch: a gradient to add */
	size_t scratch_floats;
	dnnl_memory_t scratch_mem;
};

#define CHECK(call, ...)                                                                                          \
	do {                                                                                                      \
		dnnl_status_t s_ = (call);                                                                        \
		if (s_ != dnnl_success)                                                                           \
			return fail(err, s_, __VA_ARGS__);                                                        \
	} while (0)

__attribute__((format(printf, 3, 4))) static int fail(struct sul_err *err, dnnl_status_t s, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return sul_err_set(err, s == dnnl_unimplemented ? SUL_ERR_INPUT : SUL_ERR_FAIL, "oneDNN: %s: %s", what,
			   dnnl_status2str(s));
}

static void *alloc_floats(size_t n)
{
	size_t bytes = (n ? n : 1) * sizeof(float);
	void *p;

	bytes = (bytes + 63) / 64 * 64;
	p = aligned_alloc(64, bytes);
	if (p)
		memset(p, 0, bytes);
	return p;
}

/* ---- tensors ---------------------------------------------------------- */

static int tensor_init(struct sul_dnnl *p, struct tensor *t, struct sul_blk shape, float *data, struct sul_err *err)
{
	dnnl_dims_t dims = { shape.n, shape.c, shape.h, shape.w };
	dnnl_format_tag_t tag = shape.b == 16 ? dnnl_nChw16c : shape.b == 8 ? dnnl_nChw8c : dnnl_nchw;

	t->shape = shape;
	CHECK(dnnl_memory_desc_init_by_tag(&t->md, 4, dims, dnnl_f32, tag), "memory descriptor");
	if (!data) {
		data = alloc_floats(sul_blk_floats(&shape));
		if (!data)
			return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
		t->own = 1;
	}
	t->data = data;
	CHECK(dnnl_memory_create(&t->mem, &t->md, p->engine, data), "memory");
	return 0;
}

static void tensor_release(struct tensor *t)
{
	if (t->mem)
		dnnl_memory_destroy(t->mem);
	if (t->own)
		free(t->data);
	memset(t, 0, sizeof(*t));
}

static int memory_over(struct sul_dnnl *p, dnnl_memory_t *mem, const dnnl_memory_desc_t *md, void *data,
		       struct sul_err *err)
{
	CHECK(dnnl_memory_create(mem, md, p->engine, data), "memory");
	return 0;
}

/* ---- reorders --------------------------------------------------------- */

static int reorder_make(struct sul_dnnl *p, struct reorder *r, const dnnl_memory_desc_t *smd, void *src,
			const dnnl_memory_desc_t *dmd, void *dst, int sum, struct sul_err *err)
{
	dnnl_primitive_desc_t pd = NULL;
	dnnl_primitive_attr_t attr = NULL;
	dnnl_post_ops_t po = NULL;
	dnnl_status_t s;

	if (sum) {
		CHECK(dnnl_post_ops_create(&po), "post-ops");
		dnnl_post_ops_append_sum(po, 1.f);
		dnnl_primitive_attr_create(&attr);
		dnnl_primitive_attr_set_post_ops(attr, po);
		dnnl_post_ops_destroy(po);
	}
	s = dnnl_reorder_primitive_desc_create(&pd, smd, p->engine, dmd, p->engine, attr);
	if (attr)
		dnnl_primitive_attr_destroy(attr);
	if (s != dnnl_success)
		return fail(err, s, "reorder");
	s = dnnl_primitive_create(&r->p, pd);
	dnnl_primitive_desc_destroy(pd);
	if (s != dnnl_success)
		return fail(err, s, "reorder");
	CHECK(dnnl_memory_create(&r->src, smd, p->engine, src), "memory");
	CHECK(dnnl_memory_create(&r->dst, dmd, p->engine, dst), "memory");
	return 0;
}

static int reorder_run(struct sul_dnnl *p, const struct reorder *r, struct sul_err *err)
{
	dnnl_exec_arg_t args[2] = { { DNNL_ARG_FROM, r->src }, { DNNL_ARG_TO, r->dst } };

	CHECK(dnnl_primitive_execute(r->p, p->stream, 2, args), "reorder");
	return 0;
}

static void reorder_release(struct reorder *r)
{
	if (r->p)
		dnnl_primitive_destroy(r->p);
	if (r->src)
		dnnl_memory_destroy(r->src);
	if (r->dst)
		dnnl_memory_destroy(r->dst);
	memset(r, 0, sizeof(*r));
}

static int is_blocked(const struct tensor *t)
{
	return t->shape.b > 1;
}

/* l->output := out, once per forward. */
static int make_plain_output(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	if (nd->plain_valid)
		return 0;
	if (!nd->to_plain.p) {
		dnnl_memory_desc_t md;
		dnnl_dims_t dims = { nd->out.shape.n, nd->out.shape.c, nd->out.shape.h, nd->out.shape.w };
		CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw), "memory descriptor");
		if (reorder_make(p, &nd->to_plain, &nd->out.md, nd->out.data, &md, nd->l->output, 0, err))
			return -1;
	}
	if (reorder_run(p, &nd->to_plain, err))
		return -1;
	nd->plain_valid = 1;
	return 0;
}

/* dout (+)= l->delta, for a blocked node whose planar consumers wrote there. */
static int take_plain_delta(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	struct reorder *r = nd->written ? &nd->delta_add_plain : &nd->delta_from_plain;

	if (!nd->pending_plain)
		return 0;
	if (!r->p) {
		dnnl_memory_desc_t md;
		dnnl_dims_t dims = { nd->out.shape.n, nd->out.shape.c, nd->out.shape.h, nd->out.shape.w };
		CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw), "memory descriptor");
		if (reorder_make(p, r, &md, nd->l->delta, &nd->dout.md, nd->dout.data, nd->written, err))
			return -1;
	}
	if (reorder_run(p, r, err))
		return -1;
	nd->pending_plain = 0;
	nd->written = 1;
	return 0;
}

/* ---- weights ---------------------------------------------------------- */

static int weights_init(struct sul_dnnl *p, struct weights *w, const dnnl_memory_desc_t *md, struct sul_err *err)
{
	w->md = *md;
	w->data = alloc_floats(dnnl_memory_desc_get_size(md) / sizeof(float));
	if (!w->data)
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	w->own = 1;
	CHECK(dnnl_memory_create(&w->mem, md, p->engine, w->data), "memory");
	return 0;
}

static void weights_release(struct weights *w)
{
	reorder_release(&w->from_plain);
	if (w->mem)
		dnnl_memory_destroy(w->mem);
	if (w->own)
		free(w->data);
	memset(w, 0, sizeof(*w));
}

/* Darknet's planar weights of a conv or fc layer: O x I x kh x kw. */
static void plain_weights_md(const struct pnode *nd, dnnl_memory_desc_t *md)
{
	const layer *l = nd->l;

	if (nd->kind == N_CONV) {
		dnnl_dims_t dims = { l->n, l->c, l->size, l->size };
		dnnl_memory_desc_init_by_tag(md, 4, dims, dnnl_f32, dnnl_oihw);
	} else {
		dnnl_dims_t dims = { l->outputs, l->inputs };
		dnnl_memory_desc_init_by_tag(md, 2, dims, dnnl_f32, dnnl_oi);
	}
}

static size_t layer_weight_count(const layer *l)
{
	return l->type == CONNECTED ? (size_t)l->outputs * l->inputs : (size_t)l->nweights;
}

/* Batchnorm at inference folded into the weights: per output channel
 * g = scale / (sqrt(rolling variance) + 1e-6), w' = g w into dst,
 * b' = bias - g rolling mean into b_infer.  Without batchnorm, w' is w
 * itself (returned) and b' the bias. */
static float *fold_weights(struct pnode *nd, float *dst)
{
	layer *l = nd->l;
	const int outs = nd->kind == N_CONV ? l->n : l->outputs;
	const size_t per = layer_weight_count(l) / (size_t)outs;
	int o;

	if (!l->batch_normalize) {
		memcpy(nd->b_infer, l->biases, sizeof(float) * (size_t)outs);
		return l->weights;
	}
#pragma omp parallel for schedule(static)
	for (o = 0; o < outs; o++) {
		const float g = l->scales[o] / (sqrtf(l->rolling_variance[o]) + .000001f);
		size_t k;
		for (k = 0; k < per; k++)
			dst[(size_t)o * per + k] = l->weights[(size_t)o * per + k] * g;
		nd->b_infer[o] = l->biases[o] - g * l->rolling_mean[o];
	}
	return dst;
}

/* w := the planar weights at src in w's layout, unless it is current. */
static int weights_sync(struct sul_dnnl *p, struct pnode *nd, struct weights *w, float *src, struct sul_err *err)
{
	dnnl_memory_desc_t md;

	if (!w->mem || w->gen == p->gen)
		return 0;
	if (!w->from_plain.p) {
		plain_weights_md(nd, &md);
		if (reorder_make(p, &w->from_plain, &md, src, &w->md, w->data, 0, err))
			return -1;
	} else {
		CHECK(dnnl_memory_set_data_handle(w->from_plain.src, src), "memory");
	}
	if (reorder_run(p, &w->from_plain, err))
		return -1;
	w->gen = p->gen;
	return 0;
}

/* The weights a primitive wants: `md` as given by its descriptor.  Shares
 * the buffer of `same` when the layouts agree. */
static int weights_for(struct sul_dnnl *p, struct weights *w, const dnnl_memory_desc_t *md, const struct weights *same,
		       struct sul_err *err)
{
	if (same && same->mem && dnnl_memory_desc_equal(md, &same->md))
		return 0;  /* w stays empty: callers use `same` */
	return weights_init(p, w, md, err);
}

static const struct weights *pick(const struct weights *w, const struct weights *same)
{
	return w->mem ? w : same;
}

/* ---- building --------------------------------------------------------- */

static int attr_for(dnnl_primitive_attr_t *attr, ACTIVATION a, struct sul_err *err)
{
	/* Darknet's leaky is oneDNN's relu with slope 0.1 below zero. */
	const float alpha = a == LEAKY ? .1f : 0;
	dnnl_post_ops_t po;

	*attr = NULL;
	if (a == LINEAR)
		return 0;
	CHECK(dnnl_post_ops_create(&po), "post-ops");
	dnnl_post_ops_append_eltwise(po, 1.f, dnnl_eltwise_relu, alpha, 0);
	dnnl_primitive_attr_create(attr);
	dnnl_primitive_attr_set_post_ops(*attr, po);
	dnnl_post_ops_destroy(po);
	return 0;
}

static int pd_create(dnnl_primitive_desc_t *pd, const void *desc, dnnl_primitive_attr_t attr, struct sul_dnnl *p,
		     const_dnnl_primitive_desc_t hint, const char *what, const layer *l, int index,
		     struct sul_err *err)
{
	dnnl_status_t s = dnnl_primitive_desc_create(pd, desc, attr, p->engine, hint);

	if (attr)
		dnnl_primitive_attr_destroy(attr);
	if (s != dnnl_success)
		return fail(err, s, "layer %d [%s]: %s", index, get_layer_string(l->type), what);
	return 0;
}

static int prim_create(dnnl_primitive_t *prim, const_dnnl_primitive_desc_t pd, const char *what, struct sul_err *err)
{
	CHECK(dnnl_primitive_create(prim, pd), "%s", what);
	return 0;
}

static const dnnl_memory_desc_t *md_of(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
	return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* oneDNN's name for the implementation a descriptor picked. */
static const char *impl_of(const_dnnl_primitive_desc_t pd)
{
	const char *s = "";

	dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
	return s;
}

/*
 * Whether a convolution runs on oneDNN's blocked kernels, or (where oneDNN
 * has only its reference code for them: AlexNet's 11x11/4 on three planar
 * channels, 40 s a batch) on its GEMM-based one with planar data, the
 * node then reordering its output into the blocked layout (`raw`), so
 * that the layers after it stay on the blocked kernels.  Returns the
 * block (1: planar).  Darknet's right padding is whatever gives its output
 * size; the same size with the left padding mirrored is what oneDNN's
 * kernels expect, so that is preferred.
 */
static int conv_layout(struct sul_dnnl *p, const struct pnode *nd, const dnnl_memory_desc_t *src, dnnl_dim_t *pr)
{
	const layer *l = nd->l;
	dnnl_dims_t wdims = { l->n, l->c, l->size, l->size }, ddims = { l->batch, l->n, l->out_h, l->out_w };
	dnnl_dims_t strides = { l->stride, l->stride }, pl = { l->pad, l->pad };
	dnnl_memory_desc_t wmd, dmd;
	dnnl_convolution_desc_t cd;
	dnnl_primitive_desc_t pd = NULL;
	int ref = 1;

	if ((l->h + 2 * l->pad - l->size) / l->stride + 1 == l->out_h
	    && (l->w + 2 * l->pad - l->size) / l->stride + 1 == l->out_w)
		pr[0] = pr[1] = l->pad;
	dnnl_memory_desc_init_by_tag(&wmd, 4, wdims, dnnl_f32, dnnl_format_tag_any);
	dnnl_memory_desc_init_by_tag(&dmd, 4, ddims, dnnl_f32, p->block == 16 ? dnnl_nChw16c : dnnl_nChw8c);
	if (!dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, src, &wmd, NULL, &dmd,
						strides, pl, pr)
	    && !dnnl_primitive_desc_create(&pd, &cd, NULL, p->engine, NULL)) {
		ref = !strncmp(impl_of(pd), "ref", 3);
		dnnl_primitive_desc_destroy(pd);
	}
	return ref ? 1 : p->block;
}

/* A convolution's or connected layer's four primitives, from their descriptors. */
static int train_prims_create(struct pnode *nd, struct sul_err *err)
{
	return prim_create(&nd->fwd_train, nd->fwd_train_pd, "forward", err)
	       || prim_create(&nd->fwd_infer, nd->fwd_infer_pd, "inference", err)
	       || prim_create(&nd->bwd_data, nd->bwd_data_pd, "backward data", err)
	       || prim_create(&nd->bwd_weights, nd->bwd_weights_pd, "backward weights", err)
		       ? -1
		       : 0;
}

static int conv_build(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	layer *l = nd->l;
	const struct tensor *src = nd->in ? &nd->in->out : &p->input;
	const int pad_r_h = (l->out_h - 1) * l->stride + l->size - l->h - l->pad;
	const int pad_r_w = (l->out_w - 1) * l->stride + l->size - l->w - l->pad;
	dnnl_dims_t strides = { l->stride, l->stride }, pl = { l->pad, l->pad }, pr = { pad_r_h, pad_r_w };
	dnnl_dims_t wdims = { l->n, l->c, l->size, l->size }, bdims = { l->n };
	dnnl_memory_desc_t wmd, bmd;
	dnnl_convolution_desc_t cd;
	dnnl_primitive_attr_t attr;
	struct sul_blk shape = { l->batch, l->n, l->out_h, l->out_w, p->block };
	const dnnl_memory_desc_t *dst = &nd->out.md;

	if (tensor_init(p, &nd->out, shape, NULL, err) || tensor_init(p, &nd->dout, shape, NULL, err))
		return -1;
	if (l->batch_normalize && tensor_init(p, &nd->x, shape, NULL, err))
		return -1;
	if (conv_layout(p, nd, &src->md, pr) == 1) {
		shape.b = 1;
		if (tensor_init(p, &nd->raw, shape, NULL, err)
		    || reorder_make(p, &nd->raw_out, &nd->raw.md, nd->raw.data, &nd->out.md, nd->out.data, 0, err)
		    || reorder_make(p, &nd->dout_raw, &nd->dout.md, nd->dout.data, &nd->raw.md, nd->raw.data, 0, err)
		    || (l->batch_normalize
			&& reorder_make(p, &nd->raw_x, &nd->raw.md, nd->raw.data, &nd->x.md, nd->x.data, 0, err)))
			return -1;
		dst = &nd->raw.md;
	}
	dnnl_memory_desc_init_by_tag(&wmd, 4, wdims, dnnl_f32, dnnl_format_tag_any);
	dnnl_memory_desc_init_by_tag(&bmd, 1, bdims, dnnl_f32, dnnl_x);

	/* Training: the bias and activation fused only without batchnorm. */
	CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct, &src->md, &wmd,
						 l->batch_normalize ? NULL : &bmd, dst, strides, pl, pr),
	      "layer %d [convolutional]: forward", nd->index);
	if (attr_for(&attr, l->batch_normalize ? LINEAR : l->activation, err)
	    || pd_create(&nd->fwd_train_pd, &cd, attr, p, NULL, "forward", l, nd->index, err)
	    || weights_for(p, &nd->w_train, md_of(nd->fwd_train_pd, dnnl_query_weights_md), NULL, err))
		return -1;

	CHECK(dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &src->md, &wmd,
						 &bmd, dst, strides, pl, pr),
	      "layer %d [convolutional]: inference", nd->index);
	if (attr_for(&attr, l->activation, err)
	    || pd_create(&nd->fwd_infer_pd, &cd, attr, p, NULL, "inference", l, nd->index, err)
	    || weights_for(p, &nd->w_infer, md_of(nd->fwd_infer_pd, dnnl_query_weights_md), NULL, err))
		return -1;

	CHECK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src->md, &wmd, dst, strides, pl,
						       pr),
	      "layer %d [convolutional]: backward data", nd->index);
	if (pd_create(&nd->bwd_data_pd, &cd, NULL, p, nd->fwd_train_pd, "backward data", l, nd->index, err))
		return -1;
	if (weights_for(p, &nd->w_bwd_train, md_of(nd->bwd_data_pd, dnnl_query_weights_md), &nd->w_train, err)
	    || weights_for(p, &nd->w_bwd_infer, md_of(nd->bwd_data_pd, dnnl_query_weights_md), &nd->w_infer, err))
		return -1;

	CHECK(dnnl_convolution_backward_weights_desc_init(&cd, dnnl_convolution_direct, &src->md, &wmd,
							  l->batch_normalize ? NULL : &bmd, dst, strides, pl,
							  pr),
	      "layer %d [convolutional]: backward weights", nd->index);
	if (pd_create(&nd->bwd_weights_pd, &cd, NULL, p, nd->fwd_train_pd, "backward weights", l, nd->index, err))
		return -1;

	nd->b_infer = alloc_floats((size_t)l->n);
	nd->dbias = alloc_floats((size_t)l->n);
	if (!nd->b_infer || !nd->dbias)
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	if (memory_over(p, &nd->b_infer_mem, &bmd, nd->b_infer, err)
	    || memory_over(p, &nd->bias_mem, &bmd, l->biases, err)
	    || memory_over(p, &nd->dbias_mem, &bmd, nd->dbias, err))
		return -1;
	{
		const dnnl_memory_desc_t *dwmd = md_of(nd->bwd_weights_pd, dnnl_query_diff_weights_md);
		dnnl_memory_desc_t plain;
		nd->dw.md = *dwmd;
		nd->dw.data = alloc_floats(dnnl_memory_desc_get_size(dwmd) / sizeof(float));
		nd->dw.own = 1;
		if (!nd->dw.data)
			return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
		if (memory_over(p, &nd->dw.mem, dwmd, nd->dw.data, err))
			return -1;
		/* oneDNN 2.6's reorder with a sum post-op runs at a quarter of a
		 * GB/s on these layouts: reorder, then add. */
		plain_weights_md(nd, &plain);
		if (reorder_make(p, &nd->dw_add, dwmd, nd->dw.data, &plain, p->fold, 0, err))
			return -1;
	}
	return train_prims_create(nd, err);
}

static int fc_build(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	layer *l = nd->l;
	dnnl_dims_t sdims = { l->batch, l->inputs }, ddims = { l->batch, l->outputs }, bdims = { l->outputs };
	dnnl_memory_desc_t smd, wmd, dmd, bmd;
	dnnl_inner_product_desc_t ipd;
	dnnl_primitive_attr_t attr;
	struct sul_blk shape = { l->batch, l->outputs, 1, 1, 1 };
	float *src = nd->in ? nd->in->l->output : p->net->input;

	if (tensor_init(p, &nd->out, shape, l->output, err) || tensor_init(p, &nd->dout, shape, l->delta, err))
		return -1;
	if (l->batch_normalize && tensor_init(p, &nd->x, shape, NULL, err))
		return -1;
	dnnl_memory_desc_init_by_tag(&smd, 2, sdims, dnnl_f32, dnnl_nc);
	dnnl_memory_desc_init_by_tag(&dmd, 2, ddims, dnnl_f32, dnnl_nc);
	dnnl_memory_desc_init_by_tag(&bmd, 1, bdims, dnnl_f32, dnnl_x);
	plain_weights_md(nd, &wmd);

	CHECK(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_training, &smd, &wmd,
						   l->batch_normalize ? NULL : &bmd, &dmd),
	      "layer %d [connected]: forward", nd->index);
	if (attr_for(&attr, l->batch_normalize ? LINEAR : l->activation, err)
	    || pd_create(&nd->fwd_train_pd, &ipd, attr, p, NULL, "forward", l, nd->index, err))
		return -1;
	CHECK(dnnl_inner_product_forward_desc_init(&ipd, dnnl_forward_inference, &smd, &wmd, &bmd, &dmd),
	      "layer %d [connected]: inference", nd->index);
	if (attr_for(&attr, l->activation, err)
	    || pd_create(&nd->fwd_infer_pd, &ipd, attr, p, NULL, "inference", l, nd->index, err))
		return -1;
	CHECK(dnnl_inner_product_backward_data_desc_init(&ipd, &smd, &wmd, &dmd),
	      "layer %d [connected]: backward data", nd->index);
	if (pd_create(&nd->bwd_data_pd, &ipd, NULL, p, nd->fwd_train_pd, "backward data", l, nd->index, err))
		return -1;
	CHECK(dnnl_inner_product_backward_weights_desc_init(&ipd, &smd, &wmd, l->batch_normalize ? NULL : &bmd, &dmd),
	      "layer %d [connected]: backward weights", nd->index);
	if (pd_create(&nd->bwd_weights_pd, &ipd, NULL, p, nd->fwd_train_pd, "backward weights", l, nd->index, err))
		return -1;

	/* Planar weights throughout: Darknet's own array, or (batchnorm at
	 * inference) a folded copy. */
	nd->w_train.md = wmd;
	nd->w_train.data = l->weights;
	if (memory_over(p, &nd->w_train.mem, &wmd, l->weights, err))
		return -1;
	nd->w_infer.md = wmd;
	if (l->batch_normalize) {
		nd->w_infer.data = alloc_floats(layer_weight_count(l));
		nd->w_infer.own = 1;
		if (!nd->w_infer.data)
			return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	} else {
		nd->w_infer.data = l->weights;
	}
	if (memory_over(p, &nd->w_infer.mem, &wmd, nd->w_infer.data, err))
		return -1;
	nd->b_infer = alloc_floats((size_t)l->outputs);
	nd->dbias = alloc_floats((size_t)l->outputs);
	nd->fc_src_grad = alloc_floats((size_t)l->batch * l->inputs);
	nd->dw.data = alloc_floats(layer_weight_count(l));
	nd->dw.own = 1;
	nd->dw.md = wmd;
	if (!nd->b_infer || !nd->dbias || !nd->fc_src_grad || !nd->dw.data)
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	if (memory_over(p, &nd->b_infer_mem, &bmd, nd->b_infer, err)
	    || memory_over(p, &nd->bias_mem, &bmd, l->biases, err)
	    || memory_over(p, &nd->dbias_mem, &bmd, nd->dbias, err)
	    || memory_over(p, &nd->dw.mem, &wmd, nd->dw.data, err)
	    || memory_over(p, &nd->fc_src_grad_mem, &smd, nd->fc_src_grad, err)
	    || memory_over(p, &nd->fc_src_mem, &smd, src, err)
	    || memory_over(p, &nd->fc_dst_mem, &dmd, l->batch_normalize ? nd->x.data : l->output, err)
	    || memory_over(p, &nd->fc_ddst_mem, &dmd, l->delta, err))
		return -1;
	return train_prims_create(nd, err);
}

static int pool_build(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	layer *l = nd->l;
	const struct tensor *src = nd->in ? &nd->in->out : &p->input;
	struct sul_blk shape = { l->batch, l->out_c, l->out_h, l->out_w, src->shape.b };
	dnnl_pooling_desc_t pdesc;
	dnnl_dims_t strides, kernel, pl, pr;
	dnnl_alg_kind_t alg;

	if (nd->kind == N_MAXPOOL) {
		/* Darknet pads `pad` in all, -pad/2 before (C division), the rest after. */
		const int before = l->pad / 2;
		strides[0] = strides[1] = l->stride;
		kernel[0] = kernel[1] = l->size;
		pl[0] = pl[1] = before;
		pr[0] = (l->out_h - 1) * l->stride + l->size - l->h - before;
		pr[1] = (l->out_w - 1) * l->stride + l->size - l->w - before;
		alg = dnnl_pooling_max;
	} else {
		strides[0] = strides[1] = 1;
		kernel[0] = l->h;
		kernel[1] = l->w;
		pl[0] = pl[1] = pr[0] = pr[1] = 0;
		alg = dnnl_pooling_avg_include_padding;
	}
	if (tensor_init(p, &nd->out, shape, shape.b == 1 ? l->output : NULL, err)
	    || tensor_init(p, &nd->dout, shape, shape.b == 1 ? l->delta : NULL, err))
		return -1;
	/* Training propagation even for inference: a max pool's backward
	 * (Grad-CAM) needs the workspace of its forward. */
	CHECK(dnnl_pooling_forward_desc_init(&pdesc, dnnl_forward_training, alg, &src->md, &nd->out.md, strides, kernel,
					     pl, pr),
	      "layer %d [%s]: forward", nd->index, get_layer_string(l->type));
	if (pd_create(&nd->pool_pd, &pdesc, NULL, p, NULL, "forward", l, nd->index, err))
		return -1;
	CHECK(dnnl_pooling_backward_desc_init(&pdesc, alg, &src->md, &nd->out.md, strides, kernel, pl, pr),
	      "layer %d [%s]: backward", nd->index, get_layer_string(l->type));
	if (pd_create(&nd->pool_bwd_pd, &pdesc, NULL, p, nd->pool_pd, "backward", l, nd->index, err))
		return -1;
	{
		const dnnl_memory_desc_t *ws = md_of(nd->pool_pd, dnnl_query_workspace_md);
		if (ws && dnnl_memory_desc_get_size(ws)) {
			CHECK(dnnl_memory_create(&nd->ws, ws, p->engine, DNNL_MEMORY_ALLOCATE), "workspace");
		}
	}
	if (prim_create(&nd->pool_fwd, nd->pool_pd, "forward", err)
	    || prim_create(&nd->pool_bwd, nd->pool_bwd_pd, "backward", err))
		return -1;
	return 0;
}

static int shortcut_build(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	layer *l = nd->l;
	const struct tensor *prev = nd->in ? &nd->in->out : &p->input;
	struct sul_blk shape = { l->batch, l->out_c, l->out_h, l->out_w, prev->shape.b };

	if (!nd->from || nd->from->out.shape.b != shape.b)
		return sul_err_set(err, SUL_ERR_INPUT, "layer %d [shortcut]: from layer %d, whose output is in another "
				   "layout", nd->index, l->index);
	if (tensor_init(p, &nd->out, shape, shape.b == 1 ? l->output : NULL, err)
	    || tensor_init(p, &nd->dout, shape, shape.b == 1 ? l->delta : NULL, err))
		return -1;
	return 0;
}

static int darknet_build(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	layer *l = nd->l;
	struct sul_blk shape = { l->batch, l->outputs, 1, 1, 1 };

	if (tensor_init(p, &nd->out, shape, l->output, err) || tensor_init(p, &nd->dout, shape, l->delta, err))
		return -1;
	return 0;
}

/* Which layers the plan runs, and which of Darknet's. */
static int classify(struct sul_dnnl *p, int i, struct sul_err *err)
{
	struct pnode *nd = &p->nodes[i];
	layer *l = &p->net->layers[i];

	nd->l = l;
	nd->index = i;
	nd->in = i > 0 ? &p->nodes[i - 1] : NULL;
	switch (l->type) {
	case CONVOLUTIONAL:
		if (l->groups != 1 || l->xnor || l->binary || !sul_blk_act_ok(l->activation))
			break;
		nd->kind = N_CONV;
		return 0;
	case CONNECTED:
		if (!sul_blk_act_ok(l->activation))
			break;
		nd->kind = N_FC;
		return 0;
	case MAXPOOL:
		nd->kind = N_MAXPOOL;
		return 0;
	case AVGPOOL:
		nd->kind = N_AVGPOOL;
		return 0;
	case SHORTCUT:
		if (!sul_blk_act_ok(l->activation) || l->index < 0 || l->index >= i)
			break;
		nd->kind = N_SHORTCUT;
		nd->from = &p->nodes[l->index];
		return 0;
	case SOFTMAX:
		nd->kind = N_DARKNET;
		return 0;
	case DROPOUT:
		if (i == 0)
			break;
		nd->kind = N_DARKNET;
		return 0;
	default:
		break;
	}
	return sul_err_set(err, SUL_ERR_INPUT,
			   "layer %d [%s]%s: not run by the oneDNN backend (convolutional and connected with linear, "
			   "relu or leaky activations, maxpool, avgpool, shortcut, dropout, softmax)",
			   i, get_layer_string(l->type),
			   l->type == CONVOLUTIONAL && l->groups != 1 ? " with groups" : "");
}

static int is_planar_consumer(const struct pnode *nd)
{
	return nd->kind == N_FC || nd->kind == N_DARKNET;
}

int sul_dnnl_new(network *net, struct sul_dnnl **out, struct sul_err *err)
{
	struct sul_dnnl *p;
	dnnl_cpu_isa_t isa;
	int i, r = 0;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	p->net = net;
	p->n = net->n;
	p->gen = 1;
	p->nodes = calloc((size_t)net->n, sizeof(*p->nodes));
	if (!p->nodes) {
		free(p);
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	}
	isa = dnnl_get_effective_cpu_isa();
	p->block = (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core ? 16 : 8;
	if (dnnl_engine_create(&p->engine, dnnl_cpu, 0) != dnnl_success
	    || dnnl_stream_create(&p->stream, p->engine, dnnl_stream_default_flags) != dnnl_success) {
		sul_dnnl_free(p);
		return sul_err_set(err, SUL_ERR_FAIL, "oneDNN: cannot create a CPU engine");
	}
	for (i = 0; i < net->n && !r; i++)
		r = classify(p, i, err);
	if (!r) {
		struct sul_blk shape = { net->batch, net->c, net->h, net->w, 1 };
		r = tensor_init(p, &p->input, shape, net->input, err);
	}
	for (i = 0; i < net->n && !r; i++)
		if (p->nodes[i].kind == N_CONV && p->fold_floats < layer_weight_count(p->nodes[i].l))
			p->fold_floats = layer_weight_count(p->nodes[i].l);
	if (!r && !(p->fold = alloc_floats(p->fold_floats)))
		r = sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	for (i = 0; i < net->n && !r; i++) {
		struct pnode *nd = &p->nodes[i];
		switch (nd->kind) {
		case N_CONV: r = conv_build(p, nd, err); break;
		case N_FC: r = fc_build(p, nd, err); break;
		case N_MAXPOOL: case N_AVGPOOL: r = pool_build(p, nd, err); break;
		case N_SHORTCUT: r = shortcut_build(p, nd, err); break;
		case N_DARKNET: r = darknet_build(p, nd, err); break;
		}
		if (!r && is_planar_consumer(nd) && nd->in) {
			nd->in->plain_readers = 1;
			nd->in->plain_writers = 1;
		}
	}
	if (!r) {
		size_t most = 0;
		for (i = 0; i < net->n; i++)
			if (sul_blk_floats(&p->nodes[i].out.shape) > most)
				most = sul_blk_floats(&p->nodes[i].out.shape);
		p->scratch_floats = most;
		p->scratch = alloc_floats(most);
		if (!p->scratch)
			r = sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	}
	if (r) {
		sul_dnnl_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

void sul_dnnl_free(struct sul_dnnl *p)
{
	int i;

	if (!p)
		return;
	for (i = 0; p->nodes && i < p->n; i++) {
		struct pnode *nd = &p->nodes[i];
		dnnl_primitive_t prims[] = { nd->fwd_train, nd->fwd_infer, nd->bwd_data, nd->bwd_weights,
					     nd->pool_fwd, nd->pool_bwd };
		dnnl_primitive_desc_t pds[] = { nd->fwd_train_pd, nd->fwd_infer_pd, nd->bwd_data_pd,
						nd->bwd_weights_pd, nd->pool_pd, nd->pool_bwd_pd };
		dnnl_memory_t mems[] = { nd->b_infer_mem, nd->bias_mem, nd->dbias_mem, nd->wu_mem,
					 nd->fc_src_grad_mem, nd->fc_src_mem, nd->fc_dst_mem, nd->fc_ddst_mem,
					 nd->scratch_mem, nd->ws };
		size_t k;
		for (k = 0; k < sizeof(prims) / sizeof(prims[0]); k++)
			if (prims[k])
				dnnl_primitive_destroy(prims[k]);
		for (k = 0; k < sizeof(pds) / sizeof(pds[0]); k++)
			if (pds[k])
				dnnl_primitive_desc_destroy(pds[k]);
		for (k = 0; k < sizeof(mems) / sizeof(mems[0]); k++)
			if (mems[k])
				dnnl_memory_destroy(mems[k]);
		tensor_release(&nd->out);
		tensor_release(&nd->dout);
		tensor_release(&nd->x);
		tensor_release(&nd->raw);
		tensor_release(&nd->dw);
		reorder_release(&nd->raw_out);
		reorder_release(&nd->raw_x);
		reorder_release(&nd->dout_raw);
		weights_release(&nd->w_train);
		weights_release(&nd->w_infer);
		weights_release(&nd->w_bwd_train);
		weights_release(&nd->w_bwd_infer);
		reorder_release(&nd->to_plain);
		reorder_release(&nd->from_plain);
		free(nd->col);
		reorder_release(&nd->delta_to_plain);
		reorder_release(&nd->delta_from_plain);
		reorder_release(&nd->delta_add_plain);
		reorder_release(&nd->dw_add);
		free(nd->b_infer);
		free(nd->dbias);
		free(nd->fc_src_grad);
	}
	free(p->nodes);
	tensor_release(&p->input);
	tensor_release(&p->input_grad);
	free(p->fold);
	free(p->scratch);
	if (p->scratch_mem)
		dnnl_memory_destroy(p->scratch_mem);
	if (p->stream)
		dnnl_stream_destroy(p->stream);
	if (p->engine)
		dnnl_engine_destroy(p->engine);
	free(p);
}

/* ---- forward ---------------------------------------------------------- */

static int exec(struct sul_dnnl *p, dnnl_primitive_t prim, int nargs, const dnnl_exec_arg_t *args, const struct pnode *nd,
		const char *what, struct sul_err *err)
{
	CHECK(dnnl_primitive_execute(prim, p->stream, nargs, args), "layer %d [%s]: %s", nd->index,
	      get_layer_string(nd->l->type), what);
	return 0;
}

static const struct tensor *src_of(const struct sul_dnnl *p, const struct pnode *nd)
{
	return nd->in ? &nd->in->out : &p->input;
}

static int conv_forward(struct sul_dnnl *p, struct pnode *nd, int train, struct sul_err *err)
{
	layer *l = nd->l;
	const struct tensor *src = src_of(p, nd);
	dnnl_exec_arg_t args[4];

	if (train) {
		if (weights_sync(p, nd, &nd->w_train, l->weights, err))
			return -1;
		args[0] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, src->mem };
		args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, nd->w_train.mem };
		args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DST, nd->raw.mem ? nd->raw.mem
							       : l->batch_normalize ? nd->x.mem : nd->out.mem };
		args[3] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, nd->bias_mem };
		if (exec(p, nd->fwd_train, l->batch_normalize ? 3 : 4, args, nd, "forward", err)
		    || (nd->raw.mem && reorder_run(p, l->batch_normalize ? &nd->raw_x : &nd->raw_out, err)))
			return -1;
		if (l->batch_normalize)
			sul_blk_bn_forward(&nd->out.shape, nd->x.data, nd->out.data, l);
		return 0;
	}
	if (nd->w_infer.gen != p->gen) {
		if (weights_sync(p, nd, &nd->w_infer, fold_weights(nd, p->fold), err))
			return -1;
	}
	args[0] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, src->mem };
	args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, nd->w_infer.mem };
	args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DST, nd->raw.mem ? nd->raw.mem : nd->out.mem };
	args[3] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, nd->b_infer_mem };
	if (exec(p, nd->fwd_infer, 4, args, nd, "inference", err))
		return -1;
	return nd->raw.mem ? reorder_run(p, &nd->raw_out, err) : 0;
}

static int fc_forward(struct sul_dnnl *p, struct pnode *nd, int train, struct sul_err *err)
{
	layer *l = nd->l;
	dnnl_exec_arg_t args[4];

	if (nd->in && make_plain_output(p, nd->in, err))
		return -1;
	args[0] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, nd->fc_src_mem };
	if (train) {
		args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, nd->w_train.mem };
		args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DST, nd->fc_dst_mem };
		args[3] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, nd->bias_mem };
		if (exec(p, nd->fwd_train, l->batch_normalize ? 3 : 4, args, nd, "forward", err))
			return -1;
		if (l->batch_normalize)
			sul_blk_bn_forward(&nd->out.shape, nd->x.data, nd->out.data, l);
		return 0;
	}
	if (nd->w_infer.gen != p->gen) {
		fold_weights(nd, nd->w_infer.data);
		nd->w_infer.gen = p->gen;
	}
	args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, nd->w_infer.mem };
	args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DST, nd->out.mem };
	args[3] = (dnnl_exec_arg_t){ DNNL_ARG_BIAS, nd->b_infer_mem };
	return exec(p, nd->fwd_infer, 4, args, nd, "inference", err);
}

static int pool_forward(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	dnnl_exec_arg_t args[3] = { { DNNL_ARG_SRC, src_of(p, nd)->mem }, { DNNL_ARG_DST, nd->out.mem },
				    { DNNL_ARG_WORKSPACE, nd->ws } };

	return exec(p, nd->pool_fwd, nd->ws ? 3 : 2, args, nd, "forward", err);
}

static void shortcut_forward(struct sul_dnnl *p, struct pnode *nd)
{
	const layer *l = nd->l;

	sul_blk_shortcut_forward(&nd->out.shape, src_of(p, nd)->data, &nd->from->out.shape, nd->from->out.data,
				 l->alpha, l->beta, l->activation, nd->out.data);
}

/* Darknet's own forward of the layer, on its planar input. */
static int darknet_forward(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	network net = *p->net;
	layer *l = nd->l;

	if (nd->in && make_plain_output(p, nd->in, err))
		return -1;
	net.input = nd->in ? nd->in->l->output : p->net->input;
	net.index = nd->index;
	if (l->delta)
		memset(l->delta, 0, sizeof(float) * (size_t)l->outputs * l->batch);
	l->forward(*l, net);
	return 0;
}

/* Nodes start..n-1 of the forward pass. */
static int forward_nodes(struct sul_dnnl *p, int start, struct sul_err *err)
{
	const int train = p->net->train;
	int i, r = 0;

	for (i = start; i < p->n && !r; i++) {
		struct pnode *nd = &p->nodes[i];
		layer *l = nd->l;
		nd->plain_valid = !is_blocked(&nd->out);
		switch (nd->kind) {
		case N_CONV: r = conv_forward(p, nd, train, err); break;
		case N_FC: r = fc_forward(p, nd, train, err); break;
		case N_MAXPOOL: case N_AVGPOOL: r = pool_forward(p, nd, err); break;
		case N_SHORTCUT: shortcut_forward(p, nd); break;
		case N_DARKNET: r = darknet_forward(p, nd, err); break;
		}
		/* Planar consumers add into it, as into every delta in Darknet. */
		if (nd->plain_writers && nd->kind != N_DARKNET)
			memset(l->delta, 0, sizeof(float) * (size_t)l->outputs * l->batch);
	}
	return r;
}

int sul_dnnl_forward(struct sul_dnnl *p, struct sul_err *err)
{
	return forward_nodes(p, 0, err);
}

int sul_dnnl_forward_from(struct sul_dnnl *p, int start, struct sul_err *err)
{
	struct pnode *nd = &p->nodes[start - 1];

	if (is_blocked(&nd->out)) {
		if (!nd->from_plain.p) {
			dnnl_memory_desc_t md;
			dnnl_dims_t dims = { nd->out.shape.n, nd->out.shape.c, nd->out.shape.h, nd->out.shape.w };
			CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw), "memory descriptor");
			if (reorder_make(p, &nd->from_plain, &md, nd->l->output, &nd->out.md, nd->out.data, 0, err))
				return -1;
		}
		if (reorder_run(p, &nd->from_plain, err))
			return -1;
	} else if (nd->out.data != nd->l->output) {
		memcpy(nd->out.data, nd->l->output, sizeof(float) * (size_t)nd->l->outputs * nd->l->batch);
	}
	nd->plain_valid = 1;
	return forward_nodes(p, start, err);
}

/* ---- backward --------------------------------------------------------- */

/* Where the gradient of nd's input goes: its producer's dout, or the
 * network input's when asked for; NULL when not wanted. */
static struct tensor *grad_target(struct sul_dnnl *p, struct pnode *nd, int **written)
{
	if (nd->in) {
		*written = &nd->in->written;
		return &nd->in->dout;
	}
	*written = &p->input_written;
	return p->input_grad.mem ? &p->input_grad : NULL;
}

/* Runs prim with its DNNL_ARG_DIFF_SRC (args[k]) the producer's gradient:
 * straight into it when nothing was written there yet, else through the
 * scratch and added. */
static int exec_into_grad(struct sul_dnnl *p, struct pnode *nd, dnnl_primitive_t prim, dnnl_exec_arg_t *args, int nargs,
			  int k, const char *what, struct sul_err *err)
{
	int *written;
	struct tensor *t = grad_target(p, nd, &written);

	if (!*written) {
		args[k] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_SRC, t->mem };
		if (exec(p, prim, nargs, args, nd, what, err))
			return -1;
		*written = 1;
		return 0;
	}
	if (!nd->scratch_mem && memory_over(p, &nd->scratch_mem, &t->md, p->scratch, err))
		return -1;
	args[k] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_SRC, nd->scratch_mem };
	if (exec(p, prim, nargs, args, nd, what, err))
		return -1;
	sul_blk_add(t->data, p->scratch, sul_blk_floats(&t->shape));
	return 0;
}

/* l->delta := dout (planar), the reorder made on first use. */
static int dout_to_plain(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	if (!nd->delta_to_plain.p) {
		dnnl_memory_desc_t md;
		dnnl_dims_t dims = { nd->out.shape.n, nd->out.shape.c, nd->out.shape.h, nd->out.shape.w };
		CHECK(dnnl_memory_desc_init_by_tag(&md, 4, dims, dnnl_f32, dnnl_nchw), "memory descriptor");
		if (reorder_make(p, &nd->delta_to_plain, &nd->dout.md, nd->dout.data, &md, nd->l->delta, 0, err))
			return -1;
	}
	return reorder_run(p, &nd->delta_to_plain, err);
}

/* The network input's gradient from the first layer's dout (its
 * activation's derivative already applied) and its planar weights w, as
 * Darknet's backward_convolutional_layer computes it: per image, col =
 * W^T dY (GEMM), then col2im adds col into dX. */
static int first_layer_input_grad(struct sul_dnnl *p, struct pnode *nd, float *w, struct sul_err *err)
{
	layer *l = nd->l;
	const int kk = l->size * l->size * l->c, nout = l->out_h * l->out_w;
	const size_t in_one = (size_t)l->c * l->h * l->w, out_one = (size_t)l->n * nout;
	int *written, b;
	struct tensor *t = grad_target(p, nd, &written);

	if (!t)
		return 0;
	if (!nd->col && !(nd->col = alloc_floats((size_t)kk * nout)))
		return sul_err_set(err, SUL_ERR_FAIL, "out of memory");
	if (dout_to_plain(p, nd, err))
		return -1;
	if (!*written)
		memset(t->data, 0, sizeof(float) * in_one * l->batch);
	for (b = 0; b < l->batch; b++) {
		gemm(1, 0, kk, nout, l->n, 1, w, kk, l->delta + out_one * b, nout, 0, nd->col, nout);
		col2im_cpu(nd->col, l->c, l->h, l->w, l->size, l->stride, l->pad, t->data + in_one * b);
	}
	*written = 1;
	return 0;
}

static int conv_backward(struct sul_dnnl *p, struct pnode *nd, int train, struct sul_err *err)
{
	layer *l = nd->l;
	const struct tensor *src = src_of(p, nd);
	const struct weights *w;
	dnnl_exec_arg_t args[4];
	int *written;

	if (train) {
		int o;
		if (l->batch_normalize)
			sul_blk_bn_backward(&nd->out.shape, nd->x.data, nd->out.data, nd->dout.data, l);
		else
			sul_blk_act_backward(&nd->out.shape, nd->out.data, nd->dout.data, l->activation);
		if (nd->raw.mem && reorder_run(p, &nd->dout_raw, err))
			return -1;
		args[0] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, src->mem };
		args[1] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_DST, nd->raw.mem ? nd->raw.mem : nd->dout.mem };
		args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_WEIGHTS, nd->dw.mem };
		args[3] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_BIAS, nd->dbias_mem };
		if (exec(p, nd->bwd_weights, l->batch_normalize ? 3 : 4, args, nd, "backward weights", err)
		    || reorder_run(p, &nd->dw_add, err))
			return -1;
		sul_blk_add(l->weight_updates, p->fold, layer_weight_count(l));
		if (!l->batch_normalize)
			for (o = 0; o < l->n; o++)
				l->bias_updates[o] += nd->dbias[o];
		if (!grad_target(p, nd, &written))
			return 0;
		if (weights_sync(p, nd, &nd->w_bwd_train, l->weights, err))
			return -1;
		w = pick(&nd->w_bwd_train, &nd->w_train);
	} else {
		/* Batchnorm is in the folded weights: its inference Jacobian too. */
		sul_blk_act_backward(&nd->out.shape, nd->out.data, nd->dout.data, l->activation);
		if (!grad_target(p, nd, &written))
			return 0;
		if (nd->raw.mem && reorder_run(p, &nd->dout_raw, err))
			return -1;
		if (nd->w_bwd_infer.mem && nd->w_bwd_infer.gen != p->gen
		    && weights_sync(p, nd, &nd->w_bwd_infer, fold_weights(nd, p->fold), err))
			return -1;
		w = pick(&nd->w_bwd_infer, &nd->w_infer);
	}
	args[0] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_DST, nd->raw.mem ? nd->raw.mem : nd->dout.mem };
	args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, w->mem };
	if (!nd->in && l->groups == 1)
		return first_layer_input_grad(p, nd, train ? l->weights : fold_weights(nd, p->fold), err);
	return exec_into_grad(p, nd, nd->bwd_data, args, 3, 2, "backward data", err);
}

/* The producer's planar delta gets something added: where it lives. */
static void mark_plain_write(struct pnode *q)
{
	if (is_blocked(&q->dout))
		q->pending_plain = 1;
	else
		q->written = 1;
}

static int fc_backward(struct sul_dnnl *p, struct pnode *nd, int train, struct sul_err *err)
{
	layer *l = nd->l;
	dnnl_exec_arg_t args[4];
	const size_t nsrc = (size_t)l->batch * l->inputs;

	if (train && l->batch_normalize)
		sul_blk_bn_backward(&nd->out.shape, nd->x.data, nd->out.data, nd->dout.data, l);
	else
		sul_blk_act_backward(&nd->out.shape, nd->out.data, nd->dout.data, l->activation);
	if (train) {
		int o;
		args[0] = (dnnl_exec_arg_t){ DNNL_ARG_SRC, nd->fc_src_mem };
		args[1] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_DST, nd->fc_ddst_mem };
		args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_WEIGHTS, nd->dw.mem };
		args[3] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_BIAS, nd->dbias_mem };
		if (exec(p, nd->bwd_weights, l->batch_normalize ? 3 : 4, args, nd, "backward weights", err))
			return -1;
		sul_blk_add(l->weight_updates, nd->dw.data, layer_weight_count(l));
		if (!l->batch_normalize)
			for (o = 0; o < l->outputs; o++)
				l->bias_updates[o] += nd->dbias[o];
	}
	if (!nd->in && !p->input_grad.mem)
		return 0;
	args[0] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_DST, nd->fc_ddst_mem };
	args[1] = (dnnl_exec_arg_t){ DNNL_ARG_WEIGHTS, train ? nd->w_train.mem : nd->w_infer.mem };
	args[2] = (dnnl_exec_arg_t){ DNNL_ARG_DIFF_SRC, nd->fc_src_grad_mem };
	if (exec(p, nd->bwd_data, 3, args, nd, "backward data", err))
		return -1;
	if (nd->in) {
		sul_blk_add(nd->in->l->delta, nd->fc_src_grad, nsrc);
		mark_plain_write(nd->in);
	} else {
		sul_blk_add(p->input_grad.data, nd->fc_src_grad, nsrc);
	}
	return 0;
}

static int pool_backward(struct sul_dnnl *p, struct pnode *nd, struct sul_err *err)
{
	dnnl_exec_arg_t args[3] = { { DNNL_ARG_DIFF_DST, nd->dout.mem }, { DNNL_ARG_WORKSPACE, nd->ws } };
	int *written;

	if (!grad_target(p, nd, &written))
		return 0;
	return exec_into_grad(p, nd, nd->pool_bwd, args, nd->ws ? 3 : 2, nd->ws ? 2 : 1, "backward", err);
}

static void shortcut_backward(struct sul_dnnl *p, struct pnode *nd)
{
	const layer *l = nd->l;
	int *prev_written;
	struct tensor *prev = grad_target(p, nd, &prev_written);
	struct pnode *from = nd->from;
	const int prev_set = prev ? *prev_written : 0;

	sul_blk_shortcut_backward(&nd->out.shape, nd->out.data, nd->dout.data, &from->out.shape, l->alpha, l->beta,
				  l->activation, prev ? prev->data : NULL, prev_set, from->dout.data,
				  from->written || from == nd->in);
	if (prev)
		*prev_written = 1;
	from->written = 1;
}

static void darknet_backward(struct sul_dnnl *p, struct pnode *nd)
{
	network net = *p->net;
	layer *l = nd->l;

	net.input = nd->in ? nd->in->l->output : p->net->input;
	net.delta = nd->in ? nd->in->l->delta : p->input_grad.data;
	net.index = nd->index;
	l->backward(*l, net);
	if (nd->in)
		mark_plain_write(nd->in);
}

/* Guided backpropagation's rule at a rectifier: only positive gradients
 * pass back through it (on top of the activation's own derivative). */
static void guide(struct pnode *nd)
{
	layer *l = nd->l;
	float *d = nd->kind == N_DARKNET ? l->delta : nd->dout.data;
	const size_t n = nd->kind == N_DARKNET ? (size_t)l->outputs * l->batch : sul_blk_floats(&nd->dout.shape);
	size_t i;

	if (!sul_dn_rectified(l))
		return;
	for (i = 0; i < n; i++)
		d[i] = d[i] > 0 ? d[i] : 0;
}

int sul_dnnl_backward(struct sul_dnnl *p, int stop, float *input_delta, int guided, struct sul_err *err)
{
	const int train = p->net->train;
	int i, r = 0;

	if (p->input_grad.mem && (!input_delta || p->input_grad.data != input_delta))
		tensor_release(&p->input_grad);
	if (input_delta && stop < 0) {
		if (!p->input_grad.mem && tensor_init(p, &p->input_grad, p->input.shape, input_delta, err))
			return -1;
		memset(input_delta, 0, sizeof(float) * sul_blk_floats(&p->input.shape));
		p->input_written = 0;
	}
	for (i = 0; i < p->n; i++) {
		p->nodes[i].written = 0;
		p->nodes[i].pending_plain = 0;
	}
	p->nodes[p->n - 1].written = 1;  /* by the loss, or the caller's seed */
	for (i = p->n - 1; i > stop && !r; i--) {
		struct pnode *nd = &p->nodes[i];
		if (nd->l->stopbackward)
			break;
		if (take_plain_delta(p, nd, err))
			return -1;
		if (!nd->written) {  /* nothing above reads it */
			memset(nd->dout.data, 0, sizeof(float) * sul_blk_floats(&nd->dout.shape));
			nd->written = 1;
		}
		if (guided)
			guide(nd);
		switch (nd->kind) {
		case N_CONV: r = conv_backward(p, nd, train, err); break;
		case N_FC: r = fc_backward(p, nd, train, err); break;
		case N_MAXPOOL: case N_AVGPOOL: r = pool_backward(p, nd, err); break;
		case N_SHORTCUT: shortcut_backward(p, nd); break;
		case N_DARKNET: darknet_backward(p, nd); break;
		}
	}
	return r;
}

int sul_dnnl_pull(struct sul_dnnl *p, int i, int output, int delta, struct sul_err *err)
{
	struct pnode *nd = &p->nodes[i];

	if (output && make_plain_output(p, nd, err))
		return -1;
	if (!delta || !is_blocked(&nd->dout))
		return 0;
	if (take_plain_delta(p, nd, err))
		return -1;
	return dout_to_plain(p, nd, err);
}

void sul_dnnl_params_changed(struct sul_dnnl *p)
{
	p->gen++;
}

const char *sul_dnnl_isa(void)
{
	switch (dnnl_get_effective_cpu_isa()) {
	case dnnl_cpu_isa_sse41: return "sse4.1";
	case dnnl_cpu_isa_avx: return "avx";
	case dnnl_cpu_isa_avx2: return "avx2";
	case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
	case dnnl_cpu_isa_avx512_core: return "avx512_core";
	case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
	case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
	case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
	default: return "other";
	}
}
