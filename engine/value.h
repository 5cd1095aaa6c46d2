/*
 * value.h - typed parameter values: what a workflow's params hold.
 *
 * A value has one of a few scalar types.  Values have three renderings:
 * canonical (hashed into cache keys; distinguishes 1 from 1.0 from "1"),
 * JSON (stored in the database), and text (substituted into commands and
 * shown to users).
 */
#ifndef SUL_VALUE_H
#define SUL_VALUE_H

#include "err.h"
#include "strbuf.h"

enum sul_type {
	SUL_T_NONE = 0,
	SUL_T_INT,
	SUL_T_FLOAT,
	SUL_T_BOOL,
	SUL_T_STRING,
	SUL_T_PATH,   /* a string naming an external file or folder whose content is hashed */
};

struct sul_value {
	enum sul_type type;
	long long i;  /* SUL_T_INT, SUL_T_BOOL */
	double f;     /* SUL_T_FLOAT */
	char *s;      /* SUL_T_STRING, SUL_T_PATH: owned */
};

/* A named value with where it was written (file may be NULL: a default). */
struct sul_param {
	char *name;
	struct sul_value v;
	const char *file;  /* borrowed from the workflow's file-name pool */
	int line;
	/* The workflow parameter whose value it took ("{params.NAME}"), so that
	 * an error about the value can point there too; NULL: none.  Borrowed
	 * from the workflow's globals. */
	const struct sul_param *via;
};

const char *sul_type_name(enum sul_type t);
void sul_value_clear(struct sul_value *v);
void sul_value_copy(struct sul_value *dst, const struct sul_value *src);
int sul_value_equal(const struct sul_value *a, const struct sul_value *b);
void sul_value_set_str(struct sul_value *v, enum sul_type t, const char *s);

void sul_value_canon(const struct sul_value *v, struct sul_buf *out);
void sul_value_json(const struct sul_value *v, struct sul_buf *out);
void sul_value_text(const struct sul_value *v, struct sul_buf *out);

/*
 * Parses text (from --set or a description file) as type t; with
 * SUL_T_NONE infers int, then float, then bool (true/false), else string.
 * On failure err says what was expected; v is untouched.
 */
int sul_value_parse(const char *text, enum sul_type t, struct sul_value *v, struct sul_err *err);

/* Shortest decimal that reads back as exactly d. */
void sul_format_double(double d, struct sul_buf *out);

void sul_params_free(struct sul_param *p, size_t n);
/* Index of name in p[0..n), or -1. */
long sul_params_find(const struct sul_param *p, size_t n, const char *name);
/* Sorts by name (canonical order for keys and JSON). */
void sul_params_sort(struct sul_param *p, size_t n);
/* {"name": value, ...} in the given order. */
void sul_params_json(const struct sul_param *p, size_t n, struct sul_buf *out);

#endif
