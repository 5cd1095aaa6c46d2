/* stagekey.c - assemble and hash a stage's key parts (see stagekey.h). */
#include "stagekey.h"

#include <stdlib.h>
#include <string.h>

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct sul_named_digest *)a)->name, ((const struct sul_named_digest *)b)->name);
}

static int add_file(const struct sul_workflow *wf, const char *path, const struct sul_digest_memo *memo,
		    struct sul_stage_key *k, struct sul_err *err)
{
	char *abs;
	size_t i;
	int r;

	for (i = 0; i < k->nfiles; i++)
		if (!strcmp(k->files[i].name, path))
			return 0;
	k->files = sul_xrealloc(k->files, (k->nfiles + 1) * sizeof(*k->files));
	k->files[k->nfiles].name = path;
	abs = sul_workflow_path(wf, path);
	r = sul_digest_path(abs, memo, k->files[k->nfiles].digest, err);
	free(abs);
	if (r)
		return -1;
	k->nfiles++;
	return 0;
}

int sul_stage_key_compute(const struct sul_workflow *wf, const struct sul_stage *st,
			  const sul_hex *input_digests, const struct sul_digest_memo *memo,
			  struct sul_stage_key *k, struct sul_err *err)
{
	struct sul_key_parts parts;
	size_t i;

	memset(k, 0, sizeof(*k));
	k->inputs = sul_xcalloc(st->ninputs ? st->ninputs : 1, sizeof(*k->inputs));
	for (i = 0; i < st->ninputs; i++) {
		k->inputs[i].name = st->inputs[i];
		memcpy(k->inputs[i].digest, input_digests[i], sizeof(sul_hex));
	}
	k->ninputs = st->ninputs;
	qsort(k->inputs, k->ninputs, sizeof(*k->inputs), cmp_named);

	for (i = 0; i < st->nfiles; i++)
		if (add_file(wf, st->files[i], memo, k, err)) {
			sul_err_prefix(err, "stage '%s': file '%s'", st->id, st->files[i]);
			goto fail;
		}
	/* An empty path parameter means "not given" (the kind takes the data elsewhere). */
	for (i = 0; i < st->nparams; i++)
		if (st->params[i].v.type == SUL_T_PATH && *st->params[i].v.s
		    && add_file(wf, st->params[i].v.s, memo, k, err)) {
			sul_err_prefix(err, "stage '%s': parameter '%s'", st->id, st->params[i].name);
			goto fail;
		}
	if (k->nfiles)
		qsort(k->files, k->nfiles, sizeof(*k->files), cmp_named);

	parts.kind = st->kind;
	parts.params = st->params;
	parts.nparams = st->nparams;
	parts.keys = st->keys;
	parts.nkeys = st->nkeys;
	parts.inputs = k->inputs;
	parts.ninputs = k->ninputs;
	parts.files = k->files;
	parts.nfiles = k->nfiles;
	sul_cache_key(&parts, k->key);
	return 0;
fail:
	sul_stage_key_release(k);
	return -1;
}

void sul_stage_key_json(struct sul_stage_key *k, const struct sul_stage *st)
{
	struct sul_buf b = SUL_BUF_INIT;

	if (k->params_json)
		return;
	sul_params_json(st->params, st->nparams, &b);
	k->params_json = sul_buf_detach(&b);
	sul_params_json(st->keys, st->nkeys, &b);
	k->keys_json = sul_buf_detach(&b);
	sul_named_digests_json(k->inputs, k->ninputs, &b);
	k->inputs_json = sul_buf_detach(&b);
	sul_named_digests_json(k->files, k->nfiles, &b);
	k->files_json = sul_buf_detach(&b);
}

void sul_stage_key_release(struct sul_stage_key *k)
{
	free(k->inputs);
	free(k->files);
	free(k->params_json);
	free(k->keys_json);
	free(k->inputs_json);
	free(k->files_json);
	memset(k, 0, sizeof(*k));
}
