/*
 * dn.h - the network operations that the Darknet stage kinds (train,
 * evaluate, cam) need, behind a table of function pointers.
 *
 * The table lives in a shared library of ours, sulcus-darknet.so (built from
 * stages/dn/), which links libdarknet.  The sulcus binary never links
 * Darknet: loading it pulls in ~250 libraries (OpenCV, Qt) and starts
 * threads, which `sulcus plan` must not pay and a forking parent must not
 * have.  A kind calls sul_dn_load() inside its stage process; a crash,
 * exit() or assert inside Darknet then fails that stage only.
 *
 * Everything here is plain C data: images are planar CHW floats in [0, 1]
 * (Darknet's layout), probabilities are per image and class.  The same
 * table is built against Darknet's CPU build and, with GPU=1, its CUDA
 * build (sulcus-darknet-gpu.so); callers do not see the difference.
 * Errors follow err.h; the library never prints except Darknet's own
 * messages on stderr, which end up in the stage's log.
 */
#ifndef SUL_DN_H
#define SUL_DN_H

#include <stddef.h>

#include "../engine/err.h"

/* Bumped whenever struct sul_dn_api or the structs below change. */
#define SUL_DN_ABI 9

struct sul_dn_net;

enum { SUL_DN_LOGIT = 0, SUL_DN_PROB = 1 };
/* Or'ed into gradients()'s score: guided backpropagation (Springenberg et
 * al. 2015), only positive gradients passing back through each ReLU or
 * leaky ReLU.  Not a gradient: for guided backpropagation's maps only. */
enum { SUL_DN_GUIDED = 4 };

/* What computes the layers on the CPU.  oneDNN runs the network's hot
 * layers on oneDNN's primitives (stages/dn/onednn.h); Darknet runs
 * Darknet's own layer functions (with our corrections and faster GEMM):
 * the reference the oneDNN path is tested against.  A network with a
 * layer the oneDNN backend does not run falls back to Darknet's (info()
 * says so).  On a CUDA device it is always Darknet's. */
enum { SUL_DN_ONEDNN = 0, SUL_DN_DARKNET = 1 };

struct sul_dn_open {
	const char *cfg;        /* a Darknet network file */
	const char *weights;    /* NULL: fresh initialization from seed */
	int load_layers;        /* with weights: load the first N layers only; 0: all */
	int batch;              /* images per forward/backward; the cfg's [net] batch must equal it */
	unsigned long seed;     /* Darknet's rand(): initialization and dropout masks */
	int threads;            /* OpenBLAS and our loops; 0: all cores */
	int gpu;                /* -1: CPU; >= 0: that CUDA device (GPU build only) */
	float bn_momentum;      /* training: weight of a batch in batchnorm's rolling statistics
				   (after the first 1/momentum steps, which are averaged); 0: Darknet's 0.01 */
	int backend;            /* SUL_DN_ONEDNN (the default) or SUL_DN_DARKNET */
};

/* param()'s arrays of a convolutional or connected layer. */
enum { SUL_DN_WEIGHTS, SUL_DN_BIASES, SUL_DN_WEIGHT_GRADS, SUL_DN_BIAS_GRADS, SUL_DN_SCALE_GRADS };

/* One layer, as Darknet parsed it. */
struct sul_dn_layer {
	char type[16];          /* Darknet's name: "convolutional", "avgpool", "connected", ... */
	int w, h, c;            /* input */
	int out_w, out_h, out_c;
	int size, stride, filters;
	int batch_normalize;
	long params;            /* learnable numbers (weights + biases + scales) */
	long weights;           /* of which weights (param()'s SUL_DN_WEIGHTS) */
};

struct sul_dn_info {
	int w, h, c;            /* network input */
	int classes;            /* outputs of the last layer */
	int batch;
	int nlayers;
	int softmax_last;       /* the last layer is [softmax] */
	/* CAM needs the head "spatial layer -> [avgpool] -> [connected] -> [softmax]":
	 * the index of that spatial layer, or -1 when the head is something else. */
	int gap_layer;
	/* The last feature layer (convolutional, shortcut, route) with spatial
	 * maps before the global pool or the first fully connected layer:
	 * Grad-CAM's default (a max pool after it is skipped). */
	int last_spatial;
	long params;
	size_t weights_bytes;   /* size of a complete .weights file for this cfg */
	char backend[160];      /* "onednn (avx2)", "darknet", "darknet (<why not oneDNN>)", "darknet (cuda)" */
	double flops;           /* floating-point operations of one image's forward pass (2 per multiply-add,
				   convolutions and connected layers) */
};

struct sul_dn_api {
	int abi;                /* SUL_DN_ABI of the library */
	const char *build;      /* "cpu (oneDNN, OpenBLAS)", "cuda" */

	/* CUDA devices this library can use: 0 in the CPU build, or when the
	 * machine has no GPU or driver (why, if not NULL, gets the reason). */
	int (*devices)(char *why, size_t n);

	/* Parses cfg (after checking what Darknet would exit on), initializes
	 * or loads weights (checking the file's size against the cfg first). */
	int (*open)(const struct sul_dn_open *o, struct sul_dn_net **out, struct sul_err *err);
	void (*close)(struct sul_dn_net *net);
	void (*info)(const struct sul_dn_net *net, struct sul_dn_info *info);
	void (*layer)(const struct sul_dn_net *net, int i, struct sul_dn_layer *out);

	/* One optimization step on batch images x with labels: forward, backward
	 * scaled per image by weight (NULL: 1), update with learning rate lr.
	 * probs (batch x classes) receives the training-mode outputs.  Returns 0
	 * or -1 (err: a non-finite loss, say). */
	int (*train_step)(struct sul_dn_net *net, const float *x, const int *labels, const float *weight,
			  float lr, float *probs, struct sul_err *err);
	/*
	 * Precise batchnorm statistics: bn_add runs one full batch forward in
	 * training mode (no backward, no update) and sums each batchnorm
	 * layer's batch mean and variance (first = 1 starts new sums);
	 * bn_finish makes their averages the rolling statistics that inference
	 * uses.  Rolling averages taken during training lag behind the weights.
	 */
	int (*bn_add)(struct sul_dn_net *net, const float *x, int first, struct sul_err *err);
	void (*bn_finish)(struct sul_dn_net *net);
	/* Inference (batchnorm with rolling statistics, no dropout) on n <= batch
	 * images; probs gets n x classes. */
	int (*predict)(struct sul_dn_net *net, const float *x, int n, float *probs, struct sul_err *err);
	/*
	 * Gradients for heatmaps, on n <= batch images, in inference mode:
	 * forward, then Darknet's own backward pass seeded at the softmax layer
	 * with the gradient of the target score (score = SUL_DN_LOGIT: the
	 * pre-softmax class score, one-hot; SUL_DN_PROB: the softmax
	 * probability), run down to layer `layer` only.  acts gets that
	 * layer's output A and grads d(score)/dA (each n x out_c x out_h x
	 * out_w, Darknet's layout); layer = -1 means the input image.  probs
	 * (n x classes) may be NULL.  Batchnorm layers in between use the
	 * inference Jacobian and dropout is the identity (stages/dn/layers.c).
	 */
	int (*gradients)(struct sul_dn_net *net, const float *x, int n, int layer, const int *target, int score,
			 float *acts, float *grads, float *probs, struct sul_err *err);
	/* The class scores before softmax (n x classes), inference mode. */
	int (*logits)(struct sul_dn_net *net, const float *x, int n, float *out, struct sul_err *err);
	/*
	 * The rest of the network on altered activations, for methods that
	 * ablate or replace a layer's output (Ablation-CAM): after predict,
	 * logits or gradients on n images, replaces layer `layer`'s output
	 * with acts (n x out_c x out_h x out_w) and runs the layers above it
	 * in inference mode; out gets the class scores before softmax (n x
	 * classes).  The layers below keep the outputs of that pass, for the
	 * shortcuts and routes that read them, so it may be called again with
	 * other acts at the same layer or one below.  layer: 0 to the layer
	 * two below the softmax.
	 */
	int (*forward_from)(struct sul_dn_net *net, int n, int layer, const float *acts, float *out,
			    struct sul_err *err);
	/* CAM's weights: the [connected] layer after the global pool, classes x
	 * channels of info.gap_layer.  -1 (err) when the head is not a GAP head. */
	int (*cam_weights)(const struct sul_dn_net *net, float *w, struct sul_err *err);
	/* Replaces the learnable parameters of layers from..last with a fresh
	 * seeded initialization, keeping batchnorm statistics: the randomized
	 * model of Adebayo et al.'s sanity check (from = 0), or a step of its
	 * cascading form (from the top layer down).  Each layer's draw depends
	 * only on seed and its index. */
	void (*randomize)(struct sul_dn_net *net, unsigned long seed, int from);

	/* Writes the weights in Darknet's format (atomically, via a temporary file). */
	int (*save)(struct sul_dn_net *net, const char *path, struct sul_err *err);
	/* A digest of all learnable parameters and batchnorm statistics (hex
	 * SHA-256), for determinism checks. */
	void (*digest)(const struct sul_dn_net *net, char hex[65]);

	/*
	 * For gradient checks.  loss_gradients runs train_step's forward and
	 * backward (training mode) without the update, after zeroing every
	 * layer's accumulated updates, so that they then hold the gradients
	 * of this batch alone, in Darknet's sign: minus the gradient of the
	 * summed cross-entropy.  It discards SGD's momentum.  param copies n
	 * floats of layer i's array `which` to buf, or with write = 1 from
	 * buf (weights and biases only: for finite differences).
	 */
	int (*loss_gradients)(struct sul_dn_net *net, const float *x, const int *labels, const float *weight,
			      float *probs, struct sul_err *err);
	int (*param)(struct sul_dn_net *net, int layer, int which, float *buf, size_t n, int write,
		     struct sul_err *err);

	/* Raw GEMM entry points, so tests can compare ours with Darknet's:
	 * C = alpha op(A) op(B) + beta C, row-major, Darknet's gemm() signature. */
	void (*gemm_ours)(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda, float *b,
			  int ldb, float beta, float *c, int ldc);
	void (*gemm_darknet)(int ta, int tb, int m, int n, int k, float alpha, float *a, int lda,
			     float *b, int ldb, float beta, float *c, int ldc);
};

/*
 * Loads the library once per process and returns its table.  It is looked
 * for in $SULCUS_DARKNET (a file), else beside the running executable; gpu
 * asks for the CUDA build.  Fails with a message naming what was tried.
 */
const struct sul_dn_api *sul_dn_load(int gpu, struct sul_err *err);

#endif
