/*
 * wf_inputs.c - stage ids indexed, duplicates refused, and each stage's
 * inputs resolved to indexes (a glob input stands for every matching
 * stage) (see wf_private.h).
 */
#include "wf_private.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

const char **wf_stage_ids(const struct sul_workflow *wf)
{
	const char **ids = sul_xmalloc((wf->nstages + 1) * sizeof(*ids));
	size_t i;

	for (i = 0; i < wf->nstages; i++)
		ids[i] = wf->stages[i].id;
	return ids;
}

int wf_index_stages(struct sul_workflow *wf, struct sul_err *err)
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

int wf_is_glob(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

/* Resolves input names to indexes; a glob input stands for every match. */
int wf_resolve_inputs(struct sul_workflow *wf, struct sul_err *err)
{
	const char **ids = wf_stage_ids(wf);
	size_t i, j, k;
	int ret = -1;

	for (i = 0; i < wf->nstages; i++) {
		struct sul_stage *st = &wf->stages[i];
		char **names = NULL;
		size_t n = 0;

		for (j = 0; j < st->ninputs; j++) {
			const char *in = st->inputs[j];
			size_t matched = 0;

			if (!wf_is_glob(in)) {
				if (sul_strmap_get(&wf->index, in) < 0) {
					struct sul_buf b = SUL_BUF_INIT;
					sul_buf_addf(&b, "input '%s' names no stage", in);
					wf_add_suggestion(&b, in, ids, wf->nstages);
					wf_fail_stage(err, st, "%s", b.buf);
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
				wf_fail_stage(err, st, "input '%s' matches no stage", in);
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
					wf_fail_stage(err, st, "input '%s' is listed twice", names[j]);
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
