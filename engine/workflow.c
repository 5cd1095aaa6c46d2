/*
 * workflow.c - load a libconfig workflow file into validated stages: the
 * order of the steps, each in a file of its own (wf_private.h).
 *
 * Read the file (wf_parse.c) and its settings (wf_stage.c), expanding each
 * stage template over its `foreach` lists and substituting loop variables
 * and workflow parameters (wf_expand.c); index the ids and apply --set
 * overrides (wf_inputs.c, wf_set.c); check every parameter against its
 * kind's schema (wf_check.c); resolve inputs (wf_inputs.c); run each kind's
 * own check (wf_check.c); finally look for cycles (dag.c).  Nothing here
 * touches the workspace.
 */
#include "wf_private.h"

#include <stdlib.h>
#include <string.h>

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
	wf_absolute_includes(wf->dir, &content);
	if (!config_read_string(&ld.cfg, content.buf)) {
		wf_parse_error(wf, &ld.cfg, err);
		config_destroy(&ld.cfg);
		goto out;
	}
	/* Settings read from a string carry no file name: name them ourselves. */
	if (wf_read_root(&ld)) {
		config_destroy(&ld.cfg);
		goto out;
	}
	config_destroy(&ld.cfg);

	if (wf_index_stages(wf, err))
		goto out;
	if (wf_apply_stage_sets(wf, sets, nsets, err))
		goto out;
	for (i = 0; i < wf->nstages; i++) {
		struct sul_stage *st = &wf->stages[i];
		if (wf_import_globals(wf, st, err) || wf_check_params(st, err))
			goto out;
	}
	if (wf_resolve_inputs(wf, err))
		goto out;
	for (i = 0; i < wf->nstages; i++)
		if (wf_kind_check(wf, &wf->stages[i], err))
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
		wf_stage_release(&wf->stages[i]);
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
