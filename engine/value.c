/* value.c - typed parameter values and their renderings (see value.h). */
#include "value.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sul_type_name(enum sul_type t)
{
	switch (t) {
	case SUL_T_INT: return "int";
	case SUL_T_FLOAT: return "float";
	case SUL_T_BOOL: return "bool";
	case SUL_T_STRING: return "string";
	case SUL_T_PATH: return "path";
	default: return "none";
	}
}

void sul_value_clear(struct sul_value *v)
{
	free(v->s);
	memset(v, 0, sizeof(*v));
}

void sul_value_copy(struct sul_value *dst, const struct sul_value *src)
{
	*dst = *src;
	dst->s = src->s ? sul_xstrdup(src->s) : NULL;
}

int sul_value_equal(const struct sul_value *a, const struct sul_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case SUL_T_INT:
	case SUL_T_BOOL: return a->i == b->i;
	case SUL_T_FLOAT: return a->f == b->f || (isnan(a->f) && isnan(b->f));
	case SUL_T_STRING:
	case SUL_T_PATH: return !strcmp(a->s, b->s);
	default: return 1;
	}
}

void sul_value_set_str(struct sul_value *v, enum sul_type t, const char *s)
{
	sul_value_clear(v);
	v->type = t;
	v->s = sul_xstrdup(s);
}

void sul_format_double(double d, struct sul_buf *out)
{
	char tmp[40];
	int prec;

	if (isnan(d) || isinf(d)) {
		sul_buf_adds(out, isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
		return;
	}
	if (d == floor(d) && fabs(d) < 1e15) {
		snprintf(tmp, sizeof(tmp), "%.1f", d);
		sul_buf_adds(out, tmp);
		return;
	}
	for (prec = 1; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	/* Keep a float looking like a float: 1 -> 1.0. */
	sul_buf_adds(out, tmp);
	if (!strpbrk(tmp, ".en"))
		sul_buf_adds(out, ".0");
}

void sul_value_canon(const struct sul_value *v, struct sul_buf *out)
{
	switch (v->type) {
	case SUL_T_INT: sul_buf_addf(out, "i:%lld", v->i); break;
	case SUL_T_BOOL: sul_buf_addf(out, "b:%d", v->i ? 1 : 0); break;
	case SUL_T_FLOAT: sul_buf_adds(out, "f:"); sul_format_double(v->f, out); break;
	case SUL_T_STRING: sul_buf_adds(out, "s:"); sul_buf_adds(out, v->s); break;
	case SUL_T_PATH: sul_buf_adds(out, "p:"); sul_buf_adds(out, v->s); break;
	default: sul_buf_adds(out, "n:"); break;
	}
}

void sul_value_json(const struct sul_value *v, struct sul_buf *out)
{
	switch (v->type) {
	case SUL_T_INT: sul_buf_addf(out, "%lld", v->i); break;
	case SUL_T_BOOL: sul_buf_adds(out, v->i ? "true" : "false"); break;
	case SUL_T_FLOAT:
		if (isnan(v->f) || isinf(v->f))
			sul_buf_adds(out, "null");
		else
			sul_format_double(v->f, out);
		break;
	case SUL_T_STRING:
	case SUL_T_PATH: sul_buf_add_json_str(out, v->s); break;
	default: sul_buf_adds(out, "null"); break;
	}
}

void sul_value_text(const struct sul_value *v, struct sul_buf *out)
{
	switch (v->type) {
	case SUL_T_STRING:
	case SUL_T_PATH: sul_buf_adds(out, v->s); break;
	case SUL_T_BOOL: sul_buf_adds(out, v->i ? "true" : "false"); break;
	default: sul_value_json(v, out); break;
	}
}

/* Decimal, as written: "010" is ten, and "0x10", " 5" or "+5" are not
 * numbers (strtoll and strtod alone take them all). */
static int decimal_chars(const char *text, const char *allowed)
{
	if (*text == '-')
		text++;
	if (!isdigit((unsigned char)*text) && !(*text == '.' && isdigit((unsigned char)text[1])))
		return 0;
	return text[strspn(text, allowed)] == '\0';
}

static int parse_int(const char *text, long long *out)
{
	char *end;

	if (!decimal_chars(text, "0123456789"))
		return 0;
	errno = 0;
	*out = strtoll(text, &end, 10);
	return !*end && !errno;
}

static int parse_float(const char *text, double *out)
{
	char *end;

	if (!decimal_chars(text, "0123456789.eE+-"))
		return 0;
	errno = 0;
	*out = strtod(text, &end);
	return !*end && !errno;
}

static int parse_bool(const char *text, long long *out)
{
	if (!strcmp(text, "true")) {
		*out = 1;
		return 1;
	}
	if (!strcmp(text, "false")) {
		*out = 0;
		return 1;
	}
	return 0;
}

int sul_value_parse(const char *text, enum sul_type t, struct sul_value *v, struct sul_err *err)
{
	struct sul_value nv = { SUL_T_NONE, 0, 0, NULL };

	switch (t) {
	case SUL_T_INT:
		if (!parse_int(text, &nv.i))
			return sul_err_set(err, SUL_ERR_INPUT, "expected an integer, got '%s'", text);
		break;
	case SUL_T_FLOAT:
		/* Workflow files cannot hold NaN or infinity: neither may --set. */
		if (!parse_float(text, &nv.f) || !isfinite(nv.f))
			return sul_err_set(err, SUL_ERR_INPUT, "expected a finite decimal number, got '%s'", text);
		break;
	case SUL_T_BOOL:
		if (!parse_bool(text, &nv.i))
			return sul_err_set(err, SUL_ERR_INPUT, "expected true or false, got '%s'", text);
		break;
	case SUL_T_STRING:
	case SUL_T_PATH:
		nv.s = sul_xstrdup(text);
		break;
	default:
		if (parse_int(text, &nv.i))
			t = SUL_T_INT;
		else if (parse_float(text, &nv.f) && isfinite(nv.f))
			t = SUL_T_FLOAT;
		else if (parse_bool(text, &nv.i))
			t = SUL_T_BOOL;
		else {
			t = SUL_T_STRING;
			nv.s = sul_xstrdup(text);
		}
	}
	nv.type = t;
	sul_value_clear(v);
	*v = nv;
	return 0;
}

void sul_params_free(struct sul_param *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(p[i].name);
		sul_value_clear(&p[i].v);
	}
	free(p);
}

long sul_params_find(const struct sul_param *p, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(p[i].name, name))
			return (long)i;
	return -1;
}

static int cmp_param(const void *a, const void *b)
{
	return strcmp(((const struct sul_param *)a)->name, ((const struct sul_param *)b)->name);
}

void sul_params_sort(struct sul_param *p, size_t n)
{
	if (n > 1)
		qsort(p, n, sizeof(*p), cmp_param);
}

void sul_params_json(const struct sul_param *p, size_t n, struct sul_buf *out)
{
	size_t i;

	sul_buf_addc(out, '{');
	for (i = 0; i < n; i++) {
		if (i)
			sul_buf_adds(out, ", ");
		sul_buf_add_json_str(out, p[i].name);
		sul_buf_adds(out, ": ");
		sul_value_json(&p[i].v, out);
	}
	sul_buf_addc(out, '}');
}
