/*
 * wf_set.c - `--set ID.NAME=VALUE` overrides: parsed, typed like the value
 * they replace, applied to workflow parameters first, then to the stages
 * ID names (a glob may name several) (see wf_private.h).
 */
#include "wf_private.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

/* Parses "ID.NAME=VALUE". */
static int parse_set(const char *arg, char **target, char **name, char **value, struct sul_err *err)
{
	const char *eq = strchr(arg, '='), *dot;

	if (!eq)
		return sul_err_set(err, SUL_ERR_INPUT, "--set '%s': expected ID.NAME=VALUE", arg);
	for (dot = eq; dot > arg && dot[-1] != '.'; dot--)
		;
	if (dot <= arg + 1 || dot == eq)
		return sul_err_set(err, SUL_ERR_INPUT, "--set '%s': expected ID.NAME=VALUE", arg);
	/* A glob may pick stages; the parameter is one name, as the file writes it. */
	if (!isalpha((unsigned char)*dot) && *dot != '_')
		goto bad_name;
	for (const char *c = dot; c < eq; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			goto bad_name;
	*target = sul_xstrndup(arg, (size_t)(dot - 1 - arg));
	*name = sul_xstrndup(dot, (size_t)(eq - dot));
	*value = sul_xstrdup(eq + 1);
	return 0;
bad_name:
	return sul_err_set(err, SUL_ERR_INPUT,
			   "--set '%s': parameter name '%.*s': expected letters, digits, '_' and '-', "
			   "starting with a letter or '_'",
			   arg, (int)(eq - dot), dot);
}

static enum sul_type override_type(const struct sul_stage *st, const char *name, const struct sul_value *cur)
{
	const struct sul_param_spec *sp = sul_schema_find(st ? st->kind->params : NULL, name);

	if (sp)
		return sp->type == SUL_T_PATH ? SUL_T_STRING : sp->type;
	if (cur)
		return cur->type == SUL_T_PATH ? SUL_T_STRING : cur->type;
	return SUL_T_NONE;
}

static int set_param(struct sul_param **arr, size_t *n, const char *name, const char *text,
		     enum sul_type t, const char *arg, struct sul_err *err)
{
	long i = sul_params_find(*arr, *n, name);
	struct sul_value v = { SUL_T_NONE, 0, 0, NULL };
	struct loc l = { NULL, 0 };

	if (sul_value_parse(text, t, &v, err))
		return sul_err_prefix(err, "--set '%s'", arg);
	if (i >= 0) {
		sul_value_clear(&(*arr)[i].v);
		(*arr)[i].v = v;
		(*arr)[i].file = NULL;
		(*arr)[i].line = 0;
		(*arr)[i].via = NULL;  /* --set gave it, not a workflow parameter */
	} else {
		wf_add_param(arr, n, name, &v, l);
	}
	return 0;
}

/* Overrides of workflow parameters come first: stages copy them. */
int wf_apply_global_sets(struct sul_workflow *wf, const char *const *sets, size_t nsets,
			     struct sul_err *err)
{
	size_t s;

	for (s = 0; s < nsets; s++) {
		char *target, *name, *value;
		int r = 0;

		if (parse_set(sets[s], &target, &name, &value, err))
			return -1;
		if (!strcmp(target, "params")) {
			long i = sul_params_find(wf->globals, wf->nglobals, name);
			if (i < 0) {
				const char *cands[256];
				size_t k, nc = 0;
				struct sul_buf b = SUL_BUF_INIT;
				for (k = 0; k < wf->nglobals && nc < 256; k++)
					cands[nc++] = wf->globals[k].name;
				sul_buf_addf(&b, "--set '%s': the workflow has no parameter '%s'", sets[s], name);
				wf_add_suggestion(&b, name, cands, nc);
				r = sul_err_set(err, SUL_ERR_INPUT, "%s", b.buf);
				sul_buf_release(&b);
			} else {
				r = set_param(&wf->globals, &wf->nglobals, name, value,
					      override_type(NULL, name, &wf->globals[i].v), sets[s], err);
			}
		}
		free(target);
		free(name);
		free(value);
		if (r)
			return -1;
	}
	return 0;
}

int wf_apply_stage_sets(struct sul_workflow *wf, const char *const *sets, size_t nsets,
			    struct sul_err *err)
{
	const char **ids = wf_stage_ids(wf);
	size_t s, i;
	int ret = -1;

	for (s = 0; s < nsets; s++) {
		char *target, *name, *value;
		size_t matched = 0;
		int r = 0;

		if (parse_set(sets[s], &target, &name, &value, err))
			goto out;
		for (i = 0; i < wf->nstages && !r && strcmp(target, "params"); i++) {
			struct sul_stage *st = &wf->stages[i];
			long cur;

			if (wf_is_glob(target) ? fnmatch(target, st->id, 0) != 0 : strcmp(target, st->id) != 0)
				continue;
			matched++;
			cur = sul_params_find(st->params, st->nparams, name);
			if (!(st->kind->flags & SUL_KIND_FREE_PARAMS) && !sul_schema_find(st->kind->params, name)) {
				const char *cands[256];
				size_t nc = 0;
				const struct sul_param_spec *sp;
				struct sul_buf b = SUL_BUF_INIT;
				for (sp = st->kind->params; sp && sp->name && nc < 256; sp++)
					cands[nc++] = sp->name;
				sul_buf_addf(&b, "--set '%s': stage '%s' (kind '%s') has no parameter '%s'",
					     sets[s], st->id, st->kind->name, name);
				wf_add_suggestion(&b, name, cands, nc);
				r = sul_err_set(err, SUL_ERR_INPUT, "%s", b.buf);
				sul_buf_release(&b);
				break;
			}
			r = set_param(&st->params, &st->nparams, name, value,
				      override_type(st, name, cur >= 0 ? &st->params[cur].v : NULL), sets[s], err);
		}
		if (!r && !matched && strcmp(target, "params")) {
			struct sul_buf b = SUL_BUF_INIT;
			sul_buf_addf(&b, "--set '%s': no stage '%s'", sets[s], target);
			wf_add_suggestion(&b, target, ids, wf->nstages);
			r = sul_err_set(err, SUL_ERR_INPUT, "%s", b.buf);
			sul_buf_release(&b);
		}
		free(target);
		free(name);
		free(value);
		if (r)
			goto out;
	}
	ret = 0;
out:
	free(ids);
	return ret;
}
