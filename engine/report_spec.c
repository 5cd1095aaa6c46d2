/*
 * report_spec.c - a report spec (report.h): found beside its workflow, and
 * parsed and checked into struct sul_report (unknown keys, keys that do not
 * apply to a section's kind and sections without what their kind needs are
 * refused with the spec's file and line).  Nothing here runs a query or
 * writes HTML.
 */
#include "report_private.h"
#include "fsutil.h"
#include "suggest.h"
#include "workflow.h"

#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sul_report_kind_names[NKINDS] = { "table", "bars", "lines", "matrix", "montage", "links", "graph",
						     "text" };
#define kind_names sul_report_kind_names

#define KB(k) (1u << (k))
#define K_ALL (KB(NKINDS) - 1)

/* The keys a section may have, and the kinds they apply to. */
static const struct key {
	const char *name;
	unsigned kinds;
} keys[] = {
	{ "id", K_ALL },
	{ "title", K_ALL },
	{ "kind", K_ALL },
	{ "text", K_ALL },
	{ "query", K_ALL & ~KB(K_TEXT) },
	{ "empty", K_ALL & ~KB(K_TEXT) },
	{ "x_label", KB(K_BARS) | KB(K_LINES) },
	{ "y_label", KB(K_BARS) | KB(K_LINES) },
	{ "row_label", KB(K_MATRIX) },
	{ "col_label", KB(K_MATRIX) },
	{ "per_panel", KB(K_MONTAGE) },
	{ "colorbar", KB(K_MONTAGE) },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

#define DEFAULT_PER_PANEL 12

static int fail_at(const char *name, const config_setting_t *s, struct sul_err *err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_at(const char *name, const config_setting_t *s, struct sul_err *err, const char *fmt, ...)
{
	char msg[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: %s", name, (int)config_setting_source_line(s), msg);
}

static void section_release(struct section *s)
{
	free(s->id);
	free(s->title);
	free(s->text);
	free(s->query);
	free(s->empty);
	free(s->x_label);
	free(s->y_label);
	free(s->row_label);
	free(s->col_label);
	free(s->colorbar);
}

/* "#RRGGBB OFFSET, ...": colours with offsets from 0 to 1, ascending. */
static int valid_colorbar(const char *v)
{
	double last = -1;
	int n = 0;

	while (*v) {
		unsigned rgb;
		double off;
		int used = 0;
		if (sscanf(v, " #%6x %lf%n", &rgb, &off, &used) != 2 || off < last || off > 1 || off < 0)
			return 0;
		last = off;
		n++;
		v += used;
		while (*v == ' ')
			v++;
		if (*v == ',')
			v++;
		else if (*v)
			return 0;
	}
	return n >= 2;
}

void sul_report_free(struct sul_report *rep)
{
	size_t i;

	if (!rep)
		return;
	for (i = 0; i < rep->n; i++)
		section_release(&rep->sec[i]);
	free(rep->sec);
	free(rep->name);
	free(rep->title);
	free(rep);
}

size_t sul_report_nsections(const struct sul_report *rep)
{
	return rep->n;
}

static int valid_id(const char *id)
{
	const char *p;

	if (!((*id >= 'a' && *id <= 'z') || (*id >= 'A' && *id <= 'Z')))
		return 0;
	for (p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_'
		      || *p == '-'))
			return 0;
	return 1;
}

/* The string member `key` of g, or NULL when absent; -1 when not a string. */
static int get_string(const char *name, const config_setting_t *g, const char *key, const char *what,
		      const char **out, struct sul_err *err)
{
	const config_setting_t *m = config_setting_get_member(g, key);

	*out = NULL;
	if (!m)
		return 0;
	if (config_setting_type(m) != CONFIG_TYPE_STRING)
		return fail_at(name, m, err, "%s'%s': expected a string, got %s", what, key,
			       sul_config_type_word(config_setting_type(m)));
	*out = config_setting_get_string(m);
	return 0;
}

static int parse_section(struct sul_report *rep, const config_setting_t *g, size_t index, struct sul_err *err)
{
	const char *name = rep->name, *id, *kind, *v;
	char what[256];
	struct section *s = &rep->sec[rep->n];
	int i, n, k;
	size_t j;

	memset(s, 0, sizeof(*s));
	s->line = (int)config_setting_source_line(g);
	if (!config_setting_is_group(g))
		return fail_at(name, g, err, "section %zu: expected a group { id = ...; kind = ...; }, got %s", index + 1,
			       sul_config_type_word(config_setting_type(g)));
	snprintf(what, sizeof(what), "section %zu: ", index + 1);
	if (get_string(name, g, "id", what, &id, err))
		return -1;
	if (!id)
		return fail_at(name, g, err, "section %zu: missing 'id'", index + 1);
	if (!valid_id(id))
		return fail_at(name, g, err, "section '%s': 'id' must be a letter then letters, digits, '_' or '-'", id);
	for (j = 0; j < rep->n; j++)
		if (!strcmp(rep->sec[j].id, id))
			return fail_at(name, g, err, "section '%s': id already used by the section at line %d", id,
				       rep->sec[j].line);
	snprintf(what, sizeof(what), "section '%s': ", id);
	if (get_string(name, g, "kind", what, &kind, err))
		return -1;
	if (!kind)
		return fail_at(name, g, err, "section '%s': missing 'kind' (table, bars, lines, matrix, montage, links or text)",
			       id);
	for (k = 0; k < NKINDS && strcmp(kind_names[k], kind); k++)
		;
	if (k == NKINDS) {
		const char *sug = sul_suggest(kind, kind_names, NKINDS);
		return fail_at(name, config_setting_get_member(g, "kind"), err,
			       "section '%s': unknown kind '%s'%s%s%s (table, bars, lines, matrix, montage, links or text)",
			       id, kind, sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
	}
	s->kind = (enum kind)k;

	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *key = config_setting_name(m);
		char **slot = NULL;
		for (j = 0; j < NKEYS && strcmp(keys[j].name, key); j++)
			;
		if (j == NKEYS) {
			const char *cands[NKEYS], *sug;
			size_t c;
			for (c = 0; c < NKEYS; c++)
				cands[c] = keys[c].name;
			sug = sul_suggest(key, cands, NKEYS);
			return fail_at(name, m, err, "section '%s': unknown key '%s'%s%s%s", id, key,
				       sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
		}
		if (!(keys[j].kinds & KB(s->kind)))
			return fail_at(name, m, err, "section '%s': key '%s' does not apply to kind '%s'", id, key, kind);
		if (!strcmp(key, "per_panel")) {
			long long pp;
			if (config_setting_type(m) != CONFIG_TYPE_INT && config_setting_type(m) != CONFIG_TYPE_INT64)
				return fail_at(name, m, err, "section '%s': 'per_panel': expected an integer, got %s", id,
					       sul_config_type_word(config_setting_type(m)));
			pp = config_setting_get_int64(m);
			if (pp < 1)
				return fail_at(name, m, err, "section '%s': 'per_panel': expected at least 1, got %lld", id,
					       pp);
			s->per_panel = pp;
			continue;
		}
		if (config_setting_type(m) != CONFIG_TYPE_STRING)
			return fail_at(name, m, err, "section '%s': '%s': expected a string, got %s", id, key,
				       sul_config_type_word(config_setting_type(m)));
		v = config_setting_get_string(m);
		if (!strcmp(key, "title")) slot = &s->title;
		else if (!strcmp(key, "text")) slot = &s->text;
		else if (!strcmp(key, "query")) slot = &s->query;
		else if (!strcmp(key, "empty")) slot = &s->empty;
		else if (!strcmp(key, "x_label")) slot = &s->x_label;
		else if (!strcmp(key, "y_label")) slot = &s->y_label;
		else if (!strcmp(key, "row_label")) slot = &s->row_label;
		else if (!strcmp(key, "col_label")) slot = &s->col_label;
		else if (!strcmp(key, "colorbar")) {
			if (!valid_colorbar(v))
				return fail_at(name, m, err, "section '%s': 'colorbar': expected \"#RRGGBB OFFSET, ...\" "
							     "with offsets from 0 to 1 ascending, got '%s'",
					       id, v);
			slot = &s->colorbar;
		}
		if (slot)
			*slot = sul_xstrdup(v);
	}
	if (s->kind != K_TEXT && !s->query)
		return fail_at(name, g, err, "section '%s': kind '%s' needs a 'query'", id, kind);
	if (s->kind == K_TEXT && !s->text)
		return fail_at(name, g, err, "section '%s': kind 'text' needs a 'text'", id);
	s->id = sul_xstrdup(id);
	if (!s->title)
		s->title = sul_xstrdup(id);
	if (!s->per_panel)
		s->per_panel = DEFAULT_PER_PANEL;
	rep->n++;
	return 0;
}

int sul_report_parse(const char *text, const char *name, struct sul_report **out, struct sul_err *err)
{
	struct sul_report *rep = sul_xcalloc(1, sizeof(*rep));
	config_t cfg;
	config_setting_t *root, *secs = NULL;
	int i, n, ret = -1;

	config_init(&cfg);
	rep->name = sul_xstrdup(name);
	if (!config_read_string(&cfg, text)) {
		sul_err_set(err, SUL_ERR_INPUT, "%s:%d: %s", name, config_error_line(&cfg), config_error_text(&cfg));
		goto out;
	}
	root = config_root_setting(&cfg);
	n = config_setting_length(root);
	for (i = 0; i < n; i++) {
		config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
		const char *key = config_setting_name(m);
		if (!strcmp(key, "title")) {
			if (config_setting_type(m) != CONFIG_TYPE_STRING) {
				fail_at(name, m, err, "'title': expected a string, got %s", sul_config_type_word(config_setting_type(m)));
				goto out;
			}
			rep->title = sul_xstrdup(config_setting_get_string(m));
		} else if (!strcmp(key, "sections")) {
			if (config_setting_type(m) != CONFIG_TYPE_LIST) {
				fail_at(name, m, err, "'sections': expected a list ( {...}, {...} ), got %s",
					sul_config_type_word(config_setting_type(m)));
				goto out;
			}
			secs = m;
		} else {
			static const char *const top[] = { "title", "sections" };
			const char *sug = sul_suggest(key, top, 2);
			fail_at(name, m, err, "unknown key '%s'%s%s%s (a report spec has 'title' and 'sections')", key,
				sug ? " (did you mean '" : "", sug ? sug : "", sug ? "'?)" : "");
			goto out;
		}
	}
	if (!secs) {
		sul_err_set(err, SUL_ERR_INPUT, "%s: no 'sections' list", name);
		goto out;
	}
	n = config_setting_length(secs);
	rep->sec = sul_xcalloc((size_t)n + 1, sizeof(*rep->sec));
	for (i = 0; i < n; i++)
		if (parse_section(rep, config_setting_get_elem(secs, (unsigned)i), (size_t)i, err)) {
			section_release(&rep->sec[rep->n]);
			goto out;
		}
	if (!rep->title)
		rep->title = sul_xstrdup("sulcus report");
	*out = rep;
	rep = NULL;
	ret = 0;
out:
	config_destroy(&cfg);
	sul_report_free(rep);
	return ret;
}

char *sul_report_find_spec(const char *workflow, struct sul_buf *looked_at)
{
	const char *slash = strrchr(workflow, '/'), *base = slash ? slash + 1 : workflow;
	size_t dirlen = slash ? (size_t)(slash - workflow) + 1 : 0, namelen = strlen(base);
	char *cand[2];
	int i, found = -1;

	if (namelen > 4 && !strcmp(base + namelen - 4, ".cfg"))
		namelen -= 4;
	cand[0] = sul_xasprintf("%.*s%.*s.report.cfg", (int)dirlen, workflow, (int)namelen, base);
	cand[1] = sul_xasprintf("%.*sreport.cfg", (int)dirlen, workflow);
	/* A workflow file called report.cfg is not its own spec. */
	for (i = 0; i < 2 && found < 0; i++)
		if (strcmp(cand[i], workflow) && sul_path_exists(cand[i]))
			found = i;
	if (looked_at)
		sul_buf_addf(looked_at, "'%s' or '%s'", cand[0], cand[1]);
	for (i = 0; i < 2; i++)
		if (i != found)
			free(cand[i]);
	return found < 0 ? NULL : cand[found];
}
