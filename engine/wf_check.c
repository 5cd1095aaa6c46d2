/*
 * wf_check.c - validating a stage against its kind: parameters typed,
 * range-checked and defaulted (schema.h), the declared input count, and
 * the kind's own check(), with each message located (see wf_private.h).
 */
#include "wf_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


int wf_fail_stage(struct sul_err *err, const struct sul_stage *st, const char *fmt, ...)
{
	char msg[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: stage '%s': %s", st->file, st->line, st->id, msg);
}

static const char *where(const struct sul_param *p, const struct sul_stage *st, char *buf, size_t len)
{
	if (p->file)
		snprintf(buf, len, "%s:%d", p->file, p->line);
	else
		snprintf(buf, len, "%s:%d: --set", st->file, st->line);
	return buf;
}

/* Whether word is one of the '|'-separated names of list. */
static int one_of(const char *word, const char *list)
{
	size_t n = strlen(word);

	for (;;) {
		const char *bar = strchr(list, '|');
		size_t len = bar ? (size_t)(bar - list) : strlen(list);
		if (len == n && !strncmp(list, word, n))
			return 1;
		if (!bar)
			return 0;
		list = bar + 1;
	}
}

/*
 * What the kind declares about its inputs, then its own check() on what
 * run() will get.  Kinds see a sul_stage_ctx, never the workflow: the
 * location in front of their messages is added here.
 */
int wf_kind_check(const struct sul_workflow *wf, const struct sul_stage *st, struct sul_err *err)
{
	const struct sul_input_spec *is = &st->kind->inputs;
	const char *about = NULL, *file = st->file;
	struct sul_stage_ctx ctx;
	struct sul_input *ins;
	int line = st->line, r;
	size_t j;

	if (is->what && (st->ninputs < is->min || st->ninputs > is->max))
		return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: stage '%s': expected %s, got %zu", st->file, st->line,
				   st->id, is->what, st->ninputs);
	for (j = 0; is->kinds && j < st->ninputs; j++) {
		const char *k = wf->stages[st->input_idx[j]].kind->name;
		if (!one_of(k, is->kinds))
			return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: stage '%s': input '%s' is a %s stage: expected %s",
					   st->file, st->line, st->id, st->inputs[j], k, is->what);
	}
	if (!st->kind->check)
		return 0;
	ins = sul_xcalloc(st->ninputs ? st->ninputs : 1, sizeof(*ins));
	for (j = 0; j < st->ninputs; j++) {
		ins[j].id = st->inputs[j];
		ins[j].kind = wf->stages[st->input_idx[j]].kind->name;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = st->id;
	ctx.workdir = st->dir;
	ctx.params = st->params;
	ctx.nparams = st->nparams;
	ctx.keys = st->keys;
	ctx.nkeys = st->nkeys;
	ctx.inputs = ins;
	ctx.ninputs = st->ninputs;
	r = st->kind->check(&ctx, &about, err);
	free(ins);
	if (!r)
		return 0;
	if (about) {
		long k = sul_params_find(st->params, st->nparams, about);
		const struct sul_param *p = k >= 0 ? &st->params[k] : NULL;
		if (!p && (k = sul_params_find(st->keys, st->nkeys, about)) >= 0)
			p = &st->keys[k];
		if (p && p->file) {
			file = p->file;
			line = p->line;
		}
	}
	err->kind = SUL_ERR_INPUT;
	return sul_err_prefix(err, "%s:%d: stage '%s'", file, line, st->id);
}

/* Types every parameter, rejects unknown ones, and fills in defaults. */
int wf_check_params(struct sul_stage *st, struct sul_err *err)
{
	const struct sul_param_spec *sp;
	size_t i;
	char loc[512];

	for (i = 0; i < st->nparams; i++) {
		struct sul_param *p = &st->params[i];
		struct sul_buf why = SUL_BUF_INIT;

		sp = sul_schema_find(st->kind->params, p->name);
		if (!sp) {
			const char *cands[256];
			size_t nc = 0;
			const struct sul_param_spec *q;

			if (st->kind->flags & SUL_KIND_FREE_PARAMS)
				continue;
			for (q = st->kind->params; q && q->name && nc < 256; q++)
				cands[nc++] = q->name;
			sul_buf_addf(&why, "%s: stage '%s': unknown parameter '%s' for kind '%s'",
				     where(p, st, loc, sizeof(loc)), st->id, p->name, st->kind->name);
			wf_add_suggestion(&why, p->name, cands, nc);
			sul_err_set(err, SUL_ERR_INPUT, "%s", why.buf);
			sul_buf_release(&why);
			return -1;
		}
		if (sul_schema_check_value(sp, &p->v, &why)) {
			/* A value from a workflow parameter is wrong where that was written. */
			if (p->via && p->via->file)
				sul_buf_addf(&why, " (the value of workflow parameter '%s', %s:%d)", p->via->name,
					     p->via->file, p->via->line);
			else if (p->via)
				sul_buf_addf(&why, " (the value of workflow parameter '%s', from --set)", p->via->name);
			sul_err_set(err, SUL_ERR_INPUT, "%s: stage '%s': parameter '%s': %s",
				    where(p, st, loc, sizeof(loc)), st->id, p->name, why.buf);
			sul_buf_release(&why);
			return -1;
		}
	}
	{
		struct sul_buf why = SUL_BUF_INIT;
		int r = sul_schema_defaults(st->kind, &st->params, &st->nparams, &why);
		if (r)
			wf_fail_stage(err, st, "%s", why.buf);
		sul_buf_release(&why);
		if (r)
			return -1;
	}
	sul_params_sort(st->keys, st->nkeys);
	return 0;
}

int sul_workflow_check_paths(const struct sul_workflow *wf, struct sul_err *err)
{
	size_t i, j;

	for (i = 0; i < wf->nstages; i++) {
		const struct sul_stage *st = &wf->stages[i];
		for (j = 0; j < st->nfiles; j++) {
			char *path = sul_path_resolve(st->dir, st->files[j]);
			int there = sul_path_exists(path);
			free(path);
			if (!there)
				return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: stage '%s': files: no file or folder '%s'%s%s",
						   st->file, st->line, st->id, st->files[j],
						   st->files[j][0] == '/' ? "" : " in ", st->files[j][0] == '/' ? "" : st->dir);
		}
		for (j = 0; j < st->nparams; j++) {
			const struct sul_param *p = &st->params[j];
			const struct sul_param_spec *sp = sul_schema_find(st->kind->params, p->name);
			char *path;
			int there;
			if (!sp || sp->type != SUL_T_PATH || !p->v.s || !*p->v.s)
				continue;
			path = sul_path_resolve(st->dir, p->v.s);
			there = sul_path_exists(path);
			free(path);
			if (!there)
				return sul_err_set(err, SUL_ERR_INPUT,
						   "%s:%d: stage '%s': parameter '%s': no file or folder '%s'%s%s",
						   p->file ? p->file : st->file, p->file ? p->line : st->line, st->id, p->name,
						   p->v.s, p->v.s[0] == '/' ? "" : " in ", p->v.s[0] == '/' ? "" : st->dir);
		}
	}
	return 0;
}
