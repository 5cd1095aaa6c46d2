/*
 * bids.h - a BIDS folder as it is found: the entities of file names,
 * sessions, the choice of one image among runs and acquisitions, JSON
 * sidecars with BIDS's inheritance, and dataset_description.json.
 *
 * Used by the `ingest` kind; nothing here reads image data.
 */
#ifndef SULCUS_BIDS_H
#define SULCUS_BIDS_H

#include "../engine/err.h"
#include "../engine/strbuf.h"

#include <stddef.h>

#define SUL_BIDS_MAX_ENTITIES 12
#define SUL_BIDS_LABEL_MAX 64

/* sub-01_ses-2_acq-fast_run-3_T2w.nii.gz: key-label pairs in file order,
 * the suffix (T2w) and the extension (.nii.gz). */
struct sul_bids_name {
	size_t n;
	char key[SUL_BIDS_MAX_ENTITIES][16];
	char label[SUL_BIDS_MAX_ENTITIES][SUL_BIDS_LABEL_MAX];
	char suffix[32];
	char ext[16];
};

/* 0 when file (a name, no folder) is a BIDS name; -1 otherwise. */
int sul_bids_parse_name(const char *file, struct sul_bids_name *out);
/* The label of entity key ("run"), or NULL when the name has none. */
const char *sul_bids_entity(const struct sul_bids_name *name, const char *key);

/* Compares labels as numbers where both are ("2" < "10"), else as text. */
int sul_bids_label_cmp(const char *a, const char *b);

/* The session labels of bids/sub (the XX of its ses-XX folders), sorted by
 * sul_bids_label_cmp; *n = 0 when it has none.  Caller frees with
 * sul_bids_free_list. */
int sul_bids_sessions(const char *bids, const char *sub, char ***labels, size_t *n, struct sul_err *err);
void sul_bids_free_list(char **list, size_t n);

/* How ingest picks one image of a suffix in a subject's (session's) anat
 * folder: entity filters ("" = no filter) and the run rule. */
struct sul_bids_pick {
	const char *acq, *ce, *rec;
	const char *run;   /* "last", "first" or a run label */
};

/*
 * The one image of `suffix` in bids/sub[/ses-SES]/anat (ses may be NULL or
 * ""): the candidates that match the filters; among acquisitions that
 * differ in acq, ce or rec with no filter given, the one without that
 * entity (the default acquisition); then the run by the rule.  Fills rel
 * (the image's path relative to bids) and why (how many candidates there
 * were and what chose this one).  Returns 1 when found, 0 when not found
 * or ambiguous (why says which, for the caller's list of problems), -1 on
 * a system error.
 */
int sul_bids_find_image(const char *bids, const char *sub, const char *ses, const char *suffix,
			const struct sul_bids_pick *pick, struct sul_buf *rel, struct sul_buf *why,
			struct sul_err *err);

/* Metadata of an image from its JSON sidecars, with BIDS's inheritance
 * principle: the sidecars of the same suffix whose entities are a subset of
 * the image's, at the dataset, subject, session and image levels, the
 * deeper (then the more specific) winning key by key. */
enum { SUL_BIDS_FIELD_T, SUL_BIDS_MANUFACTURER, SUL_BIDS_MODEL, SUL_BIDS_SEQUENCE, SUL_BIDS_TR, SUL_BIDS_TE,
       SUL_BIDS_TI, SUL_BIDS_FLIP, SUL_BIDS_NMETA };
/* The sidecar keys, in the order above. */
extern const char *const sul_bids_meta_keys[SUL_BIDS_NMETA];

struct sul_bids_meta {
	char value[SUL_BIDS_NMETA][128];  /* "" when no sidecar gives it */
	size_t nsidecars;
};

/* Fills meta for the image at bids/rel.  A sidecar that is not valid JSON
 * is an error naming it. */
int sul_bids_sidecar(const char *bids, const char *rel, struct sul_bids_meta *meta, struct sul_err *err);

/* JSON object member `key` of file path as text ("" when absent): numbers
 * as written, strings unquoted, arrays and objects as JSON.  -1 with err
 * when the file is not valid JSON; 1 when it does not exist. */
int sul_bids_json_get(const char *path, const char *const *keys, size_t nkeys, char (*values)[128],
		      struct sul_err *err);

#endif
