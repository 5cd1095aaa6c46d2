/*
 * hash.h - SHA-256 digests: streaming, typed fields, files and folder trees.
 *
 * Cache keys hash a typed, length-prefixed encoding of their parts (git's
 * "<type> <len>\0" object header) so that no two different key inputs can
 * produce the same byte stream.  SHA-256 comes from OpenSSL's libcrypto.
 */
#ifndef SUL_HASH_H
#define SUL_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "err.h"

#define SUL_HEX_LEN 64
typedef char sul_hex[SUL_HEX_LEN + 1];

struct sul_hash;  /* opaque streaming state */

struct sul_hash *sul_hash_new(void);
void sul_hash_update(struct sul_hash *h, const void *data, size_t len);
/* Appends one field: "<tag> <len>\0<data>". */
void sul_hash_field(struct sul_hash *h, const char *tag, const void *data, size_t len);
void sul_hash_field_str(struct sul_hash *h, const char *tag, const char *s);
/* Writes the hex digest and frees h. */
void sul_hash_final(struct sul_hash *h, sul_hex out);

void sul_sha256_hex(const void *data, size_t len, sul_hex out);

/* SHA-256 of a regular file's content. */
int sul_hash_file(const char *path, sul_hex out, uint64_t *bytes, struct sul_err *err);

/* One entry of a folder walk, in byte order of relative path. */
struct sul_tree_entry {
	char *path;         /* relative to the root, '/'-separated */
	char type;          /* 'f' file, 'l' symlink (not followed), 'd' empty dir */
	int exec;           /* file has an execute bit */
	uint64_t bytes;
	sul_hex sha256;     /* content, or link target */
};

struct sul_tree {
	struct sul_tree_entry *entries;
	size_t n, alloc;
	uint64_t bytes;     /* total of files */
	sul_hex digest;     /* over all entries */
};

/*
 * Memo for file digests, keyed by (path, size, mtime, inode), so that large
 * unchanged data is not re-read.  lookup returns 1 and fills hex on a hit.
 */
struct sul_digest_memo {
	int (*lookup)(void *ctx, const char *path, const struct stat *st, sul_hex hex);
	void (*store)(void *ctx, const char *path, const struct stat *st, const sul_hex hex);
	void *ctx;
};

/*
 * Walks the folder at root and digests every file.  follow_links follows
 * symbolic links (external data, such as a git-annex/DataLad BIDS folder);
 * otherwise links are recorded by target (stage outputs).  memo may be NULL.
 * On failure the tree is left empty.
 */
int sul_tree_scan(const char *root, int follow_links, const struct sul_digest_memo *memo,
		  struct sul_tree *tree, struct sul_err *err);
/* Recomputes tree->digest over every entry but the one at path skip (a
 * stage's timings, metrics.h); sul_tree_scan() digests them all. */
void sul_tree_digest_without(struct sul_tree *tree, const char *skip);
void sul_tree_release(struct sul_tree *tree);

/*
 * Content digest of an external file or folder: a file's SHA-256, or a
 * folder's tree digest.  Missing paths are an error.
 */
int sul_digest_path(const char *path, const struct sul_digest_memo *memo, sul_hex out,
		    struct sul_err *err);

#endif
