/* jobfile.c - job files and result files (see jobfile.h). */
#include "jobfile.h"
#include "fsutil.h"

#include <stdlib.h>
#include <string.h>

static void add_escaped(struct sul_buf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '\\': sul_buf_adds(b, "\\\\"); break;
		case '\t': sul_buf_adds(b, "\\t"); break;
		case '\n': sul_buf_adds(b, "\\n"); break;
		case '\r': sul_buf_adds(b, "\\r"); break;
		default: sul_buf_addc(b, *s);
		}
	}
}

static char *unescape(const char *s)
{
	struct sul_buf b = SUL_BUF_INIT;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			sul_buf_addc(&b, *s == 't' ? '\t' : *s == 'n' ? '\n' : *s == 'r' ? '\r' : *s);
		} else {
			sul_buf_addc(&b, *s);
		}
	}
	return sul_buf_detach(&b);
}

static void add_field(struct sul_buf *b, const char *name, const char *value)
{
	sul_buf_adds(b, name);
	sul_buf_addc(b, '\t');
	add_escaped(b, value);
	sul_buf_addc(b, '\n');
}

static void add_params(struct sul_buf *b, const char *what, const struct sul_param *p, size_t n)
{
	struct sul_buf text = SUL_BUF_INIT;
	size_t i;

	for (i = 0; i < n; i++) {
		sul_buf_reset(&text);
		sul_value_text(&p[i].v, &text);
		sul_buf_addf(b, "%s\t", what);
		add_escaped(b, p[i].name);
		sul_buf_addf(b, "\t%s\t", sul_type_name(p[i].v.type));
		add_escaped(b, text.buf);
		sul_buf_addc(b, '\n');
	}
	sul_buf_release(&text);
}

int sul_jobfile_write(const char *path, const struct sul_jobfile *d, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	size_t i;
	int ret;

	sul_buf_adds(&b, "sulcus-stage 2\n");
	add_field(&b, "id", d->id);
	add_field(&b, "kind", d->kind);
	sul_buf_addf(&b, "version\t%d\n", d->version);
	add_field(&b, "key", d->key);
	add_field(&b, "workdir", d->workdir);
	add_field(&b, "staging", d->staging);
	add_field(&b, "cache", d->cache);
	add_field(&b, "result", d->result);
	add_params(&b, "param", d->params, d->nparams);
	add_params(&b, "setting", d->keys, d->nkeys);
	for (i = 0; i < d->ninputs; i++) {
		sul_buf_adds(&b, "input\t");
		add_escaped(&b, d->inputs[i].id);
		sul_buf_addc(&b, '\t');
		add_escaped(&b, d->inputs[i].dir);
		sul_buf_addc(&b, '\t');
		add_escaped(&b, d->inputs[i].kind ? d->inputs[i].kind : "");
		sul_buf_addc(&b, '\n');
	}
	/* No fsync: the child reads it after we wrote it, and a crash of the
	 * machine ends the run that would have used it. */
	ret = sul_write_file(path, b.buf, b.len, err);
	sul_buf_release(&b);
	return ret;
}

static enum sul_type type_of(const char *name)
{
	static const enum sul_type all[] = { SUL_T_INT, SUL_T_FLOAT, SUL_T_BOOL, SUL_T_STRING, SUL_T_PATH };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (!strcmp(sul_type_name(all[i]), name))
			return all[i];
	return SUL_T_NONE;
}

/* Splits line at tabs into at most max fields (unescaped; caller frees). */
static size_t split(char *line, char **fields, size_t max)
{
	size_t n = 0;
	char *p = line;

	while (n < max) {
		char *tab = strchr(p, '\t');
		if (tab)
			*tab = '\0';
		fields[n++] = unescape(p);
		if (!tab)
			break;
		p = tab + 1;
	}
	return n;
}

static int read_param(struct sul_param **arr, size_t *n, char **f, size_t nf, struct sul_err *err)
{
	struct sul_param *p;
	enum sul_type t;

	if (nf != 4 || (t = type_of(f[2])) == SUL_T_NONE)
		return sul_err_set(err, SUL_ERR_FAIL, "malformed parameter record");
	*arr = sul_xrealloc(*arr, (*n + 1) * sizeof(**arr));
	p = &(*arr)[*n];
	memset(p, 0, sizeof(*p));
	if (sul_value_parse(f[3], t, &p->v, err))
		return sul_err_prefix(err, "parameter '%s'", f[1]);
	p->name = sul_xstrdup(f[1]);
	(*n)++;
	return 0;
}

int sul_jobfile_read(const char *path, struct sul_jobfile *d, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *line, *next;
	int lineno = 0, ret = -1;

	memset(d, 0, sizeof(*d));
	if (sul_read_file(path, &b, err))
		goto out;
	if (strncmp(b.buf, "sulcus-stage 2\n", 15)) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: not a job file of this sulcus (expected 'sulcus-stage 2' first)",
			    path);
		goto out;
	}
	for (line = b.buf; *line; line = next) {
		char *f[4] = { NULL, NULL, NULL, NULL };
		size_t nf, i;
		int bad = 0;
		char **slot = NULL;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if (++lineno == 1)
			continue;
		nf = split(line, f, 4);
		if (!strcmp(f[0], "id")) slot = &d->id;
		else if (!strcmp(f[0], "kind")) slot = &d->kind;
		else if (!strcmp(f[0], "key")) slot = &d->key;
		else if (!strcmp(f[0], "workdir")) slot = &d->workdir;
		else if (!strcmp(f[0], "staging")) slot = &d->staging;
		else if (!strcmp(f[0], "cache")) slot = &d->cache;
		else if (!strcmp(f[0], "result")) slot = &d->result;
		if (slot) {
			if (nf != 2 || *slot)
				bad = 1;
			else
				*slot = sul_xstrdup(f[1]);
		} else if (!strcmp(f[0], "version") && nf == 2) {
			char *end;
			d->version = (int)strtol(f[1], &end, 10);
			bad = !*f[1] || *end;
		} else if (!strcmp(f[0], "param")) {
			bad = read_param(&d->params, &d->nparams, f, nf, err);
		} else if (!strcmp(f[0], "setting")) {
			bad = read_param(&d->keys, &d->nkeys, f, nf, err);
		} else if (!strcmp(f[0], "input") && nf == 4) {
			d->inputs = sul_xrealloc(d->inputs, (d->ninputs + 1) * sizeof(*d->inputs));
			d->inputs[d->ninputs].id = sul_xstrdup(f[1]);
			d->inputs[d->ninputs].dir = sul_xstrdup(f[2]);
			d->inputs[d->ninputs].kind = sul_xstrdup(f[3]);
			d->ninputs++;
		} else {
			bad = 1;
			sul_err_set(err, SUL_ERR_FAIL, "unknown record '%s'", f[0]);
		}
		for (i = 0; i < nf; i++)
			free(f[i]);
		if (bad) {
			if (!err || !err->msg[0] || err->kind == SUL_ERR_NONE)
				sul_err_set(err, SUL_ERR_FAIL, "malformed record");
			sul_err_prefix(err, "%s:%d", path, lineno);
			goto out;
		}
	}
	if (!d->id || !d->kind || !d->key || !d->workdir || !d->staging || !d->cache || !d->result) {
		sul_err_set(err, SUL_ERR_FAIL, "%s: incomplete job file", path);
		goto out;
	}
	ret = 0;
out:
	sul_buf_release(&b);
	if (ret)
		sul_jobfile_release(d);
	return ret;
}

void sul_jobfile_release(struct sul_jobfile *d)
{
	size_t i;

	free(d->id);
	free(d->kind);
	free(d->key);
	free(d->workdir);
	free(d->staging);
	free(d->cache);
	free(d->result);
	sul_params_free(d->params, d->nparams);
	sul_params_free(d->keys, d->nkeys);
	for (i = 0; i < d->ninputs; i++) {
		free((char *)d->inputs[i].id);
		free((char *)d->inputs[i].dir);
		free((char *)d->inputs[i].kind);
	}
	free(d->inputs);
	memset(d, 0, sizeof(*d));
}

int sul_result_write(const char *path, int ok, const char *msg, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	int ret;

	if (ok) {
		sul_buf_adds(&b, "ok\n");
	} else {
		sul_buf_adds(&b, "failed\t");
		add_escaped(&b, msg);
		sul_buf_addc(&b, '\n');
	}
	/* Read only after this process has ended: a part written before a
	 * crash reads as no result, and nothing is left to make durable. */
	ret = sul_write_file(path, b.buf, b.len, err);
	sul_buf_release(&b);
	return ret;
}

int sul_result_read(const char *path, struct sul_buf *msg)
{
	struct sul_buf b = SUL_BUF_INIT;
	struct sul_err err = SUL_ERR_INIT;
	int ret = -1;

	if (sul_read_file(path, &b, &err))
		goto out;
	if (!strcmp(b.buf, "ok\n")) {
		ret = 1;
	} else if (!strncmp(b.buf, "failed\t", 7)) {
		char *text;
		if (b.len && b.buf[b.len - 1] == '\n')
			b.buf[--b.len] = '\0';
		text = unescape(b.buf + 7);
		sul_buf_adds(msg, text);
		free(text);
		ret = 0;
	}
out:
	sul_buf_release(&b);
	return ret;
}
