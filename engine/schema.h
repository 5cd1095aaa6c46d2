/*
 * schema.h - a kind's parameter schema applied to values: the one place
 * that types, range-checks and defaults a stage's parameters.  The
 * workflow loader applies it to what the file and --set give (and puts the
 * location in front of its messages); tests and tools apply it to
 * NAME=VALUE text and get exactly what check() and run() would get.
 */
#ifndef SUL_SCHEMA_H
#define SUL_SCHEMA_H

#include "kind.h"
#include "strbuf.h"

/* The spec of name in specs (ending with { NULL }), or NULL. */
const struct sul_param_spec *sul_schema_find(const struct sul_param_spec *specs, const char *name);

/* Checks v against sp: its type (an integer becomes a float, a string a
 * path, where sp says so), range and choices.  -1 with why filled
 * ("expected ..., got '...'"). */
int sul_schema_check_value(const struct sul_param_spec *sp, struct sul_value *v, struct sul_buf *why);

/* Adds the default of every parameter of kind's schema that params lacks
 * (without a location), then sorts params by name.  -1 when one that has
 * no default is missing (why: "missing parameter 'x' (its doc)"). */
int sul_schema_defaults(const struct sul_kind *kind, struct sul_param **params, size_t *n, struct sul_buf *why);

/* The parameters of a stage of kind given "NAME=VALUE" texts, each parsed
 * as its spec's type and checked, defaults added, sorted: what run() gets.
 * Unknown names are refused unless the kind takes free parameters.  The
 * caller frees *out with sul_params_free(). */
int sul_schema_params(const struct sul_kind *kind, const char *const *assign, size_t nassign, struct sul_param **out,
		      size_t *nout, struct sul_err *err);

#endif
