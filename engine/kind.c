/* kind.c - accessors that stage kinds use inside run() (see kind.h). */
#include "kind.h"
#include "metrics.h"
#include "fsutil.h"
#include "strbuf.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const struct sul_value *sul_ctx_param(const struct sul_stage_ctx *ctx, const char *name)
{
	long i = sul_params_find(ctx->params, ctx->nparams, name);
	assert(i >= 0 && "parameter not in the kind's schema");
	return &ctx->params[i].v;
}

long long sul_ctx_int(const struct sul_stage_ctx *ctx, const char *name)
{
	const struct sul_value *v = sul_ctx_param(ctx, name);
	assert(v->type == SUL_T_INT || v->type == SUL_T_BOOL);
	return v->i;
}

double sul_ctx_float(const struct sul_stage_ctx *ctx, const char *name)
{
	const struct sul_value *v = sul_ctx_param(ctx, name);
	assert(v->type == SUL_T_FLOAT || v->type == SUL_T_INT);
	return v->type == SUL_T_FLOAT ? v->f : (double)v->i;
}

const char *sul_ctx_str(const struct sul_stage_ctx *ctx, const char *name)
{
	const struct sul_value *v = sul_ctx_param(ctx, name);
	assert(v->type == SUL_T_STRING || v->type == SUL_T_PATH);
	return v->s;
}

char *sul_ctx_path(const struct sul_stage_ctx *ctx, const char *name)
{
	return sul_path_resolve(ctx->workdir, sul_ctx_str(ctx, name));
}

const struct sul_value *sul_ctx_key(const struct sul_stage_ctx *ctx, const char *name)
{
	long i = sul_params_find(ctx->keys, ctx->nkeys, name);
	return i < 0 ? NULL : &ctx->keys[i].v;
}

void sul_format_eta(double s, char buf[32])
{
	if (!(s >= 0) || s > 1e8)
		s = 0;
	if (s >= 3600)
		snprintf(buf, 32, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	else
		snprintf(buf, 32, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

const char *sul_ctx_input(const struct sul_stage_ctx *ctx, const char *id)
{
	size_t i;

	for (i = 0; i < ctx->ninputs; i++)
		if (!strcmp(ctx->inputs[i].id, id))
			return ctx->inputs[i].dir;
	return NULL;
}

static int append_metric(const struct sul_stage_ctx *ctx, const char *file, const char *name, long step, double value,
			 struct sul_err *err)
{
	struct sul_buf line = SUL_BUF_INIT;
	char *path;
	int fd, ret = -1;

	/* A NaN or infinite result is a failure to say, not a number to keep. */
	if (!isfinite(value))
		return sul_err_set(err, SUL_ERR_FAIL, "metric '%s'%s: the value is %s, expected a finite number", name,
				   step >= 0 ? " (this step)" : "", isnan(value) ? "NaN" : "infinite");
	path = sul_xasprintf("%s/%s", ctx->out, file);
	sul_buf_adds(&line, name);
	if (step >= 0)
		sul_buf_addf(&line, "\t%ld\t", step);
	else
		sul_buf_adds(&line, "\t\t");
	sul_format_double(value, &line);
	sul_buf_addc(&line, '\n');
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0 || write(fd, line.buf, line.len) != (ssize_t)line.len) {
		sul_err_sys(err, "cannot write '%s'", path);
		goto out;
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	sul_buf_release(&line);
	return ret;
}

int sul_ctx_metric(const struct sul_stage_ctx *ctx, const char *name, long step, double value,
		   struct sul_err *err)
{
	return append_metric(ctx, SUL_METRICS_FILE, name, step, value, err);
}

int sul_ctx_timing(const struct sul_stage_ctx *ctx, const char *name, long step, double value,
		   struct sul_err *err)
{
	return append_metric(ctx, SUL_TIMINGS_FILE, name, step, value, err);
}
