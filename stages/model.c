/*
 * model.c - model folders: find, open for inference, link on; see model.h.
 */
#include "model.h"

#include "../engine/fsutil.h"
#include "../engine/strbuf.h"
#include "netcfg.h"
#include "tsv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const model_files[] = { "model.cfg", "best.weights", "last.weights", "classes.tsv" };

char *sul_model_find(const struct sul_stage_ctx *ctx, int pick, struct sul_err *err)
{
	size_t i, j;

	for (i = 0; i < ctx->ninputs; i++) {
		/* train writes the model at the top of its output, evaluate under
		 * model/, rank under top/<N>/. */
		char *cands[2];
		cands[0] = pick > 0 ? sul_xasprintf("%s/top/%d", ctx->inputs[i].dir, pick) : sul_xstrdup(ctx->inputs[i].dir);
		cands[1] = pick > 0 ? NULL : sul_xasprintf("%s/model", ctx->inputs[i].dir);
		for (j = 0; j < 2; j++) {
			char *cfg = cands[j] ? sul_xasprintf("%s/model.cfg", cands[j]) : NULL;
			int found = cfg && sul_path_exists(cfg);
			free(cfg);
			if (found) {
				free(cands[1 - j]);
				return cands[j];
			}
		}
		free(cands[0]);
		free(cands[1]);
	}
	if (pick > 0)
		sul_err_set(err, SUL_ERR_INPUT, "no input holds top/%d/model.cfg (expected a rank stage with at least "
			    "%d models)", pick, pick);
	else
		sul_err_set(err, SUL_ERR_INPUT, "no input holds model.cfg (expected a train, evaluate or rank stage)");
	return NULL;
}

int sul_model_write_cfg(const char *cfg_in, const char *cfg_out, int batch, int size, const char *header,
			int *classes, struct sul_err *err)
{
	struct sul_netcfg cfg;
	char num[32];
	int r;

	if (sul_netcfg_read(cfg_in, &cfg, err))
		return -1;
	snprintf(num, sizeof(num), "%d", batch);
	sul_netcfg_set(&cfg, 0, "batch", num);
	sul_netcfg_set(&cfg, 0, "subdivisions", "1");
	if (size > 0) {
		snprintf(num, sizeof(num), "%d", size);
		sul_netcfg_set(&cfg, 0, "width", num);
		sul_netcfg_set(&cfg, 0, "height", num);
	}
	sul_netcfg_set(&cfg, 0, "channels", "3");
	/* The stage schedules the learning rate itself (dn.h train_step). */
	sul_netcfg_unset(&cfg, 0, "burn_in");
	/* Now with the sizes Darknet will build it for. */
	if (sul_netcfg_check(&cfg, err)) {
		sul_netcfg_release(&cfg);
		return -1;
	}
	if (classes)
		*classes = sul_netcfg_classes(&cfg);
	r = sul_netcfg_write(&cfg, header, cfg_out, err);
	sul_netcfg_release(&cfg);
	return r;
}

static int read_classes(const char *dir, struct sul_model *m, struct sul_err *err)
{
	char *path = sul_xasprintf("%s/classes.tsv", dir);
	struct sul_tsv t;
	size_t r;
	int ret = -1;

	memset(&t, 0, sizeof(t));
	if (sul_tsv_read(path, &t, err))
		goto out;
	m->classes = (int)t.nrows - 1;
	m->class_names = sul_xcalloc(t.nrows, sizeof(char *));
	for (r = 1; r < t.nrows; r++)
		m->class_names[r - 1] = sul_xstrdup(sul_tsv_at(&t, r, t.ncols - 1));
	ret = 0;
out:
	sul_tsv_release(&t);
	free(path);
	return ret;
}

int sul_model_device(const struct sul_stage_ctx *ctx, struct sul_model_device *dev, struct sul_err *err)
{
	const char *env = getenv("SULCUS_GPU");
	long v = sul_ctx_int(ctx, "gpu");
	char *end;

	if (v < 0 && env && *env) {
		errno = 0;
		v = strtol(env, &end, 10);
		if (errno || *end || v < -1 || v > 64)
			return sul_err_set(err, SUL_ERR_INPUT, "SULCUS_GPU='%s': expected a CUDA device number (0, 1, ...) "
					   "or -1 for the CPU", env);
	}
	dev->gpu = (int)v;
	dev->backend = strcmp(sul_ctx_str(ctx, "backend"), "darknet") ? SUL_DN_ONEDNN : SUL_DN_DARKNET;
	dev->threads = (int)sul_ctx_int(ctx, "threads");
	return sul_ctx_metric(ctx, "gpu", -1, (double)v, err);
}

int sul_model_note_backend(const struct sul_stage_ctx *ctx, const struct sul_dn_info *info, struct sul_err *err)
{
	fprintf(stderr, "%s: computed by %s\n", ctx->id, info->backend);
	return sul_ctx_metric(ctx, "onednn", -1, !strncmp(info->backend, "onednn", 6), err);
}

int sul_model_open(const char *dir, const char *weights, int batch, const struct sul_model_device *dev,
		   const char *scratch, struct sul_model *m, struct sul_err *err)
{
	char *cfg_in = sul_xasprintf("%s/model.cfg", dir), *cfg = sul_xasprintf("%s/.infer.cfg", scratch);
	char *wpath = sul_xasprintf("%s/%s.weights", dir, weights);
	struct sul_dn_open o;
	int ret = -1;

	memset(m, 0, sizeof(*m));
	if (read_classes(dir, m, err))
		goto out;
	if (sul_model_write_cfg(cfg_in, cfg, batch, 0, "inference copy", NULL, err))
		goto out;
	m->api = sul_dn_load(dev->gpu >= 0, err);
	if (!m->api)
		goto out;
	memset(&o, 0, sizeof(o));
	o.cfg = cfg;
	o.weights = wpath;
	o.batch = batch;
	o.threads = dev->threads;
	o.gpu = dev->gpu;
	o.backend = dev->backend;
	if (m->api->open(&o, &m->net, err))
		goto out;
	m->api->info(m->net, &m->info);
	if (m->info.classes != m->classes) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: the network has %d outputs, classes.tsv lists %d", dir,
			    m->info.classes, m->classes);
		goto out;
	}
	ret = 0;
out:
	unlink(cfg);
	free(cfg_in);
	free(cfg);
	free(wpath);
	if (ret)
		sul_model_close(m);
	return ret;
}

void sul_model_close(struct sul_model *m)
{
	int i;

	if (m->net)
		m->api->close(m->net);
	for (i = 0; i < m->classes && m->class_names; i++)
		free(m->class_names[i]);
	free(m->class_names);
	memset(m, 0, sizeof(*m));
}

int sul_model_link(const char *src, const char *dst, struct sul_err *err)
{
	size_t i;

	if (sul_mkdirs(dst, err))
		return -1;
	for (i = 0; i < sizeof(model_files) / sizeof(model_files[0]); i++) {
		char *s = sul_xasprintf("%s/%s", src, model_files[i]), *d = sul_xasprintf("%s/%s", dst, model_files[i]);
		int r = 0;
		/* Cache entries never change, so sharing the inode is safe and saves
		 * copying hundreds of megabytes of VGG weights. */
		if (sul_path_exists(s) && link(s, d)) {
			if (errno == EXDEV || errno == EPERM)
				r = sul_copy_file(s, d, err);
			else
				r = sul_err_sys(err, "link %s -> %s", s, d);
		}
		free(s);
		free(d);
		if (r)
			return -1;
	}
	return 0;
}
