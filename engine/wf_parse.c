/*
 * wf_parse.c - the workflow file as libconfig reads it: @include paths,
 * parse errors in our words, where a setting was written, located error
 * messages, scalar values (see wf_private.h).
 */
#include "wf_private.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * libconfig 1.5 puts the include folder in front of every @include path,
 * absolute ones too.  An absolute path in the workflow itself is rewritten,
 * on the same line, as a relative one that climbs to / from that folder
 * (one ".." per component of its real path; more at / stay at /).  Files
 * that it includes are read by libconfig alone: an absolute @include in
 * them still fails, and wf_parse_error() says so.
 */
void wf_absolute_includes(const char *dir, struct sul_buf *text)
{
	struct sul_buf out = SUL_BUF_INIT, up = SUL_BUF_INIT;
	char *real = realpath(dir, NULL);
	const char *p = text->buf, *line;

	for (const char *c = real ? real : dir; *c; c++)
		if (*c == '/')
			sul_buf_adds(&up, "../");
	for (line = p; *line; line = p) {
		const char *q = line, *end = strchr(line, '\n');
		p = end ? end + 1 : line + strlen(line);
		while (*q == ' ' || *q == '\t')
			q++;
		if (strncmp(q, "@include", 8)) {
			sul_buf_add(&out, line, (size_t)(p - line));
			continue;
		}
		q += 8;
		while (*q == ' ' || *q == '\t')
			q++;
		if (q[0] != '"' || q[1] != '/') {
			sul_buf_add(&out, line, (size_t)(p - line));
			continue;
		}
		sul_buf_add(&out, line, (size_t)(q + 1 - line));
		sul_buf_adds(&out, up.buf);
		sul_buf_add(&out, q + 2, (size_t)(p - (q + 2)));
	}
	sul_buf_release(text);
	*text = out;
	sul_buf_release(&up);
	free(real);
}

/* A source file name, kept once in wf->pool for the stages that point to it. */
static const char *intern(struct sul_workflow *wf, const char *file)
{
	char *shown = NULL;
	size_t i;

	if (!file) {
		file = wf->path;
	} else if (file[0] != '/') {
		/* libconfig names included files relative to the workflow's folder:
		 * show them as a path the user can open from here. */
		char *dir = sul_path_dirname(wf->path);
		if (strcmp(dir, "."))
			file = shown = sul_xasprintf("%s/%s", dir, file);
		free(dir);
	}
	for (i = 0; i < wf->npool; i++)
		if (!strcmp(wf->pool[i], file)) {
			free(shown);
			return wf->pool[i];
		}
	wf->pool = sul_xrealloc(wf->pool, (wf->npool + 1) * sizeof(*wf->pool));
	wf->pool[wf->npool] = shown ? shown : sul_xstrdup(file);
	return wf->pool[wf->npool++];
}

/* libconfig's own words, with what they leave out. */
void wf_parse_error(struct sul_workflow *wf, const config_t *cfg, struct sul_err *err)
{
	const char *text = config_error_text(cfg), *file = intern(wf, config_error_file(cfg));
	int line = config_error_line(cfg);

	if (!strcmp(text, "memory exhausted")) {
		/* Bison's stack: about 10,000 open groups, lists or arrays. */
		sul_err_set(err, SUL_ERR_INPUT, "%s:%d: groups, lists and arrays nested too deeply for libconfig "
			    "(about 10,000 levels): is a closing bracket missing?", file, line);
	} else if (!strcmp(text, "cannot open include file")) {
		/* Which file, and why: the @include on that line, looked up as libconfig does. */
		struct sul_buf b = SUL_BUF_INIT, e = SUL_BUF_INIT;
		const char *at = NULL;
		char *name = NULL, *tried = NULL;
		int n = 1;
		if (!sul_read_file(file, &b, NULL)) {
			for (at = b.buf; at && n < line; n++)
				at = (at = strchr(at, '\n')) ? at + 1 : NULL;
			at = at ? strstr(at, "@include") : NULL;
			at = at ? strchr(at, '"') : NULL;
		}
		if (at && strchr(at + 1, '"'))
			name = sul_xstrndup(at + 1, (size_t)(strchr(at + 1, '"') - at - 1));
		if (name) {
			tried = sul_xasprintf("%s/%s", wf->dir, name);
			if (access(tried, R_OK))
				sul_buf_addf(&e, " (read as '%s': %s%s)", tried, strerror(errno),
					     name[0] == '/' ? "; an included file can only include relative paths" : "");
		}
		sul_err_set(err, SUL_ERR_INPUT, "%s:%d: cannot open include file%s%s%s%s", file, line,
			    name ? " '" : "", name ? name : "", name ? "'" : "", e.len ? e.buf : "");
		free(name);
		free(tried);
		sul_buf_release(&b);
		sul_buf_release(&e);
	} else {
		sul_err_set(err, SUL_ERR_INPUT, "%s:%d: %s", file, line, text);
	}
}

struct loc wf_loc_of(struct loader *ld, const config_setting_t *s)
{
	struct loc l = { intern(ld->wf, config_setting_source_file(s)), (int)config_setting_source_line(s) };
	return l;
}

/* Fails with "FILE:LINE: MESSAGE" (kind SUL_ERR_INPUT). */
int wf_fail_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	struct loc l = wf_loc_of(ld, s);
	char msg[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(ld->err, SUL_ERR_INPUT, "%s:%d: %s", l.file, l.line, msg);
}

const char *sul_config_type_word(int type)
{
	switch (type) {
	case CONFIG_TYPE_GROUP: return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64: return "an integer";
	case CONFIG_TYPE_FLOAT: return "a number";
	case CONFIG_TYPE_STRING: return "a string";
	case CONFIG_TYPE_BOOL: return "a boolean";
	case CONFIG_TYPE_ARRAY: return "an array";
	case CONFIG_TYPE_LIST: return "a list";
	default: return "nothing";
	}
}

/* Appends ": did you mean 'X'?" when one of cands is close to word. */
void wf_add_suggestion(struct sul_buf *b, const char *word, const char *const *cands, size_t n)
{
	const char *s = sul_suggest(word, cands, n);
	if (s)
		sul_buf_addf(b, " (did you mean '%s'?)", s);
}

/* Converts a scalar setting to a value. */
int wf_scalar_value(struct loader *ld, const config_setting_t *s, const char *what,
			struct sul_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (config_setting_type(s)) {
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		v->type = SUL_T_INT;
		v->i = config_setting_get_int64(s);
		return 0;
	case CONFIG_TYPE_FLOAT:
		v->type = SUL_T_FLOAT;
		v->f = config_setting_get_float(s);
		return 0;
	case CONFIG_TYPE_BOOL:
		v->type = SUL_T_BOOL;
		v->i = config_setting_get_bool(s);
		return 0;
	case CONFIG_TYPE_STRING:
		v->type = SUL_T_STRING;
		v->s = sul_xstrdup(config_setting_get_string(s));
		return 0;
	default:
		return wf_fail_at(ld, s, "%s: expected a number, string or boolean, got %s", what,
			       sul_config_type_word(config_setting_type(s)));
	}
}
