/*
 * model.h - a trained model as stages hand it on: a folder holding
 * model.cfg (the Darknet cfg the weights belong to), best.weights and
 * last.weights (Darknet's format) and classes.tsv (index, name).  `train`
 * writes one; `evaluate` and `rank` pass it along (hard links); `cam` and
 * `evaluate` open one for inference.  Not a kind.
 */
#ifndef SUL_MODEL_H
#define SUL_MODEL_H

#include "../engine/err.h"
#include "../engine/kind.h"
#include "dn.h"

struct sul_model {
	const struct sul_dn_api *api;
	struct sul_dn_net *net;
	struct sul_dn_info info;
	char **class_names;
	int classes;
};

/* The model folder among ctx's inputs: the first input that holds
 * model.cfg (directly, or under rank's top/<pick>/ when pick > 0). */
char *sul_model_find(const struct sul_stage_ctx *ctx, int pick, struct sul_err *err);

/* The schema entries of what sul_model_device() reads (threads, backend,
 * gpu), for the kinds that run a network: one place for their ranges and
 * docs. */
#define SUL_MODEL_DEVICE_PARAMS                                                                          \
	{ "threads", SUL_T_INT, "0", 0, 1024, NULL, "CPU threads; 0: all cores" },                       \
	{ "backend", SUL_T_STRING, "onednn", 0, 0, "onednn|darknet",                                     \
	  "CPU kernels: oneDNN's, or Darknet's own layers (the slower reference); a GPU runs Darknet's" }, \
	{ "gpu", SUL_T_INT, "-1", -1, 64, NULL,                                                          \
	  "CUDA device (the CUDA build: make GPU=1); -1: the CPU, or $SULCUS_GPU when set" }

/* Where a Darknet stage computes, from its parameters: */
struct sul_model_device {
	int gpu;      /* `gpu` when >= 0, else $SULCUS_GPU when set, else -1 (the CPU) */
	int backend;  /* `backend`: SUL_DN_ONEDNN or SUL_DN_DARKNET (dn.h) */
	int threads;  /* `threads`; 0: all cores */
};

/* Reads them, recording the device as the stage's metric `gpu`.  Fails on
 * a SULCUS_GPU that is not a device number. */
int sul_model_device(const struct sul_stage_ctx *ctx, struct sul_model_device *dev, struct sul_err *err);

/* After open: says on stderr what computes the network (info.backend) and
 * records metric `onednn` (1: the oneDNN backend runs it, 0: Darknet's
 * layers), so that results can be told apart in the database. */
int sul_model_note_backend(const struct sul_stage_ctx *ctx, const struct sul_dn_info *info, struct sul_err *err);

/* Opens dir's model for inference with `batch` images per pass: the cfg is
 * rewritten to that batch under scratch (a folder the caller owns). */
int sul_model_open(const char *dir, const char *weights, int batch, const struct sul_model_device *dev,
		   const char *scratch, struct sul_model *m, struct sul_err *err);
void sul_model_close(struct sul_model *m);

/* Links (or copies, across file systems) the model files of src into dst. */
int sul_model_link(const char *src, const char *dst, struct sul_err *err);

/* Rewrites cfg_in's [net] for `batch` images of w x h (0: keep the cfg's)
 * and writes it to cfg_out; *classes gets the network's class count. */
int sul_model_write_cfg(const char *cfg_in, const char *cfg_out, int batch, int size, const char *header,
			int *classes, struct sul_err *err);

#endif
