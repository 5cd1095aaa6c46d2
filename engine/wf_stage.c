/*
 * wf_stage.c - reading the workflow's settings: the top level (name,
 * params, executor, resources, stages) and each stage group (id, kind,
 * inputs, files, params, the kind's keys, resources) into struct
 * sul_stage, with unknown keys refused (see wf_private.h).
 */
#include "wf_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static const char *const stage_keys[] = { "id", "kind", "inputs", "params", "foreach", "files", "resources" };
_Static_assert(sizeof(stage_keys) / sizeof(stage_keys[0]) == NSTAGE_KEYS, "NSTAGE_KEYS counts stage_keys");

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
		wf_add_suggestion(&b, name, cands, nc);
		wf_fail_at(ld, m, "%s", b.buf);
		sul_buf_release(&b);
		return -1;
	}
	return 0;
}

void wf_add_param(struct sul_param **arr, size_t *n, const char *name, struct sul_value *v,
		      struct loc l)
{
	struct sul_param *p;

	*arr = sul_xrealloc(*arr, (*n + 1) * sizeof(**arr));
	p = &(*arr)[(*n)++];
	p->name = sul_xstrdup(name);
	p->v = *v;
	p->file = l.file;
	p->line = l.line;
	p->via = NULL;
	memset(v, 0, sizeof(*v));
}

static int read_params(struct loader *ld, struct subst *sb, const config_setting_t *g,
		       const char *id, struct sul_stage *st)
{
	int i, n;

	if (!config_setting_is_group(g))
		return wf_fail_at(ld, g, "stage '%s': 'params': expected a group { name = value; ... }, got %s",
			       id, sul_config_type_word(config_setting_type(g)));
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		char what[256];
		struct sul_value v;

		snprintf(what, sizeof(what), "stage '%s': parameter '%s'", id, config_setting_name(m));
		sb->where = m;
		if (wf_subst_value(sb, m, what, &v))
			return -1;
		wf_add_param(&st->params, &st->nparams, config_setting_name(m), &v, wf_loc_of(ld, m));
		st->params[st->nparams - 1].via = sb->via;
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
				return wf_fail_at(ld, g, "stage '%s': missing '%s' (%s)", id, sp->name, sp->doc);
			continue;
		}
		sb->where = m;
		/* {params.NAME} in a key stays for the kind (see import_globals). */
		sb->globals = 0;
		r = wf_subst_value(sb, m, what, &v);
		sb->globals = 1;
		if (r)
			return -1;
		if (v.type != SUL_T_STRING && sp->type == SUL_T_STRING) {
			sul_value_clear(&v);
			return wf_fail_at(ld, m, "%s: expected a string", what);
		}
		wf_add_param(&st->keys, &st->nkeys, sp->name, &v, wf_loc_of(ld, m));
	}
	return 0;
}

static int read_string_list(struct loader *ld, struct subst *sb, const config_setting_t *s,
			    const char *id, const char *what, char ***out, size_t *nout)
{
	int i, n;

	if (config_setting_type(s) != CONFIG_TYPE_ARRAY && config_setting_type(s) != CONFIG_TYPE_LIST)
		return wf_fail_at(ld, s, "stage '%s': '%s': expected a list of strings [\"...\", ...], got %s",
			       id, what, sul_config_type_word(config_setting_type(s)));
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
		char *v;

		if (config_setting_type(e) != CONFIG_TYPE_STRING)
			return wf_fail_at(ld, e, "stage '%s': '%s': expected strings, got %s", id, what,
				       sul_config_type_word(config_setting_type(e)));
		sb->where = e;
		v = wf_subst_str(sb, config_setting_get_string(e));
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
		return wf_fail_at(ld, g, "%s'resources': expected a group { cpus = 2; mem = \"4G\"; ... }, got %s", what,
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
				return wf_fail_at(ld, m, "%sresource '%s': expected an integer from %ld to %ld", what, name,
					       lo, hi);
			if (name[0] == 'c')
				r->cpus = (long)v;
			else
				r->gpus = (long)v;
		} else if (!strcmp(name, "time") && (type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64)) {
			long long v = config_setting_get_int64(m);
			if (v < 1)
				return wf_fail_at(ld, m, "%sresource 'time': expected a positive number of minutes", what);
			free(r->time);
			r->time = sul_xasprintf("%lld", v);
		} else if (!strcmp(name, "mem") || !strcmp(name, "time") || !strcmp(name, "partition")
			   || !strcmp(name, "account")) {
			const char *v = type == CONFIG_TYPE_STRING ? config_setting_get_string(m) : NULL;
			char **slot = name[0] == 'm' ? &r->mem : name[0] == 't' ? &r->time
				      : name[0] == 'p' ? &r->partition : &r->account;
			if (!v)
				return wf_fail_at(ld, m, "%sresource '%s': expected a string, got %s", what, name,
					       sul_config_type_word(type));
			if (name[0] == 'm')
				bad = sul_resources_check_mem(v);
			else if (name[0] == 't')
				bad = sul_resources_check_time(v);
			else if (!*v || strpbrk(v, " \t\n"))
				bad = "a name without spaces";
			if (bad)
				return wf_fail_at(ld, m, "%sresource '%s': expected %s, got '%s'", what, name, bad, v);
			free(*slot);
			*slot = sul_xstrdup(v);
		} else if (!strcmp(name, "sbatch")) {
			int k, len;
			if (type != CONFIG_TYPE_ARRAY && type != CONFIG_TYPE_LIST)
				return wf_fail_at(ld, m, "%sresource 'sbatch': expected a list of sbatch options [\"--qos=high\"]",
					       what);
			len = config_setting_length(m);
			for (k = 0; k < len; k++) {
				const config_setting_t *e = config_setting_get_elem(m, (unsigned)k);
				const char *v = config_setting_type(e) == CONFIG_TYPE_STRING ? config_setting_get_string(e)
											     : NULL;
				if (!v || v[0] != '-')
					return wf_fail_at(ld, e, "%sresource 'sbatch': expected options starting with '-'", what);
				r->sbatch = sul_xrealloc(r->sbatch, (r->nsbatch + 1) * sizeof(*r->sbatch));
				r->sbatch[r->nsbatch++] = sul_xstrdup(v);
			}
		} else {
			struct sul_buf b = SUL_BUF_INIT;
			sul_buf_addf(&b, "%sunknown resource '%s' (expected cpus, mem, time, gpus, partition, account, sbatch)",
				     what, name);
			wf_add_suggestion(&b, name, resource_keys, sizeof(resource_keys) / sizeof(*resource_keys));
			wf_fail_at(ld, m, "%s", b.buf);
			sul_buf_release(&b);
			return -1;
		}
	}
	return 0;
}

void wf_stage_release(struct sul_stage *st)
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

static int valid_id(const char *id)
{
	return *id && !id[strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")];
}

/* Builds one stage from template g with the loop variables bound. */
int wf_build_stage(struct loader *ld, const config_setting_t *g, const struct stage_members *sm,
		       const struct sul_kind *kind, const char *id_tmpl, const struct binding *vars, size_t nvars)
{
	struct sul_workflow *wf = ld->wf;
	struct subst sb = { ld, id_tmpl, vars, nvars, g, 1, NULL };
	const config_setting_t *m;
	struct sul_stage st;
	struct loc l = wf_loc_of(ld, g);

	memset(&st, 0, sizeof(st));
	st.kind = kind;
	st.file = l.file;
	st.line = l.line;
	st.dir = wf->dir;
	sb.where = sm->of[M_ID];
	st.id = wf_expand_id(&sb, id_tmpl);
	if (!st.id)
		goto fail;
	if (!valid_id(st.id)) {
		wf_fail_at(ld, sm->of[M_ID],
			"stage id '%s': expected letters, digits, '_', '-' or '.'", st.id);
		goto fail;
	}
	if (!strcmp(st.id, "params")) {
		wf_fail_at(ld, g, "stage id 'params' is reserved (--set params.NAME=... sets workflow parameters)");
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
	wf_stage_release(&st);
	return -1;
}

static int read_stage(struct loader *ld, const config_setting_t *g)
{
	const config_setting_t *idset, *kindset;
	struct stage_members sm;
	const struct sul_kind *kind;
	const char *id, *kname;

	if (!config_setting_is_group(g))
		return wf_fail_at(ld, g, "'stages': expected groups { id = ...; kind = ...; }, got %s",
			       sul_config_type_word(config_setting_type(g)));
	find_members(g, &sm);
	idset = sm.of[M_ID];
	if (!idset)
		return wf_fail_at(ld, g, "stage without 'id'");
	if (config_setting_type(idset) != CONFIG_TYPE_STRING)
		return wf_fail_at(ld, idset, "'id': expected a string, got %s", sul_config_type_word(config_setting_type(idset)));
	id = config_setting_get_string(idset);
	kindset = sm.of[M_KIND];
	if (!kindset)
		return wf_fail_at(ld, g, "stage '%s': missing 'kind'", id);
	if (config_setting_type(kindset) != CONFIG_TYPE_STRING)
		return wf_fail_at(ld, kindset, "stage '%s': 'kind': expected a string, got %s", id,
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
		wf_add_suggestion(&b, kname, cands, i);
		sul_buf_adds(&b, " (`sulcus kinds` lists them)");
		wf_fail_at(ld, kindset, "%s", b.buf);
		sul_buf_release(&b);
		return -1;
	}
	if (check_stage_keys(ld, g, kind, id))
		return -1;
	if (sm.of[M_FOREACH])
		return wf_expand_foreach(ld, g, &sm, kind, id);
	return wf_build_stage(ld, g, &sm, kind, id, NULL, 0);
}

static int read_globals(struct loader *ld, const config_setting_t *g)
{
	struct sul_workflow *wf = ld->wf;
	int i, n;

	if (!config_setting_is_group(g))
		return wf_fail_at(ld, g, "'params': expected a group { name = value; ... }, got %s",
			       sul_config_type_word(config_setting_type(g)));
	n = config_setting_length(g);
	for (i = 0; i < n; i++) {
		const config_setting_t *m = config_setting_get_elem(g, (unsigned)i);
		char what[256];
		struct sul_value v;

		snprintf(what, sizeof(what), "workflow parameter '%s'", config_setting_name(m));
		if (wf_scalar_value(ld, m, what, &v))
			return -1;
		wf_add_param(&wf->globals, &wf->nglobals, config_setting_name(m), &v, wf_loc_of(ld, m));
	}
	return 0;
}

static const char *const root_keys[] = { "name", "params", "stages", "executor", "resources" };

int wf_read_root(struct loader *ld)
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
			wf_add_suggestion(&b, name, root_keys, sizeof(root_keys) / sizeof(*root_keys));
			wf_fail_at(ld, m, "%s", b.buf);
			sul_buf_release(&b);
			return -1;
		}
	}
	s = config_setting_get_member(root, "name");
	if (!s)
		return sul_err_set(ld->err, SUL_ERR_INPUT, "%s: missing 'name' (name = \"...\";)", ld->wf->path);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return wf_fail_at(ld, s, "'name': expected a string, got %s", sul_config_type_word(config_setting_type(s)));
	ld->wf->name = sul_xstrdup(config_setting_get_string(s));
	if ((s = config_setting_get_member(root, "params")) && read_globals(ld, s))
		return -1;
	/* --set params.NAME before the stages are read: their {params.NAME}
	 * references take the overridden value. */
	if (wf_apply_global_sets(ld->wf, ld->sets, ld->nsets, ld->err))
		return -1;
	if ((s = config_setting_get_member(root, "executor"))) {
		const char *e = config_setting_type(s) == CONFIG_TYPE_STRING ? config_setting_get_string(s) : "";
		if (strcmp(e, "local") && strcmp(e, "slurm"))
			return wf_fail_at(ld, s, "'executor': expected \"local\" or \"slurm\"");
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
		return wf_fail_at(ld, s, "'stages': expected a list ( {...}, {...} ), got %s",
			       sul_config_type_word(config_setting_type(s)));
	n = config_setting_length(s);
	for (i = 0; i < n; i++)
		if (read_stage(ld, config_setting_get_elem(s, (unsigned)i)))
			return -1;
	return 0;
}
