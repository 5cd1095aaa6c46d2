/*
 * netcfg.h - Darknet network files (.cfg) read and checked before Darknet
 * sees them, and rewritten into the cfg a stage actually uses.
 *
 * Darknet's parser segfaults on an option before the first section, asserts
 * on a first section that is not [net], goes on with a zeroed layer after an
 * unknown section, and silently ignores misspelt keys ("filter=64" gives one
 * filter).  sul_netcfg_read() refuses all of these with file:line, so
 * `sulcus check` reports them and no stage process dies inside Darknet for
 * them.  Only the layer types of classification networks are accepted.
 * Lines are read as Darknet reads them: all whitespace removed, '#' and ';'
 * start comments.  Not a kind.
 */
#ifndef SUL_NETCFG_H
#define SUL_NETCFG_H

#include <stddef.h>

#include "../engine/err.h"

struct sul_netcfg_opt {
	char *key, *value;
	int line;
};

struct sul_netcfg_section {
	char *type;            /* "net", "convolutional", ... (aliases resolved: "conv" -> "convolutional") */
	int line;
	struct sul_netcfg_opt *opts;
	size_t nopts;
};

struct sul_netcfg {
	char *path;
	struct sul_netcfg_section *sec;  /* sec[0] is [net] */
	size_t nsec;
};

int sul_netcfg_read(const char *path, struct sul_netcfg *cfg, struct sul_err *err);
void sul_netcfg_release(struct sul_netcfg *cfg);

/* What the values mean (netcheck.c): every value within the range where
 * Darknet computes what it says (no crash, no silent replacement), every
 * activation one Darknet knows, every layer reference to an earlier
 * layer, [softmax] last and, when [net] gives width, height and channels,
 * every layer's input large enough for it.  Messages name file:line.
 * sul_netcfg_read() calls it; call it again after setting the sizes. */
int sul_netcfg_check(const struct sul_netcfg *cfg, struct sul_err *err);

/* The value of key in section i, or NULL. */
const char *sul_netcfg_get(const struct sul_netcfg *cfg, size_t i, const char *key);
/* Sets (or adds) key in section i. */
void sul_netcfg_set(struct sul_netcfg *cfg, size_t i, const char *key, const char *value);
/* Removes key from section i, if present. */
void sul_netcfg_unset(struct sul_netcfg *cfg, size_t i, const char *key);

/* The outputs of the last [connected] or [convolutional] layer before the
 * final [softmax] (the class count), or -1 when the network does not end in
 * [softmax] after one of those. */
int sul_netcfg_classes(const struct sul_netcfg *cfg);

/* Writes the cfg as Darknet reads it, after a header comment. */
int sul_netcfg_write(const struct sul_netcfg *cfg, const char *header, const char *path, struct sul_err *err);

#endif
