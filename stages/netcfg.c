/*
 * netcfg.c - reading, checking and rewriting Darknet network files; see
 * netcfg.h.  The accepted keys per section are those Darknet's parser.c
 * (git 61c9d02e) reads for that section, plus the keys it reads for every
 * layer.
 */
#include "netcfg.h"

#include "../engine/fsutil.h"
#include "../engine/strbuf.h"
#include "../engine/suggest.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct section_kind {
	const char *name, *alias;
	const char *keys;  /* space-separated */
};

static const char common_keys[] =
	"truth onlyforward stopbackward dontsave dontload numload dontloadscales learning_rate smooth";

static const struct section_kind kinds[] = {
	{ "net", "network",
	  "adam angle aspect batch burn_in center channels clip decay eps exposure gamma height hue inputs "
	  "learning_rate max_batches max_crop max_ratio min_crop min_ratio momentum notruth policy power random "
	  "saturation scale scales step steps subdivisions time_steps width B1 B2 top" },
	{ "convolutional", "conv", "activation batch_normalize binary dot filters flipped groups pad padding size stride xnor" },
	{ "connected", "conn", "activation batch_normalize output" },
	{ "maxpool", "max", "padding size stride" },
	{ "avgpool", "avg", "" },
	{ "dropout", NULL, "probability" },
	{ "softmax", "soft", "groups noloss spatial temperature tree" },
	{ "shortcut", NULL, "activation alpha beta from" },
	{ "route", NULL, "layers" },
	{ "batchnorm", NULL, "" },
	{ "activation", NULL, "activation" },
};

/* Darknet's own section names that sulcus does not run (detection, RNN...). */
static const char other_darknet_sections[] =
	" crop cost detection region yolo iseg local deconv deconvolutional logistic l2norm crnn gru lstm rnn reorg "
	"lrn normalization upsample ";

static const struct section_kind *find_kind(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (!strcmp(kinds[i].name, name) || (kinds[i].alias && !strcmp(kinds[i].alias, name)))
			return &kinds[i];
	return NULL;
}

static int has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while ((p = strstr(p, w))) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += n;
	}
	return 0;
}

/* Darknet's strip(): removes every whitespace character. */
static void strip_all(char *s)
{
	char *d = s;

	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			*d++ = *s;
	*d = '\0';
}

__attribute__((format(printf, 4, 5)))
static int bad(struct sul_err *err, const char *path, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: %s", path, line, msg);
}

static int check_key(const char *path, const struct sul_netcfg_section *s, const struct section_kind *k,
		     const struct sul_netcfg_opt *o, struct sul_err *err)
{
	struct sul_buf all = SUL_BUF_INIT;
	const char *cands[96];
	const char *best;
	char *p;
	size_t n = 0;
	int r;

	if (has_word(k->keys, o->key) || (strcmp(k->name, "net") && has_word(common_keys, o->key)))
		return 0;
	sul_buf_addf(&all, "%s %s", k->keys, strcmp(k->name, "net") ? common_keys : "");
	/* Split a copy of the word list in place. */
	p = sul_xstrdup(all.buf);
	cands[0] = p;
	for (char *q = p; *q && n < 96; q++)
		if (*q == ' ') {
			*q = '\0';
			if (*cands[n])
				n++;
			cands[n] = q + 1;
		}
	if (n < 96 && *cands[n])
		n++;
	best = sul_suggest(o->key, cands, n);
	if (best)
		r = sul_err_set(err, SUL_ERR_INPUT, "%s:%d: [%s]: unknown key '%s' (did you mean '%s'?)", path, o->line,
				s->type, o->key, best);
	else
		r = sul_err_set(err, SUL_ERR_INPUT, "%s:%d: [%s]: unknown key '%s'; Darknet reads: %s", path, o->line,
				s->type, o->key, all.buf);
	free(p);
	sul_buf_release(&all);
	return r;
}

/* Keys whose value Darknet reads with atoi() or atof(): a typo there
 * silently becomes 0. */
static const char int_keys[] =
	"batch subdivisions width height channels max_batches step time_steps max_crop min_crop center random "
	"inputs notruth adam burn_in filters size stride pad padding groups batch_normalize binary xnor flipped "
	"output noloss spatial truth onlyforward stopbackward dontsave dontload numload dontloadscales";
static const char float_keys[] =
	"learning_rate momentum decay gamma scale power angle aspect exposure saturation hue max_ratio min_ratio "
	"clip B1 B2 eps probability temperature alpha beta dot smooth";

static int check_value(const char *path, const struct sul_netcfg_section *s, const struct sul_netcfg_opt *o,
		       struct sul_err *err)
{
	char *end;

	if (has_word(int_keys, o->key)) {
		long v = strtol(o->value, &end, 10);
		(void)v;
		if (!*o->value || *end)
			return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: [%s]: %s='%s': expected an integer", path,
					   o->line, s->type, o->key, o->value);
	} else if (has_word(float_keys, o->key)) {
		double v = strtod(o->value, &end);
		(void)v;
		if (!*o->value || *end)
			return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: [%s]: %s='%s': expected a number", path, o->line,
					   s->type, o->key, o->value);
	}
	return 0;
}

int sul_netcfg_read(const char *path, struct sul_netcfg *cfg, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *line, *next;
	int lineno = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->path = sul_xstrdup(path);
	if (sul_read_file(path, &b, err))
		goto fail;
	for (line = b.buf; line && *line; line = next) {
		struct sul_netcfg_section *s;
		char *eq;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		strip_all(line);
		if (!*line || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			const struct section_kind *k;
			char *end = strchr(line, ']');
			if (!end || end[1]) {
				bad(err, path, lineno, "expected a section header like [convolutional], got '%s'", line);
				goto fail;
			}
			*end = '\0';
			k = find_kind(line + 1);
			if (!k) {
				char probe[64];
				snprintf(probe, sizeof(probe), " %s ", line + 1);
				if (strstr(other_darknet_sections, probe))
					bad(err, path, lineno,
					    "[%s] layers are not supported: sulcus trains classification networks "
					    "(convolutional, connected, maxpool, avgpool, dropout, shortcut, route, "
					    "batchnorm, activation, softmax)",
					    line + 1);
				else
					bad(err, path, lineno, "unknown section [%s]", line + 1);
				goto fail;
			}
			if (cfg->nsec == 0 && strcmp(k->name, "net")) {
				bad(err, path, lineno, "the first section must be [net], got [%s]", line + 1);
				goto fail;
			}
			if (cfg->nsec > 0 && !strcmp(k->name, "net")) {
				bad(err, path, lineno, "a second [net] section");
				goto fail;
			}
			cfg->sec = sul_xrealloc(cfg->sec, (cfg->nsec + 1) * sizeof(*cfg->sec));
			s = &cfg->sec[cfg->nsec++];
			memset(s, 0, sizeof(*s));
			s->type = sul_xstrdup(k->name);
			s->line = lineno;
			continue;
		}
		if (cfg->nsec == 0) {
			bad(err, path, lineno, "'%s' before the first section (expected [net])", line);
			goto fail;
		}
		eq = strchr(line, '=');
		if (!eq || eq == line) {
			bad(err, path, lineno, "expected KEY=VALUE, got '%s'", line);
			goto fail;
		}
		*eq = '\0';
		s = &cfg->sec[cfg->nsec - 1];
		s->opts = sul_xrealloc(s->opts, (s->nopts + 1) * sizeof(*s->opts));
		s->opts[s->nopts].key = sul_xstrdup(line);
		s->opts[s->nopts].value = sul_xstrdup(eq + 1);
		s->opts[s->nopts].line = lineno;
		s->nopts++;
		if (check_key(path, s, find_kind(s->type), &s->opts[s->nopts - 1], err)
		    || check_value(path, s, &s->opts[s->nopts - 1], err))
			goto fail;
	}
	if (cfg->nsec == 0) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: no sections (expected [net] and layers)", path);
		goto fail;
	}
	if (cfg->nsec == 1) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: [net] but no layers", path);
		goto fail;
	}
	if (sul_netcfg_classes(cfg) < 0) {
		sul_err_set(err, SUL_ERR_INPUT,
			    "%s: expected a classifier ending in [connected] or [convolutional], (optionally [dropout] "
			    "or [avgpool],) then [softmax]; it ends in [%s]",
			    path, cfg->sec[cfg->nsec - 1].type);
		goto fail;
	}
	if (sul_netcfg_check(cfg, err))
		goto fail;
	sul_buf_release(&b);
	return 0;
fail:
	sul_buf_release(&b);
	sul_netcfg_release(cfg);
	return -1;
}

void sul_netcfg_release(struct sul_netcfg *cfg)
{
	size_t i, j;

	for (i = 0; i < cfg->nsec; i++) {
		for (j = 0; j < cfg->sec[i].nopts; j++) {
			free(cfg->sec[i].opts[j].key);
			free(cfg->sec[i].opts[j].value);
		}
		free(cfg->sec[i].opts);
		free(cfg->sec[i].type);
	}
	free(cfg->sec);
	free(cfg->path);
	memset(cfg, 0, sizeof(*cfg));
}

const char *sul_netcfg_get(const struct sul_netcfg *cfg, size_t i, const char *key)
{
	size_t j;

	for (j = cfg->sec[i].nopts; j-- > 0;)  /* Darknet takes the last occurrence */
		if (!strcmp(cfg->sec[i].opts[j].key, key))
			return cfg->sec[i].opts[j].value;
	return NULL;
}

void sul_netcfg_unset(struct sul_netcfg *cfg, size_t i, const char *key)
{
	struct sul_netcfg_section *s = &cfg->sec[i];
	size_t j = 0;

	while (j < s->nopts) {
		if (!strcmp(s->opts[j].key, key)) {
			free(s->opts[j].key);
			free(s->opts[j].value);
			memmove(&s->opts[j], &s->opts[j + 1], (s->nopts - j - 1) * sizeof(*s->opts));
			s->nopts--;
		} else {
			j++;
		}
	}
}

void sul_netcfg_set(struct sul_netcfg *cfg, size_t i, const char *key, const char *value)
{
	struct sul_netcfg_section *s = &cfg->sec[i];

	sul_netcfg_unset(cfg, i, key);
	s->opts = sul_xrealloc(s->opts, (s->nopts + 1) * sizeof(*s->opts));
	s->opts[s->nopts].key = sul_xstrdup(key);
	s->opts[s->nopts].value = sul_xstrdup(value);
	s->opts[s->nopts].line = 0;
	s->nopts++;
}

int sul_netcfg_classes(const struct sul_netcfg *cfg)
{
	size_t i = cfg->nsec - 1;
	const char *v;

	if (strcmp(cfg->sec[i].type, "softmax"))
		return -1;
	while (i-- > 1) {
		const char *t = cfg->sec[i].type;
		if (!strcmp(t, "dropout") || !strcmp(t, "avgpool"))
			continue;
		if (!strcmp(t, "connected"))
			v = sul_netcfg_get(cfg, i, "output");
		else if (!strcmp(t, "convolutional"))
			v = sul_netcfg_get(cfg, i, "filters");
		else
			return -1;
		return v ? (int)strtol(v, NULL, 10) : 1;  /* checked by check_value() */
	}
	return -1;
}

int sul_netcfg_write(const struct sul_netcfg *cfg, const char *header, const char *path, struct sul_err *err)
{
	struct sul_buf b = SUL_BUF_INIT;
	size_t i, j;
	int r;

	if (header) {
		const char *p = header;
		while (*p) {
			size_t n = strcspn(p, "\n");
			sul_buf_addf(&b, "# %.*s\n", (int)n, p);
			p += n + (p[n] == '\n');
		}
	}
	for (i = 0; i < cfg->nsec; i++) {
		sul_buf_addf(&b, "%s[%s]\n", i ? "\n" : "", cfg->sec[i].type);
		for (j = 0; j < cfg->sec[i].nopts; j++)
			sul_buf_addf(&b, "%s=%s\n", cfg->sec[i].opts[j].key, cfg->sec[i].opts[j].value);
	}
	r = sul_write_file_atomic(path, b.buf, b.len, err);
	sul_buf_release(&b);
	return r;
}
