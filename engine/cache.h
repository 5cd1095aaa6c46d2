/*
 * cache.h - cache keys and the content-addressed cache of stage outputs.
 *
 * An entry is the folder `CACHE/<key>/` holding `out/` (what the stage
 * wrote) and `manifest` (every file's digest, and the digest of the whole
 * output).  Entries are built in a temporary folder and arrive by rename(),
 * so an entry that exists is complete: there is no other "done" marker.
 *
 * The key of a stage is SHA-256 over a typed, length-prefixed encoding of its
 * kind and kind version, its parameters and kind-specific keys (canonical
 * rendering, sorted by name), the output digest of each input (not the
 * input's key: an input that reran and produced the same bytes leaves its
 * users' keys unchanged, which is early cutoff), and the content digest of
 * each external file or folder it names.
 */
#ifndef SUL_CACHE_H
#define SUL_CACHE_H

#include "err.h"
#include "hash.h"
#include "kind.h"
#include "strbuf.h"

struct sul_named_digest {
	const char *name;   /* input stage id, or external path as written */
	sul_hex digest;
};

struct sul_key_parts {
	const struct sul_kind *kind;
	const struct sul_param *params;
	size_t nparams;
	const struct sul_param *keys;
	size_t nkeys;
	const struct sul_named_digest *inputs;  /* sorted by name */
	size_t ninputs;
	const struct sul_named_digest *files;   /* sorted by name */
	size_t nfiles;
};

void sul_cache_key(const struct sul_key_parts *parts, sul_hex key);

/* JSON renderings stored with each execution (for `plan` to explain changes). */
void sul_named_digests_json(const struct sul_named_digest *d, size_t n, struct sul_buf *out);

/* CACHE/<key>: caller frees. */
char *sul_cache_entry_dir(const char *cache_dir, const char *key);

/*
 * Looks up an entry.  Returns 1 and fills digest when it exists, 0 when it
 * does not, -1 when it exists but its manifest cannot be read.
 */
int sul_cache_lookup(const char *cache_dir, const char *key, sul_hex digest, struct sul_err *err);

/*
 * Publishes staging (a folder holding the stage's `out/`) as the entry for
 * key: scans and digests out/, writes the manifest, fsyncs, and renames the
 * folder into cache_dir.  Fills digest with the output digest.  If an entry
 * for key exists already (a forced rerun), the new one replaces it: the old
 * entry is renamed aside, then the new one in, then the old one removed, so
 * a crash leaves the old entry, none, or the new one, never a mix.
 *
 * The manifest is the truth about an entry; the database's `outputs` row
 * is a copy of it.  A replaced entry's digest may differ from its row's, so
 * whoever starts a stage that may replace an entry deletes the entry's rows
 * first and records them again after the publish (sched.c,
 * sul_prov_forget_output): a row, when there is one, always agrees with the
 * entry on disk.
 */
int sul_cache_publish(const char *staging, const char *cache_dir, const char *key, sul_hex digest,
		      struct sul_err *err);

/* Reads an entry's manifest into tree (entries, bytes, digest). */
int sul_cache_read_manifest(const char *cache_dir, const char *key, struct sul_tree *tree,
			    struct sul_err *err);

#endif
