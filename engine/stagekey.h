/*
 * stagekey.h - everything a stage's cache key is made of, computed for one
 * stage once its inputs' output digests are known (cache.h explains the key).
 */
#ifndef SUL_STAGEKEY_H
#define SUL_STAGEKEY_H

#include "cache.h"
#include "hash.h"
#include "workflow.h"

struct sul_stage_key {
	sul_hex key;
	struct sul_named_digest *inputs;  /* sorted by id */
	size_t ninputs;
	struct sul_named_digest *files;   /* sorted by path as written */
	size_t nfiles;
	/* JSON renderings for the database, NULL until sul_stage_key_json(). */
	char *params_json, *keys_json, *inputs_json, *files_json;
};

/*
 * input_digests[j] is the output digest of st->inputs[j].  External files
 * (the stage's `files` and its path parameters) are digested through memo
 * (may be NULL).  On failure k is released.
 */
int sul_stage_key_compute(const struct sul_workflow *wf, const struct sul_stage *st,
			  const sul_hex *input_digests, const struct sul_digest_memo *memo,
			  struct sul_stage_key *k, struct sul_err *err);
/* Fills the JSON renderings (once; plan does not need them for cached stages). */
void sul_stage_key_json(struct sul_stage_key *k, const struct sul_stage *st);
void sul_stage_key_release(struct sul_stage_key *k);

#endif
