/*
 * wf_expand.c - expanding stage templates: `foreach` over the cartesian
 * product of its lists, loop variables and `{params.NAME}` substituted
 * into ids and values (a value that is exactly one keeps its type), and
 * `{params.NAME}` left in kinds' keys (see wf_private.h).
 */
#include "wf_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const struct sul_value *find_global(const struct sul_workflow *wf, const char *name)
{
	long i = sul_params_find(wf->globals, wf->nglobals, name);
	return i < 0 ? NULL : &wf->globals[i].v;
}

static int subst_one(void *ctx, const char *name, struct sul_buf *out, struct sul_err *err)
{
	struct subst *s = ctx;
	size_t i;

	(void)err;
	for (i = 0; i < s->nvars; i++) {
		if (!strcmp(s->vars[i].name, name)) {
			struct sul_value v;
			if (wf_scalar_value(s->ld, s->vars[i].value, "foreach value", &v))
				return -1;
			sul_value_text(&v, out);
			sul_value_clear(&v);
			return 0;
		}
	}
	if (s->globals && !strncmp(name, "params.", 7)) {
		const struct sul_value *g = find_global(s->ld->wf, name + 7);
		if (!g)
			return wf_fail_at(s->ld, s->where, "stage '%s': '{%s}': the workflow has no parameter '%s'",
				       s->stage, name, name + 7);
		sul_value_text(g, out);
		return 0;
	}
	return 1;
}

/* Substitutes loop variables (and optionally globals) into a string. */
char *wf_subst_str(struct subst *s, const char *str)
{
	struct sul_buf b = SUL_BUF_INIT;

	if (sul_template_expand(str, 0, subst_one, s, &b, s->ld->err)) {
		sul_buf_release(&b);
		return NULL;
	}
	return sul_buf_detach(&b);
}

/*
 * A parameter value: a string that is exactly one foreach variable or one
 * `{params.NAME}` takes that value with its type (epochs = "{params.epochs}"
 * stays an integer); other strings are substituted as text.
 */
int wf_subst_value(struct subst *s, const config_setting_t *set, const char *what,
		       struct sul_value *v)
{
	s->via = NULL;
	char *whole, *text;
	size_t i;

	if (wf_scalar_value(s->ld, set, what, v))
		return -1;
	if (v->type != SUL_T_STRING)
		return 0;
	whole = sul_template_whole(v->s);
	if (whole) {
		for (i = 0; i < s->nvars; i++) {
			if (!strcmp(s->vars[i].name, whole)) {
				free(whole);
				sul_value_clear(v);
				return wf_scalar_value(s->ld, s->vars[i].value, "foreach value", v);
			}
		}
		if (s->globals && !strncmp(whole, "params.", 7) && find_global(s->ld->wf, whole + 7)) {
			const struct sul_workflow *wf = s->ld->wf;
			sul_value_clear(v);
			sul_value_copy(v, find_global(wf, whole + 7));
			s->via = &wf->globals[sul_params_find(wf->globals, wf->nglobals, whole + 7)];
			free(whole);
			return 0;
		}
		free(whole);
	}
	text = wf_subst_str(s, v->s);
	if (!text) {
		sul_value_clear(v);
		return -1;
	}
	free(v->s);
	v->s = text;
	return 0;
}

/* Appends "_VALUE" for each loop variable the id template does not use. */
char *wf_expand_id(struct subst *sb, const char *tmpl)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *id = wf_subst_str(sb, tmpl);
	size_t i;

	if (!id)
		return NULL;
	sul_buf_adds(&b, id);
	for (i = 0; i < sb->nvars; i++) {
		char pat[256];
		snprintf(pat, sizeof(pat), "{%s}", sb->vars[i].name);
		if (!strstr(tmpl, pat)) {
			struct sul_value v;
			if (wf_scalar_value(sb->ld, sb->vars[i].value, "foreach value", &v)) {
				free(id);
				sul_buf_release(&b);
				return NULL;
			}
			sul_buf_addc(&b, '_');
			sul_value_text(&v, &b);
			sul_value_clear(&v);
		}
	}
	free(id);
	return sul_buf_detach(&b);
}

/* Expands a template over the cartesian product of its foreach lists. */
int wf_expand_foreach(struct loader *ld, const config_setting_t *g, const struct stage_members *sm,
			  const struct sul_kind *kind, const char *id_tmpl)
{
	const config_setting_t *fe = sm->of[M_FOREACH];
	struct binding vars[16];
	size_t nvars, i, total = 1, combo;
	int ret = -1;

	if (!config_setting_is_group(fe))
		return wf_fail_at(ld, fe, "stage '%s': 'foreach': expected a group { NAME = [values]; ... }, got %s",
			       id_tmpl, sul_config_type_word(config_setting_type(fe)));
	nvars = (size_t)config_setting_length(fe);
	if (nvars == 0 || nvars > 16)
		return wf_fail_at(ld, fe, "stage '%s': 'foreach': expected 1 to 16 loop variables, got %zu",
			       id_tmpl, nvars);
	for (i = 0; i < nvars; i++) {
		const config_setting_t *list = config_setting_get_elem(fe, (unsigned)i);
		const char *name = config_setting_name(list);
		size_t len;

		if (!strcmp(name, "out") || !strcmp(name, "in") || !strcmp(name, "params"))
			return wf_fail_at(ld, list, "stage '%s': 'foreach': '%s' is a reserved placeholder name",
				       id_tmpl, name);
		if (config_setting_type(list) != CONFIG_TYPE_ARRAY && config_setting_type(list) != CONFIG_TYPE_LIST)
			return wf_fail_at(ld, list, "stage '%s': foreach '%s': expected a list of values [a, b, ...], got %s",
				       id_tmpl, name, sul_config_type_word(config_setting_type(list)));
		len = (size_t)config_setting_length(list);
		if (!len)
			return wf_fail_at(ld, list, "stage '%s': foreach '%s': the list is empty", id_tmpl, name);
		total *= len;
		if (total > MAX_EXPANSION)
			return wf_fail_at(ld, fe, "stage '%s': foreach expands to more than %d stages",
				       id_tmpl, MAX_EXPANSION);
		vars[i].name = name;
	}
	/* The first variable varies slowest, like nested loops written in order. */
	for (combo = 0; combo < total; combo++) {
		size_t rest = combo;
		for (i = nvars; i-- > 0;) {
			const config_setting_t *list = config_setting_get_elem(fe, (unsigned)i);
			size_t len = (size_t)config_setting_length(list);
			vars[i].value = config_setting_get_elem(list, (unsigned)(rest % len));
			rest /= len;
		}
		if (wf_build_stage(ld, g, sm, kind, id_tmpl, vars, nvars))
			goto out;
	}
	ret = 0;
out:
	return ret;
}

/*
 * `{params.NAME}` left in a kind-specific key (a command) refers to the
 * stage's own parameter or, failing that, to a workflow parameter, which
 * then becomes a parameter of the stage: it is part of the stage's cache key
 * and `sulcus plan` reports its changes like any other.
 */
struct import_ctx {
	struct sul_workflow *wf;
	struct sul_stage *st;
	const struct sul_param *key;
};

static int import_ref(void *ctx, const char *name, struct sul_buf *out, struct sul_err *err)
{
	struct import_ctx *ic = ctx;
	const struct sul_value *g;
	struct sul_value v;
	struct loc l = { NULL, 0 };

	(void)out;
	if (strncmp(name, "params.", 7) || sul_params_find(ic->st->params, ic->st->nparams, name + 7) >= 0)
		return 1;
	g = find_global(ic->wf, name + 7);
	if (!g)
		return sul_err_set(err, SUL_ERR_INPUT,
				   "%s:%d: stage '%s': '{%s}': neither the stage nor the workflow has a parameter '%s'",
				   ic->key->file, ic->key->line, ic->st->id, name, name + 7);
	sul_value_copy(&v, g);
	l.file = ic->key->file;
	l.line = ic->key->line;
	wf_add_param(&ic->st->params, &ic->st->nparams, name + 7, &v, l);
	return 1;
}

int wf_import_globals(struct sul_workflow *wf, struct sul_stage *st, struct sul_err *err)
{
	size_t i;

	for (i = 0; i < st->nkeys; i++) {
		struct import_ctx ic = { wf, st, &st->keys[i] };
		struct sul_buf scratch = SUL_BUF_INIT;
		int r;

		if (st->keys[i].v.type != SUL_T_STRING)
			continue;
		r = sul_template_expand(st->keys[i].v.s, 0, import_ref, &ic, &scratch, err);
		sul_buf_release(&scratch);
		if (r)
			return -1;
	}
	return 0;
}
