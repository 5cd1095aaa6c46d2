/*
 * workflow.c - parse a libconfig workflow file into validated stages.
 *
 * The order of work: read the file, expand each stage template over its
 * `foreach` lists (substituting the loop variables), resolve `{params.NAME}`
 * references to workflow parameters, apply --set overrides, check every
 * parameter against its kind's schema, resolve inputs, run each kind's own
 * check, and finally look for cycles.  It does not touch the workspace.
 */
#include "workflow.h"
#include "fsutil.h"
#include "schema.h"
#include "suggest.h"
#include "template.h"

#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_EXPANSION 100000

/* Where a setting was written: "FILE:LINE". */
struct loc {
	const char *file;
	int line;
};

/* One loop variable of a foreach, bound to one of its values. */
struct binding {
	const char *name;
	const config_setting_t *value;
};

struct loader {
	struct sul_workflow *wf;
	size_t stages_alloc;
	config_t cfg;
	struct sul_err *err;
	const char *const *sets;  /* the --set arguments */
	size_t nsets;
};

static int apply_global_sets(struct sul_workflow *wf, const char *const *sets, size_t nsets,
			     struct sul_err *err);

static const char *intern(struct sul_workflow *wf, const char *file);

/*
 * libconfig 1.5 puts the include folder in front of every @include path,
 * absolute ones too.  An absolute path in the workflow itself is rewritten,
 * on the same line, as a relative one that climbs to / from that folder
 * (one ".." per component of its real path; more at / stay at /).  Files
 * that it includes are read by libconfig alone: an absolute @include in
 * them still fails, and parse_error() says so.
 */
static void absolute_includes(const char *dir, struct sul_buf *text)
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

/* libconfig's own words, with what they leave out. */
static void parse_error(struct sul_workflow *wf, const config_t *cfg, struct sul_err *err)
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

static struct loc loc_of(struct loader *ld, const config_setting_t *s)
{
	struct loc l = { intern(ld->wf, config_setting_source_file(s)), (int)config_setting_source_line(s) };
	return l;
}

/* Fails with "FILE:LINE: MESSAGE" (kind SUL_ERR_INPUT). */
static int fail_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_at(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
	struct loc l = loc_of(ld, s);
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
static void add_suggestion(struct sul_buf *b, const char *word, const char *const *cands, size_t n)
{
	const char *s = sul_suggest(word, cands, n);
	if (s)
		sul_buf_addf(b, " (did you mean '%s'?)", s);
}

/* Converts a scalar setting to a value. */
static int scalar_value(struct loader *ld, const config_setting_t *s, const char *what,
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
		return fail_at(ld, s, "%s: expected a number, string or boolean, got %s", what,
			       sul_config_type_word(config_setting_type(s)));
	}
}

/* --- substitution of foreach variables and workflow parameters --------- */

struct subst {
	struct loader *ld;
	const char *stage;  /* id template, for messages */
	const struct binding *vars;
	size_t nvars;
	const config_setting_t *where;
	int globals;   /* also expand {params.NAME} from workflow params */
};

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
			if (scalar_value(s->ld, s->vars[i].value, "foreach value", &v))
				return -1;
			sul_value_text(&v, out);
			sul_value_clear(&v);
			return 0;
		}
	}
	if (s->globals && !strncmp(name, "params.", 7)) {
		const struct sul_value *g = find_global(s->ld->wf, name + 7);
		if (!g)
			return fail_at(s->ld, s->where, "stage '%s': '{%s}': the workflow has no parameter '%s'",
				       s->stage, name, name + 7);
		sul_value_text(g, out);
		return 0;
	}
	return 1;
}

/* Substitutes loop variables (and optionally globals) into a string. */
static char *subst_str(struct subst *s, const char *str)
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
static int subst_value(struct subst *s, const config_setting_t *set, const char *what,
		       struct sul_value *v)
{
	char *whole, *text;
	size_t i;

	if (scalar_value(s->ld, set, what, v))
		return -1;
	if (v->type != SUL_T_STRING)
		return 0;
	whole = sul_template_whole(v->s);
	if (whole) {
		for (i = 0; i < s->nvars; i++) {
			if (!strcmp(s->vars[i].name, whole)) {
				free(whole);
				sul_value_clear(v);
				return scalar_value(s->ld, s->vars[i].value, "foreach value", v);
			}
		}
		if (s->globals && !strncmp(whole, "params.", 7) && find_global(s->ld->wf, whole + 7)) {
			sul_value_clear(v);
			sul_value_copy(v, find_global(s->ld->wf, whole + 7));
			free(whole);
			return 0;
		}
		free(whole);
	}
	text = subst_str(s, v->s);
	if (!text) {
		sul_value_clear(v);
		return -1;
	}
	free(v->s);
	v->s = text;
	return 0;
}

/* --- reading one stage ------------------------------------------------- */

static const char *const stage_keys[] = { "id", "kind", "inputs", "params", "foreach", "files", "resources" };
#define NSTAGE_KEYS (sizeof(stage_keys) / sizeof(stage_keys[0]))

/* A stage group's engine keys (stage_keys, in that order), found in one
 * pass: config_setting_get_member scans the group again for each name,
 * which a 10,000-stage workflow notices. */
struct stage_members {
	const config_setting_t *of[NSTAGE_KEYS];
};
enum { M_ID, M_KIND, M_INPUTS, M_PARAMS, M_FOREACH, M_FILES, M_RESOURCES };

static void find_members(const config_setting_t *g, struct stage_members *sm)
{
	int i, n = config_setting_length(g);
	size_t k;

	memset(sm, 0, sizeof(*sm));
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		for (k = 0; k < NSTAGE_KEYS; k++)
			if (!strcmp(stage_keys[k], name)) {
				sm->of[k] = m;
				break;
			}
	}
}


static int check_stage_keys(struct loader *ld, const config_setting_t *g, const struct sul_kind *kind,
			    const char *id)
{
	int i, n = config_setting_length(g);

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m);
		const char *cands[64];
		size_t nc = 0, k;
		struct sul_buf b = SUL_BUF_INIT;
		const struct sul_param_spec *sp;
		int known = 0;

		for (k = 0; k < NSTAGE_KEYS && !known; k++)
			known = !strcmp(stage_keys[k], name);
		for (sp = kind->keys; sp && sp->name && !known; sp++)
			known = !strcmp(sp->name, name);
		if (known)
			continue;
		for (k = 0; k < NSTAGE_KEYS; k++)
			cands[nc++] = stage_keys[k];
		for (sp = kind->keys; sp && sp->name && nc < 64; sp++)
			cands[nc++] = sp->name;
		sul_buf_addf(&b, "stage '%s': unknown key '%s' for kind '%s'", id, name, kind->name);
		add_suggestion(&b, name, cands, nc);
		fail_at(ld, m, "%s", b.buf);
		sul_buf_release(&b);
		return -1;
	}
	return 0;
}

static void add_param(struct sul_param **arr, size_t *n, const char *name, struct sul_value *v,
		      struct loc l)
{
	struct sul_param *p;

	*arr = sul_xrealloc(*arr, (*n + 1) * sizeof(**arr));
	p = &(*arr)[(*n)++];
	p->name = sul_xstrdup(name);
	p->v = *v;
	p->file = l.file;
	p->line = l.line;
	memset(v, 0, sizeof(*v));
}

static int read_params(struct loader *ld, struct subst *sb, const config_setting_t *g,
		       const char *id, struct sul_stage *st)
{
	int i, n;

	if (!config_setting_is_group(g))
		return fail_at(ld, g, "stage '%s': 'params': expected a group { name = value; ... }, got %s",
			       id, sul_config_type_word(config_setting_type(g)));
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		char what[256];
		struct sul_value v;

		snprintf(what, sizeof(what), "stage '%s': parameter '%s'", id, config_setting_name(m));
		sb->where = m;
		if (subst_value(sb, m, what, &v))
			return -1;
		add_param(&st->params, &st->nparams, config_setting_name(m), &v, loc_of(ld, m));
	}
	return 0;
}

static int read_keys(struct loader *ld, struct subst *sb, const config_setting_t *g,
		     const char *id, struct sul_stage *st)
{
	const struct sul_param_spec *sp;

	for (sp = st->kind->keys; sp && sp->name; sp++) {
		const config_setting_t *m = config_setting_get_member(g, sp->name);
		char what[256];
		struct sul_value v;
		int r;

		snprintf(what, sizeof(what), "stage '%s': '%s'", id, sp->name);
		if (!m) {
			if (!sp->def)
				return fail_at(ld, g, "stage '%s': missing '%s' (%s)", id, sp->name, sp->doc);
			continue;
		}
		sb->where = m;
		/* {params.NAME} in a key stays for the kind (see import_globals). */
		sb->globals = 0;
		r = subst_value(sb, m, what, &v);
		sb->globals = 1;
		if (r)
			return -1;
		if (v.type != SUL_T_STRING && sp->type == SUL_T_STRING) {
			sul_value_clear(&v);
			return fail_at(ld, m, "%s: expected a string", what);
		}
		add_param(&st->keys, &st->nkeys, sp->name, &v, loc_of(ld, m));
	}
	return 0;
}

static int read_string_list(struct loader *ld, struct subst *sb, const config_setting_t *s,
			    const char *id, const char *what, char ***out, size_t *nout)
{
	int i, n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		return fail_at(ld, s, "stage '%s': '%s': expected a list of strings [\"...\", ...], got %s",
			       id, what, sul_config_type_word(config_setting_type(s)));
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char *v;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return fail_at(ld, e, "stage '%s': '%s': expected strings, got %s", id, what,
				       sul_config_type_word(config_setting_type(e)));
		sb->where = e;
		v = subst_str(sb, config_setting_get_string(e));
		if (!v)
			return -1;
		*out = sul_xrealloc(*out, (*nout + 1) * sizeof(**out));
		(*out)[(*nout)++] = v;
	}
	return 0;
}

static const char *const resource_keys[] = { "cpus", "mem", "time", "gpus", "partition", "account", "sbatch" };

static int read_resources(struct loader *ld, const config_setting_t *g, const char *what,
			  struct sul_resources *r)
{
	int i, n;

	if (!config_setting_is_group(g))
		return fail_at(ld, g, "%s'resources': expected a group { cpus = 2; mem = \"4G\"; ... }, got %s", what,
			       sul_config_type_word(config_setting_type(g)));
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		const char *name = config_setting_name(m), *bad = NULL;
		int type = config_setting_type(m);

		if (!strcmp(name, "cpus") || !strcmp(name, "gpus")) {
			long long v = config_setting_get_int64(m);
			long lo = name[0] == 'c' ? 1 : 0, hi = name[0] == 'c' ? 4096 : 64;
			if ((type != CONFIG_TYPE_INT && type != CONFIG_TYPE_INT64) || v < lo || v > hi)
				return fail_at(ld, m, "%sresource '%s': expected an integer from %ld to %ld", what, name,
					       lo, hi);
			if (name[0] == 'c')
				r->cpus = (long)v;
			else
				r->gpus = (long)v;
		} else if (!strcmp(name, "time") && (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)) {
			long long v = config_setting_get_int64(m);
			if (v < 1)
				return fail_at(ld, m, "%sresource 'time': expected a positive number of minutes", what);
			free(r->time);
			r->time = sul_xasprintf("%lld", v);
		} else if (!strcmp(name, "mem") || !strcmp(name, "time") || !strcmp(name, "partition")
			   || !strcmp(name, "account")) {
			const char *v = type == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
			char **slot = name[0] == 'm' ? &r->mem : name[0] == 't' ? &r->time
				      : name[0] == 'p' ? &r->partition : &r->account;
			if (!v)
				return fail_at(ld, m, "%sresource '%s': expected a string, got %s", what, name,
					       sul_config_type_word(type));
			if (name[0] == 'm')
				bad = sul_resources_check_mem(v);
			else if (name[0] == 't')
				bad = sul_resources_check_time(v);
			else if (!*v || strpbrk(v, " \t\n"))
				bad = "a name without spaces";
			if (bad)
				return fail_at(ld, m, "%sresource '%s': expected %s, got '%s'", what, name, bad, v);
			free(*slot);
			*slot = sul_xstrdup(v);
		} else if (!strcmp(name, "sbatch")) {
			int k, len;
			if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
				return fail_at(ld, m, "%sresource 'sbatch': expected a list of sbatch options [\"--qos=high\"]",
					       what);
			len = config_setting_length(m);
			for (k = 0; k < len; k++) {
				const config_setting_t *e = config_setting_get_elem(m, (unsigned)k);
				const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e)
											     : NULL;
				if (!v || v[0] != '-')
					return fail_at(ld, e, "%sresource 'sbatch': expected options starting with '-'", what);
				r->sbatch = sul_xrealloc(r->sbatch, (r->nsbatch + 1) * sizeof(*r->sbatch));
				r->sbatch[r->nsbatch++] = sul_xstrdup(v);
			}
		} else {
			struct sul_buf b = SUL_BUF_INIT;
			sul_buf_addf(&b, "%sunknown resource '%s' (expected cpus, mem, time, gpus, partition, account, sbatch)",
				     what, name);
			add_suggestion(&b, name, resource_keys, sizeof(resource_keys) / sizeof(*resource_keys));
			fail_at(ld, m, "%s", b.buf);
			sul_buf_release(&b);
			return -1;
		}
	}
	return 0;
}

static void stage_release(struct sul_stage *st)
{
	size_t i;

	free(st->id);
	for (i = 0; i < st->ninputs; i++)
		free(st->inputs[i]);
	free(st->inputs);
	free(st->input_idx);
	sul_params_free(st->params, st->nparams);
	sul_params_free(st->keys, st->nkeys);
	for (i = 0; i < st->nfiles; i++)
		free(st->files[i]);
	free(st->files);
	sul_resources_release(&st->resources);
	memset(st, 0, sizeof(*st));
}

/* Appends "_VALUE" for each loop variable the id template does not use. */
static char *expand_id(struct subst *sb, const char *tmpl)
{
	struct sul_buf b = SUL_BUF_INIT;
	char *id = subst_str(sb, tmpl);
	size_t i;

	if (!id)
		return NULL;
	sul_buf_adds(&b, id);
	for (i = 0; i < sb->nvars; i++) {
		char pat[256];
		snprintf(pat, sizeof(pat), "{%s}", sb->vars[i].name);
		if (!strstr(tmpl, pat)) {
			struct sul_value v;
			if (scalar_value(sb->ld, sb->vars[i].value, "foreach value", &v)) {
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

static int valid_id(const char *id)
{
	return *id && !id[strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")];
}

/* Builds one stage from template g with the loop variables bound. */
static int build_stage(struct loader *ld, const config_setting_t *g, const struct stage_members *sm,
		       const struct sul_kind *kind, const char *id_tmpl, const struct binding *vars, size_t nvars)
{
	struct sul_workflow *wf = ld->wf;
	struct subst sb = { ld, id_tmpl, vars, nvars, g, 1 };
	const config_setting_t *m;
	struct sul_stage st;
	struct loc l = loc_of(ld, g);

	memset(&st, 0, sizeof(st));
	st.kind = kind;
	st.file = l.file;
	st.line = l.line;
	st.dir = wf->dir;
	sb.where = sm->of[M_ID];
	st.id = expand_id(&sb, id_tmpl);
	if (!st.id)
		goto fail;
	if (!valid_id(st.id)) {
		fail_at(ld, sm->of[M_ID],
			"stage id '%s': expected letters, digits, '_', '-' or '.'", st.id);
		goto fail;
	}
	if (!strcmp(st.id, "params")) {
		fail_at(ld, g, "stage id 'params' is reserved (--set params.NAME=... sets workflow parameters)");
		goto fail;
	}
	if ((m = sm->of[M_INPUTS]) && read_string_list(ld, &sb, m, st.id, "inputs", &st.inputs, &st.ninputs))
		goto fail;
	if ((m = sm->of[M_FILES]) && read_string_list(ld, &sb, m, st.id, "files", &st.files, &st.nfiles))
		goto fail;
	if ((m = sm->of[M_PARAMS]) && read_params(ld, &sb, m, st.id, &st))
		goto fail;
	if (read_keys(ld, &sb, g, st.id, &st))
		goto fail;
	/* Resources: the workflow's defaults, then the stage's own, then the kind's defaults. */
	sul_resources_copy(&st.resources, &wf->resources);
	if ((m = sm->of[M_RESOURCES])) {
		struct sul_resources own;
		char what[256];
		int r;
		memset(&own, 0, sizeof(own));
		snprintf(what, sizeof(what), "stage '%s': ", st.id);
		r = read_resources(ld, m, what, &own);
		if (!r)
			sul_resources_merge(&st.resources, &own);
		sul_resources_release(&own);
		if (r)
			goto fail;
	}
	sul_resources_apply_defaults(&st.resources, kind->resources);
	SUL_ALLOC_GROW(wf->stages, wf->nstages + 1, ld->stages_alloc);
	wf->stages[wf->nstages++] = st;
	return 0;
fail:
	stage_release(&st);
	return -1;
}

/* Expands a template over the cartesian product of its foreach lists. */
static int expand_foreach(struct loader *ld, const config_setting_t *g, const struct stage_members *sm,
			  const struct sul_kind *kind, const char *id_tmpl)
{
	const config_setting_t *fe = sm->of[M_FOREACH];
	struct binding vars[16];
	size_t nvars, i, total = 1, combo;
	int ret = -1;

	if (!config_setting_is_group(fe))
		return fail_at(ld, fe, "stage '%s': 'foreach': expected a group { NAME = [values]; ... }, got %s",
			       id_tmpl, sul_config_type_word(config_setting_type(fe)));
	nvars = (size_t)config_setting_length(fe);
	if (nvars == 0 || nvars > 16)
		return fail_at(ld, fe, "stage '%s': 'foreach': expected 1 to 16 loop variables, got %zu",
			       id_tmpl, nvars);
	for (i = 0; i < nvars; i++) {
		const config_setting_t *list = config_setting_get_elem(fe, (unsigned)i);
		const char *name = config_setting_name(list);
		size_t len;

		if (!strcmp(name, "out") || !strcmp(name, "in") || !strcmp(name, "params"))
			return fail_at(ld, list, "stage '%s': 'foreach': '%s' is a reserved placeholder name",
				       id_tmpl, name);
		if (config_setting_type(list) != CONFIG_TYPE_ARRAY && config_setting_type(list) != CONFIG_TYPE_LIST)
			return fail_at(ld, list, "stage '%s': foreach '%s': expected a list of values [a, b, ...], got %s",
				       id_tmpl, name, sul_config_type_word(config_setting_type(list)));
		len = (size_t)config_setting_length(list);
		if (!len)
			return fail_at(ld, list, "stage '%s': foreach '%s': the list is empty", id_tmpl, name);
		total *= len;
		if (total > MAX_EXPANSION)
			return fail_at(ld, fe, "stage '%s': foreach expands to more than %d stages",
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
		if (build_stage(ld, g, sm, kind, id_tmpl, vars, nvars))
			goto out;
	}
	ret = 0;
out:
	return ret;
}

static int read_stage(struct loader *ld, const config_setting_t *g)
{
	const config_setting_t *idset, *kindset;
	struct stage_members sm;
	const struct sul_kind *kind;
	const char *id, *kname;

	if (!config_setting_is_group(g))
		return fail_at(ld, g, "'stages': expected groups { id = ...; kind = ...; }, got %s",
			       sul_config_type_word(config_setting_type(g)));
	find_members(g, &sm);
	idset = sm.of[M_ID];
	if (!idset)
		return fail_at(ld, g, "stage without 'id'");
	if (config_setting_type(idset) != CONFIG_TYPE_STRING)
		return fail_at(ld, idset, "'id': expected a string, got %s", sul_config_type_word(config_setting_type(idset)));
	id = config_setting_get_string(idset);
	kindset = sm.of[M_KIND];
	if (!kindset)
		return fail_at(ld, g, "stage '%s': missing 'kind'", id);
	if (config_setting_type(kindset) != CONFIG_TYPE_STRING)
		return fail_at(ld, kindset, "stage '%s': 'kind': expected a string, got %s", id,
			       sul_config_type_word(config_setting_type(kindset)));
	kname = config_setting_get_string(kindset);
	kind = sul_kind_find(kname);
	if (!kind) {
		struct sul_buf b = SUL_BUF_INIT;
		const char *cands[256];
		size_t n, i;
		const struct sul_kind *const *all = sul_kinds(&n);

		for (i = 0; i < n && i < 256; i++)
			cands[i] = all[i]->name;
		sul_buf_addf(&b, "stage '%s': unknown kind '%s'", id, kname);
		add_suggestion(&b, kname, cands, i);
		sul_buf_adds(&b, " (`sulcus kinds` lists them)");
		fail_at(ld, kindset, "%s", b.buf);
		sul_buf_release(&b);
		return -1;
	}
	if (check_stage_keys(ld, g, kind, id))
		return -1;
	if (sm.of[M_FOREACH])
		return expand_foreach(ld, g, &sm, kind, id);
	return build_stage(ld, g, &sm, kind, id, NULL, 0);
}

/* --- whole-workflow checks ---------------------------------------------- */

static int fail_stage(struct sul_err *err, const struct sul_stage *st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail_stage(struct sul_err *err, const struct sul_stage *st, const char *fmt, ...)
{
	char msg[SUL_ERR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: stage '%s': %s", st->file, st->line, st->id, msg);
}

static const char **stage_ids(const struct sul_workflow *wf)
{
	const char **ids = sul_xmalloc((wf->nstages + 1) * sizeof(*ids));
	size_t i;

	for (i = 0; i < wf->nstages; i++)
		ids[i] = wf->stages[i].id;
	return ids;
}

static int index_stages(struct sul_workflow *wf, struct sul_err *err)
{
	size_t i;

	for (i = 0; i < wf->nstages; i++) {
		const struct sul_stage *st = &wf->stages[i];
		long prev = sul_strmap_get(&wf->index, st->id);
		if (prev >= 0) {
			const struct sul_stage *p = &wf->stages[prev];
			return sul_err_set(err, SUL_ERR_INPUT,
					   "%s:%d: duplicate stage id '%s' (first defined at %s:%d)",
					   st->file, st->line, st->id, p->file, p->line);
		}
		sul_strmap_put(&wf->index, st->id, (long)i);
	}
	return 0;
}

static int is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Resolves input names to indexes; a glob input stands for every match. */
static int resolve_inputs(struct sul_workflow *wf, struct sul_err *err)
{
	const char **ids = stage_ids(wf);
	size_t i, j, k;
	int ret = -1;

	for (i = 0; i < wf->nstages; i++) {
		struct sul_stage *st = &wf->stages[i];
		char **names = NULL;
		size_t n = 0;

		for (j = 0; j < st->ninputs; j++) {
			const char *in = st->inputs[j];
			size_t matched = 0;

			if (!is_glob(in)) {
				if (sul_strmap_get(&wf->index, in) < 0) {
					struct sul_buf b = SUL_BUF_INIT;
					sul_buf_addf(&b, "input '%s' names no stage", in);
					add_suggestion(&b, in, ids, wf->nstages);
					fail_stage(err, st, "%s", b.buf);
					sul_buf_release(&b);
					goto fail;
				}
				names = sul_xrealloc(names, (n + 1) * sizeof(*names));
				names[n++] = sul_xstrdup(in);
				continue;
			}
			for (k = 0; k < wf->nstages; k++) {
				if (k == i || fnmatch(in, wf->stages[k].id, 0))
					continue;
				names = sul_xrealloc(names, (n + 1) * sizeof(*names));
				names[n++] = sul_xstrdup(wf->stages[k].id);
				matched++;
			}
			if (!matched) {
				fail_stage(err, st, "input '%s' matches no stage", in);
				goto fail;
			}
		}
		for (j = 0; j < st->ninputs; j++)
			free(st->inputs[j]);
		free(st->inputs);
		st->inputs = names;
		st->ninputs = n;
		st->input_idx = sul_xmalloc((n ? n : 1) * sizeof(*st->input_idx));
		for (j = 0; j < n; j++) {
			for (k = 0; k < j; k++)
				if (!strcmp(names[k], names[j])) {
					fail_stage(err, st, "input '%s' is listed twice", names[j]);
					goto out;
				}
			st->input_idx[j] = (size_t)sul_strmap_get(&wf->index, names[j]);
		}
		continue;
fail:
		for (j = 0; j < n; j++)
			free(names[j]);
		free(names);
		goto out;
	}
	ret = 0;
out:
	free(ids);
	return ret;
}

/* Parses "ID.NAME=VALUE". */
static int parse_set(const char *arg, char **target, char **name, char **value, struct sul_err *err)
{
	const char *eq = strchr(arg, '='), *dot;

	if (!eq)
		return sul_err_set(err, SUL_ERR_INPUT, "--set '%s': expected ID.NAME=VALUE", arg);
	for (dot = eq; dot > arg && dot[-1] != '.'; dot--)
		;
	if (dot <= arg + 1 || dot == eq)
		return sul_err_set(err, SUL_ERR_INPUT, "--set '%s': expected ID.NAME=VALUE", arg);
	/* A glob may pick stages; the parameter is one name, as the file writes it. */
	if (!isalpha((unsigned char)*dot) && *dot != '_')
		goto bad_name;
	for (const char *c = dot; c < eq; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			goto bad_name;
	*target = sul_xstrndup(arg, (size_t)(dot - 1 - arg));
	*name = sul_xstrndup(dot, (size_t)(eq - dot));
	*value = sul_xstrdup(eq + 1);
	return 0;
bad_name:
	return sul_err_set(err, SUL_ERR_INPUT,
			   "--set '%s': parameter name '%.*s': expected letters, digits, '_' and '-', "
			   "starting with a letter or '_'",
			   arg, (int)(eq - dot), dot);
}

static enum sul_type override_type(const struct sul_stage *st, const char *name, const struct sul_value *cur)
{
	const struct sul_param_spec *sp = sul_schema_find(st ? st->kind->params : NULL, name);

	if (sp)
		return sp->type == SUL_T_PATH ? SUL_T_STRING : sp->type;
	if (cur)
		return cur->type == SUL_T_PATH ? SUL_T_STRING : cur->type;
	return SUL_T_NONE;
}

static int set_param(struct sul_param **arr, size_t *n, const char *name, const char *text,
		     enum sul_type t, const char *arg, struct sul_err *err)
{
	long i = sul_params_find(*arr, *n, name);
	struct sul_value v = { SUL_T_NONE, 0, 0, NULL };
	struct loc l = { NULL, 0 };

	if (sul_value_parse(text, t, &v, err))
		return sul_err_prefix(err, "--set '%s'", arg);
	if (i >= 0) {
		sul_value_clear(&(*arr)[i].v);
		(*arr)[i].v = v;
		(*arr)[i].file = NULL;
		(*arr)[i].line = 0;
	} else {
		add_param(arr, n, name, &v, l);
	}
	return 0;
}

/* Overrides of workflow parameters come first: stages copy them. */
static int apply_global_sets(struct sul_workflow *wf, const char *const *sets, size_t nsets,
			     struct sul_err *err)
{
	size_t s;

	for (s = 0; s < nsets; s++) {
		char *target, *name, *value;
		int r = 0;

		if (parse_set(sets[s], &target, &name, &value, err))
			return -1;
		if (!strcmp(target, "params")) {
			long i = sul_params_find(wf->globals, wf->nglobals, name);
			if (i < 0) {
				const char *cands[256];
				size_t k, nc = 0;
				struct sul_buf b = SUL_BUF_INIT;
				for (k = 0; k < wf->nglobals && nc < 256; k++)
					cands[nc++] = wf->globals[k].name;
				sul_buf_addf(&b, "--set '%s': the workflow has no parameter '%s'", sets[s], name);
				add_suggestion(&b, name, cands, nc);
				r = sul_err_set(err, SUL_ERR_INPUT, "%s", b.buf);
				sul_buf_release(&b);
			} else {
				r = set_param(&wf->globals, &wf->nglobals, name, value,
					      override_type(NULL, name, &wf->globals[i].v), sets[s], err);
			}
		}
		free(target);
		free(name);
		free(value);
		if (r)
			return -1;
	}
	return 0;
}

static int apply_stage_sets(struct sul_workflow *wf, const char *const *sets, size_t nsets,
			    struct sul_err *err)
{
	const char **ids = stage_ids(wf);
	size_t s, i;
	int ret = -1;

	for (s = 0; s < nsets; s++) {
		char *target, *name, *value;
		size_t matched = 0;
		int r = 0;

		if (parse_set(sets[s], &target, &name, &value, err))
			goto out;
		for (i = 0; i < wf->nstages && !r && strcmp(target, "params"); i++) {
			struct sul_stage *st = &wf->stages[i];
			long cur;

			if (is_glob(target) ? fnmatch(target, st->id, 0) != 0 : strcmp(target, st->id) != 0)
				continue;
			matched++;
			cur = sul_params_find(st->params, st->nparams, name);
			if (!(st->kind->flags & SUL_KIND_FREE_PARAMS) && !sul_schema_find(st->kind->params, name)) {
				const char *cands[256];
				size_t nc = 0;
				const struct sul_param_spec *sp;
				struct sul_buf b = SUL_BUF_INIT;
				for (sp = st->kind->params; sp && sp->name && nc < 256; sp++)
					cands[nc++] = sp->name;
				sul_buf_addf(&b, "--set '%s': stage '%s' (kind '%s') has no parameter '%s'",
					     sets[s], st->id, st->kind->name, name);
				add_suggestion(&b, name, cands, nc);
				r = sul_err_set(err, SUL_ERR_INPUT, "%s", b.buf);
				sul_buf_release(&b);
				break;
			}
			r = set_param(&st->params, &st->nparams, name, value,
				      override_type(st, name, cur >= 0 ? &st->params[cur].v : NULL), sets[s], err);
		}
		if (!r && !matched && strcmp(target, "params")) {
			struct sul_buf b = SUL_BUF_INIT;
			sul_buf_addf(&b, "--set '%s': no stage '%s'", sets[s], target);
			add_suggestion(&b, target, ids, wf->nstages);
			r = sul_err_set(err, SUL_ERR_INPUT, "%s", b.buf);
			sul_buf_release(&b);
		}
		free(target);
		free(name);
		free(value);
		if (r)
			goto out;
	}
	ret = 0;
out:
	free(ids);
	return ret;
}

static const char *where(const struct sul_param *p, const struct sul_stage *st, char *buf, size_t len)
{
	if (p->file)
		snprintf(buf, len, "%s:%d", p->file, p->line);
	else
		snprintf(buf, len, "%s:%d: --set", st->file, st->line);
	return buf;
}


/*
 * What the kind declares about its inputs, then its own check() on what
 * run() will get.  Kinds see a sul_stage_ctx, never the workflow: the
 * location in front of their messages is added here.
 */
static int kind_check(const struct sul_workflow *wf, const struct sul_stage *st, struct sul_err *err)
{
	const struct sul_input_spec *is = &st->kind->inputs;
	const char *about = NULL, *file = st->file;
	struct sul_stage_ctx ctx;
	struct sul_input *ins;
	int line = st->line, r;
	size_t j;

	if (is->what && (st->ninputs < is->min || st->ninputs > is->max))
		return sul_err_set(err, SUL_ERR_INPUT, "%s:%d: stage '%s': expected %s, got %zu", st->file, st->line,
				   st->id, is->what, st->ninputs);
	if (!st->kind->check)
		return 0;
	ins = sul_xcalloc(st->ninputs ? st->ninputs : 1, sizeof(*ins));
	for (j = 0; j < st->ninputs; j++) {
		ins[j].id = st->inputs[j];
		ins[j].kind = wf->stages[st->input_idx[j]].kind->name;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.id = st->id;
	ctx.workdir = st->dir;
	ctx.params = st->params;
	ctx.nparams = st->nparams;
	ctx.keys = st->keys;
	ctx.nkeys = st->nkeys;
	ctx.inputs = ins;
	ctx.ninputs = st->ninputs;
	r = st->kind->check(&ctx, &about, err);
	free(ins);
	if (!r)
		return 0;
	if (about) {
		long k = sul_params_find(st->params, st->nparams, about);
		const struct sul_param *p = k >= 0 ? &st->params[k] : NULL;
		if (!p && (k = sul_params_find(st->keys, st->nkeys, about)) >= 0)
			p = &st->keys[k];
		if (p && p->file) {
			file = p->file;
			line = p->line;
		}
	}
	err->kind = SUL_ERR_INPUT;
	return sul_err_prefix(err, "%s:%d: stage '%s'", file, line, st->id);
}

/* Types every parameter, rejects unknown ones, and fills in defaults. */
static int check_params(struct sul_stage *st, struct sul_err *err)
{
	const struct sul_param_spec *sp;
	size_t i;
	char loc[512];

	for (i = 0; i < st->nparams; i++) {
		struct sul_param *p = &st->params[i];
		struct sul_buf why = SUL_BUF_INIT;

		sp = sul_schema_find(st->kind->params, p->name);
		if (!sp) {
			const char *cands[256];
			size_t nc = 0;
			const struct sul_param_spec *q;

			if (st->kind->flags & SUL_KIND_FREE_PARAMS)
				continue;
			for (q = st->kind->params; q && q->name && nc < 256; q++)
				cands[nc++] = q->name;
			sul_buf_addf(&why, "%s: stage '%s': unknown parameter '%s' for kind '%s'",
				     where(p, st, loc, sizeof(loc)), st->id, p->name, st->kind->name);
			add_suggestion(&why, p->name, cands, nc);
			sul_err_set(err, SUL_ERR_INPUT, "%s", why.buf);
			sul_buf_release(&why);
			return -1;
		}
		if (sul_schema_check_value(sp, &p->v, &why)) {
			sul_err_set(err, SUL_ERR_INPUT, "%s: stage '%s': parameter '%s': %s",
				    where(p, st, loc, sizeof(loc)), st->id, p->name, why.buf);
			sul_buf_release(&why);
			return -1;
		}
	}
	{
		struct sul_buf why = SUL_BUF_INIT;
		int r = sul_schema_defaults(st->kind, &st->params, &st->nparams, &why);
		if (r)
			fail_stage(err, st, "%s", why.buf);
		sul_buf_release(&why);
		if (r)
			return -1;
	}
	sul_params_sort(st->keys, st->nkeys);
	return 0;
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
	add_param(&ic->st->params, &ic->st->nparams, name + 7, &v, l);
	return 1;
}

static int import_globals(struct sul_workflow *wf, struct sul_stage *st, struct sul_err *err)
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

static int read_globals(struct loader *ld, const config_setting_t *g)
{
	struct sul_workflow *wf = ld->wf;
	int i, n;

	if (!config_setting_is_group(g))
		return fail_at(ld, g, "'params': expected a group { name = value; ... }, got %s",
			       sul_config_type_word(config_setting_type(g)));
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		char what[256];
		struct sul_value v;

		snprintf(what, sizeof(what), "workflow parameter '%s'", config_setting_name(m));
		if (scalar_value(ld, m, what, &v))
			return -1;
		add_param(&wf->globals, &wf->nglobals, config_setting_name(m), &v, loc_of(ld, m));
	}
	return 0;
}

static const char *const root_keys[] = { "name", "params", "stages", "executor", "resources" };

static int read_root(struct loader *ld)
{
	const config_setting_t *root = config_root_setting(&ld->cfg), *s;
	int i, n = config_setting_length(root);

	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(root, (unsigned)i);
		const char *name = config_setting_name(m);
		size_t k, known = 0;

		for (k = 0; k < sizeof(root_keys) / sizeof(*root_keys); k++)
			known |= !strcmp(root_keys[k], name);
		if (!known) {
			struct sul_buf b = SUL_BUF_INIT;
			sul_buf_addf(&b, "unknown top-level key '%s' (expected name, params, stages, executor, resources)",
				     name);
			add_suggestion(&b, name, root_keys, sizeof(root_keys) / sizeof(*root_keys));
			fail_at(ld, m, "%s", b.buf);
			sul_buf_release(&b);
			return -1;
		}
	}
	s = config_setting_get_member(root, "name");
	if (!s)
		return sul_err_set(ld->err, SUL_ERR_INPUT, "%s: missing 'name' (name = \"...\";)", ld->wf->path);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return fail_at(ld, s, "'name': expected a string, got %s", sul_config_type_word(config_setting_type(s)));
	ld->wf->name = sul_xstrdup(config_setting_get_string(s));
	if ((s = config_setting_get_member(root, "params")) && read_globals(ld, s))
		return -1;
	/* --set params.NAME before the stages are read: their {params.NAME}
	 * references take the overridden value. */
	if (apply_global_sets(ld->wf, ld->sets, ld->nsets, ld->err))
		return -1;
	if ((s = config_setting_get_member(root, "executor"))) {
		const char *e = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : "";
		if (strcmp(e, "local") && strcmp(e, "slurm"))
			return fail_at(ld, s, "'executor': expected \"local\" or \"slurm\"");
		ld->wf->executor = sul_xstrdup(e);
	}
	/* Read before the stages: they start from these defaults. */
	if ((s = config_setting_get_member(root, "resources")) && read_resources(ld, s, "", &ld->wf->resources))
		return -1;
	s = config_setting_get_member(root, "stages");
	if (!s)
		return sul_err_set(ld->err, SUL_ERR_INPUT, "%s: missing 'stages' (stages = ( {...}, ... );)",
				   ld->wf->path);
	if (!config_setting_is_list(s) && !(config_setting_is_array(s) && !config_setting_length(s)))
		return fail_at(ld, s, "'stages': expected a list ( {...}, {...} ), got %s",
			       sul_config_type_word(config_setting_type(s)));
	n = config_setting_length(s);
	for (i = 0; i < n; i++)
		if (read_stage(ld, config_setting_get_elem(s, (unsigned)i)))
			return -1;
	return 0;
}

int sul_workflow_load(const char *path, const char *const *sets, size_t nsets,
		      struct sul_workflow *wf, struct sul_err *err)
{
	struct loader ld;
	struct sul_buf content = SUL_BUF_INIT;
	char *dir;
	size_t i;
	int ret = -1;

	memset(wf, 0, sizeof(*wf));
	memset(&ld, 0, sizeof(ld));
	ld.wf = wf;
	ld.err = err;
	ld.sets = sets;
	ld.nsets = nsets;
	wf->path = sul_xstrdup(path);
	dir = sul_path_dirname(path);
	wf->dir = sul_path_resolve(NULL, dir);
	free(dir);
	for (i = 0; i < nsets; i++) {
		wf->overrides = sul_xrealloc(wf->overrides, (i + 1) * sizeof(*wf->overrides));
		wf->overrides[wf->noverrides++] = sul_xstrdup(sets[i]);
	}
	if (sul_read_file(path, &content, err)) {
		err->kind = SUL_ERR_INPUT;
		goto out;
	}
	sul_sha256_hex(content.buf, content.len, wf->sha256);

	config_init(&ld.cfg);
	/* @include paths are relative to the including workflow's folder. */
	config_set_include_dir(&ld.cfg, wf->dir);
	absolute_includes(wf->dir, &content);
	if (!config_read_string(&ld.cfg, content.buf)) {
		parse_error(wf, &ld.cfg, err);
		config_destroy(&ld.cfg);
		goto out;
	}
	/* Settings read from a string carry no file name: name them ourselves. */
	if (read_root(&ld)) {
		config_destroy(&ld.cfg);
		goto out;
	}
	config_destroy(&ld.cfg);

	if (index_stages(wf, err))
		goto out;
	if (apply_stage_sets(wf, sets, nsets, err))
		goto out;
	for (i = 0; i < wf->nstages; i++) {
		struct sul_stage *st = &wf->stages[i];
		if (import_globals(wf, st, err) || check_params(st, err))
			goto out;
	}
	if (resolve_inputs(wf, err))
		goto out;
	for (i = 0; i < wf->nstages; i++)
		if (kind_check(wf, &wf->stages[i], err))
			goto out;
	wf->dag = sul_xcalloc(wf->nstages ? wf->nstages : 1, sizeof(*wf->dag));
	for (i = 0; i < wf->nstages; i++) {
		const struct sul_stage *st = &wf->stages[i];
		wf->dag[i] = (struct sul_dag_node){ st->id, st->file, st->line, st->input_idx, st->ninputs };
	}
	if (sul_dag_check_acyclic(wf->dag, wf->nstages, err))
		goto out;
	ret = 0;
out:
	sul_buf_release(&content);
	if (ret)
		sul_workflow_release(wf);
	return ret;
}

void sul_workflow_release(struct sul_workflow *wf)
{
	size_t i;

	for (i = 0; i < wf->nstages; i++)
		stage_release(&wf->stages[i]);
	free(wf->stages);
	free(wf->dag);
	sul_params_free(wf->globals, wf->nglobals);
	free(wf->executor);
	sul_resources_release(&wf->resources);
	sul_strmap_release(&wf->index);
	for (i = 0; i < wf->noverrides; i++)
		free(wf->overrides[i]);
	free(wf->overrides);
	for (i = 0; i < wf->npool; i++)
		free(wf->pool[i]);
	free(wf->pool);
	free(wf->name);
	free(wf->path);
	free(wf->dir);
	memset(wf, 0, sizeof(*wf));
}

long sul_workflow_find(const struct sul_workflow *wf, const char *id)
{
	return sul_strmap_get(&wf->index, id);
}

char *sul_workflow_path(const struct sul_workflow *wf, const char *path)
{
	return sul_path_resolve(wf->dir, path);
}
