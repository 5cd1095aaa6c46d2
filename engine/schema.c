/* schema.c - applying a kind's parameter schema (see schema.h). */
#include "schema.h"

#include <stdlib.h>
#include <string.h>

const struct sul_param_spec *sul_schema_find(const struct sul_param_spec *specs, const char *name)
{
	for (; specs && specs->name; specs++)
		if (!strcmp(specs->name, name))
			return specs;
	return NULL;
}

/* The value as given, after a refusal: ", got '...'". */
static int got(const struct sul_value *v, struct sul_buf *why)
{
	sul_buf_adds(why, ", got '");
	sul_value_text(v, why);
	sul_buf_addc(why, '\'');
	return -1;
}

static void expected_type(enum sul_type t, struct sul_buf *why)
{
	sul_buf_adds(why, t == SUL_T_INT ? "an integer" : t == SUL_T_FLOAT ? "a number" : t == SUL_T_BOOL ? "true or false"
			  : t == SUL_T_PATH ? "a path (string)" : "a string");
}

int sul_schema_check_value(const struct sul_param_spec *sp, struct sul_value *v, struct sul_buf *why)
{
	if (sp->type == SUL_T_FLOAT && v->type == SUL_T_INT) {
		v->type = SUL_T_FLOAT;
		v->f = (double)v->i;
	}
	if (sp->type == SUL_T_PATH && v->type == SUL_T_STRING)
		v->type = SUL_T_PATH;
	if (v->type != sp->type) {
		sul_buf_adds(why, "expected ");
		expected_type(sp->type, why);
		return got(v, why);
	}
	if (sp->min < sp->max && (v->type == SUL_T_INT || v->type == SUL_T_FLOAT)) {
		double d = v->type == SUL_T_INT ? (double)v->i : v->f;
		if (!(d >= sp->min && d <= sp->max)) {
			if (sp->type == SUL_T_INT) {
				sul_buf_addf(why, "expected an integer from %lld to %lld", (long long)sp->min,
					     (long long)sp->max);
			} else {
				sul_buf_adds(why, "expected a value from ");
				sul_format_double(sp->min, why);
				sul_buf_adds(why, " to ");
				sul_format_double(sp->max, why);
			}
			return got(v, why);
		}
	}
	if (sp->choices && v->type == SUL_T_STRING) {
		size_t len = strlen(v->s);
		const char *c = sp->choices;
		while (c) {
			const char *bar = strchr(c, '|');
			size_t clen = bar ? (size_t)(bar - c) : strlen(c);
			if (clen == len && !strncmp(c, v->s, len))
				return 0;
			c = bar ? bar + 1 : NULL;
		}
		sul_buf_addf(why, "expected one of %s, got '%s'", sp->choices, v->s);
		return -1;
	}
	return 0;
}

static void append(struct sul_param **params, size_t *n, const char *name, struct sul_value *v)
{
	struct sul_param *p;

	*params = sul_xrealloc(*params, (*n + 1) * sizeof(**params));
	p = &(*params)[(*n)++];
	memset(p, 0, sizeof(*p));
	p->name = sul_xstrdup(name);
	p->v = *v;
	memset(v, 0, sizeof(*v));
}

int sul_schema_defaults(const struct sul_kind *kind, struct sul_param **params, size_t *n, struct sul_buf *why)
{
	const struct sul_param_spec *sp;

	for (sp = kind->params; sp && sp->name; sp++) {
		struct sul_value v = { SUL_T_NONE, 0, 0, NULL };
		struct sul_err err = SUL_ERR_INIT;

		if (sul_params_find(*params, *n, sp->name) >= 0)
			continue;
		if (!sp->def) {
			sul_buf_addf(why, "missing parameter '%s' (%s)", sp->name, sp->doc);
			return -1;
		}
		if (sul_value_parse(sp->def, sp->type, &v, &err)) {
			/* A kind's own default that does not parse: a bug, said plainly. */
			sul_buf_addf(why, "kind '%s': default of '%s': %s", kind->name, sp->name, err.msg);
			return -1;
		}
		append(params, n, sp->name, &v);
	}
	sul_params_sort(*params, *n);
	return 0;
}

int sul_schema_params(const struct sul_kind *kind, const char *const *assign, size_t nassign, struct sul_param **out,
		      size_t *nout, struct sul_err *err)
{
	struct sul_buf why = SUL_BUF_INIT;
	size_t i;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < nassign; i++) {
		const char *eq = strchr(assign[i], '=');
		const struct sul_param_spec *sp;
		struct sul_value v = { SUL_T_NONE, 0, 0, NULL };
		char *name;

		if (!eq) {
			sul_err_set(err, SUL_ERR_INPUT, "'%s': expected NAME=VALUE", assign[i]);
			goto fail;
		}
		name = sul_xstrndup(assign[i], (size_t)(eq - assign[i]));
		sp = sul_schema_find(kind->params, name);
		if (!sp && !(kind->flags & SUL_KIND_FREE_PARAMS)) {
			sul_err_set(err, SUL_ERR_INPUT, "kind '%s' has no parameter '%s'", kind->name, name);
			free(name);
			goto fail;
		}
		if (sul_value_parse(eq + 1, sp ? sp->type : SUL_T_NONE, &v, err)
		    || (sp && sul_schema_check_value(sp, &v, &why))) {
			if (why.len)
				sul_err_set(err, SUL_ERR_INPUT, "%s", why.buf);
			sul_err_prefix(err, "parameter '%s'", name);
			sul_value_clear(&v);
			free(name);
			goto fail;
		}
		append(out, nout, name, &v);
		free(name);
	}
	if (sul_schema_defaults(kind, out, nout, &why)) {
		sul_err_set(err, SUL_ERR_INPUT, "%s", why.buf);
		goto fail;
	}
	sul_buf_release(&why);
	return 0;
fail:
	sul_buf_release(&why);
	sul_params_free(*out, *nout);
	*out = NULL;
	*nout = 0;
	return -1;
}
