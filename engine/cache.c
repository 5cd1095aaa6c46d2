/* cache.c - cache keys, entry lookup and atomic publishing (see cache.h). */
#include "cache.h"
#include "fault.h"
#include "fsutil.h"
#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MANIFEST_MAGIC "sulcus-manifest 1\n"

void sul_cache_key(const struct sul_key_parts *p, sul_hex key)
{
	struct sul_hash *h = sul_hash_new();
	struct sul_buf b = SUL_BUF_INIT;
	char num[32];
	size_t i;

	sul_hash_field_str(h, "sulcus-key", "1");
	sul_hash_field_str(h, "kind", p->kind->name);
	snprintf(num, sizeof(num), "%d", p->kind->version);
	sul_hash_field_str(h, "version", num);
	for (i = 0; i < p->nkeys; i++) {
		sul_buf_reset(&b);
		sul_value_canon(&p->keys[i].v, &b);
		sul_hash_field_str(h, "key", p->keys[i].name);
		sul_hash_field(h, "value", b.buf, b.len);
	}
	for (i = 0; i < p->nparams; i++) {
		sul_buf_reset(&b);
		sul_value_canon(&p->params[i].v, &b);
		sul_hash_field_str(h, "param", p->params[i].name);
		sul_hash_field(h, "value", b.buf, b.len);
	}
	for (i = 0; i < p->ninputs; i++) {
		sul_hash_field_str(h, "input", p->inputs[i].name);
		sul_hash_field(h, "digest", p->inputs[i].digest, SUL_HEX_LEN);
	}
	for (i = 0; i < p->nfiles; i++) {
		sul_hash_field_str(h, "file", p->files[i].name);
		sul_hash_field(h, "digest", p->files[i].digest, SUL_HEX_LEN);
	}
	sul_hash_final(h, key);
	sul_buf_release(&b);
}

void sul_named_digests_json(const struct sul_named_digest *d, size_t n, struct sul_buf *out)
{
	size_t i;

	sul_buf_addc(out, '{');
	for (i = 0; i < n; i++) {
		if (i)
			sul_buf_adds(out, ", ");
		sul_buf_add_json_str(out, d[i].name);
		sul_buf_adds(out, ": ");
		sul_buf_add_json_str(out, d[i].digest);
	}
	sul_buf_addc(out, '}');
}

char *sul_cache_entry_dir(const char *cache_dir, const char *key)
{
	return sul_xasprintf("%s/%s", cache_dir, key);
}

/* Reads only the header lines: the digest is on the second line. */
int sul_cache_lookup(const char *cache_dir, const char *key, sul_hex digest, struct sul_err *err)
{
	char path[4096], buf[256];
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s/manifest", cache_dir, key) >= sizeof(path))
		return sul_err_set(err, SUL_ERR_FAIL, "cache path too long: '%s'", cache_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return sul_err_sys(err, "cannot read '%s'", path);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return sul_err_sys(err, "cannot read '%s'", path);
	buf[n] = '\0';
	if (strncmp(buf, MANIFEST_MAGIC "digest ", strlen(MANIFEST_MAGIC) + 7)
	    || (size_t)n < strlen(MANIFEST_MAGIC) + 7 + SUL_HEX_LEN)
		return sul_err_set(err, SUL_ERR_FAIL, "'%s': not a sulcus manifest", path);
	memcpy(digest, buf + strlen(MANIFEST_MAGIC) + 7, SUL_HEX_LEN);
	digest[SUL_HEX_LEN] = '\0';
	return 1;
}

static void manifest_text(const struct sul_tree *t, struct sul_buf *b)
{
	size_t i;

	sul_buf_adds(b, MANIFEST_MAGIC);
	sul_buf_addf(b, "digest %s\n", t->digest);
	sul_buf_addf(b, "bytes %" PRIu64 "\n", t->bytes);
	sul_buf_addf(b, "entries %zu\n", t->n);
	for (i = 0; i < t->n; i++) {
		const struct sul_tree_entry *e = &t->entries[i];
		/* Paths come last on the line: they may hold spaces, never newlines. */
		sul_buf_addf(b, "%c%c %s %" PRIu64 " %s\n", e->type, e->exec ? 'x' : '-', e->sha256,
			     e->bytes, e->path);
	}
}

/* Up to this many files, publishing fsyncs each; past it, one syncfs. */
#define SUL_FSYNC_FILES_MAX 64

int sul_cache_publish(const char *staging, const char *cache_dir, const char *key, sul_hex digest,
		      struct sul_err *err)
{
	char *out = sul_xasprintf("%s/out", staging);
	char *manifest = sul_xasprintf("%s/manifest", staging);
	char *entry = sul_cache_entry_dir(cache_dir, key);
	struct sul_buf text = SUL_BUF_INIT;
	struct sul_tree tree;
	size_t nfiles;
	int ret = -1;

	if (sul_tree_scan(out, 0, NULL, &tree, err))
		goto out;
	/* The output's digest, which users' keys hold: its results, not how
	 * long this execution took (metrics.h). */
	sul_tree_digest_without(&tree, SUL_TIMINGS_FILE);
	for (size_t i = 0; i < tree.n; i++)
		if (strchr(tree.entries[i].path, '\n')) {
			sul_err_set(err, SUL_ERR_FAIL, "output file name with a newline: '%s'",
				    tree.entries[i].path);
			sul_tree_release(&tree);
			goto out;
		}
	memcpy(digest, tree.digest, sizeof(sul_hex));
	nfiles = tree.n;
	manifest_text(&tree, &text);
	sul_tree_release(&tree);
	/* The staging folder is nobody's until the rename: the manifest needs no
	 * rename of its own, and is made durable with the rest.  A few files
	 * are fsynced one by one; past that, one syncfs costs less than their
	 * fsyncs (a slices or cam stage writes a PNG per slice), at the price
	 * of waiting for other programs' unwritten data too. */
	if (sul_write_file(manifest, text.buf, text.len, err)
	    || (nfiles <= SUL_FSYNC_FILES_MAX ? sul_fsync_tree(staging, err) : sul_syncfs_path(staging, err)))
		goto out;
	sul_fault_crash("publish-before-rename");
	if (sul_fault_fail("rename") || rename(staging, entry)) {
		char *old;
		if (errno != EEXIST && errno != ENOTEMPTY) {
			sul_err_sys(err, "cannot publish '%s' as '%s'", staging, entry);
			goto out;
		}
		/* The key is cached already: a forced rerun.  Its output replaces
		 * the entry, whose digest the caller hands downstream (they differ
		 * for a stage that is not deterministic; timings always differ,
		 * outside the digest).  The old entry moves aside first: a crash
		 * in between leaves no entry, which reruns, never a mix of two. */
		old = sul_xasprintf("%s.replaced", staging);
		if (rename(entry, old)
		    || (sul_fault_crash("publish-between-renames"), sul_fault_fail("rename"))
		    || rename(staging, entry)) {
			sul_err_sys(err, "cannot replace the cache entry '%s'", entry);
			free(old);
			goto out;
		}
		sul_fault_crash("publish-before-removing-old");
		ret = sul_rmtree(old, err);
		free(old);
		if (ret)
			goto out;
	}
	ret = sul_fsync_path(cache_dir, err);
out:
	sul_buf_release(&text);
	free(out);
	free(manifest);
	free(entry);
	return ret;
}

int sul_cache_read_manifest(const char *cache_dir, const char *key, struct sul_tree *tree,
			    struct sul_err *err)
{
	char *path = sul_xasprintf("%s/%s/manifest", cache_dir, key);
	struct sul_buf b = SUL_BUF_INIT;
	char *line, *next;
	int ret = -1, lineno = 0;

	memset(tree, 0, sizeof(*tree));
	if (sul_read_file(path, &b, err))
		goto out;
	for (line = b.buf; *line; line = next) {
		next = strchr(line, '\n');
		if (!next) {
			sul_err_set(err, SUL_ERR_FAIL, "%s: truncated", path);
			goto out;
		}
		*next++ = '\0';
		lineno++;
		if (lineno == 1)
			continue;
		if (!strncmp(line, "digest ", 7) && strlen(line + 7) == SUL_HEX_LEN) {
			memcpy(tree->digest, line + 7, sizeof(sul_hex));
		} else if (!strncmp(line, "bytes ", 6)) {
			tree->bytes = strtoull(line + 6, NULL, 10);
		} else if (!strncmp(line, "entries ", 8)) {
			continue;
		} else {
			struct sul_tree_entry *e;
			char *sp1, *sp2;
			if (strlen(line) < 3 + SUL_HEX_LEN + 3 || line[2] != ' ' || line[3 + SUL_HEX_LEN] != ' ') {
				sul_err_set(err, SUL_ERR_FAIL, "%s:%d: malformed manifest line", path, lineno);
				goto out;
			}
			SUL_ALLOC_GROW(tree->entries, tree->n + 1, tree->alloc);
			e = &tree->entries[tree->n++];
			memset(e, 0, sizeof(*e));
			e->type = line[0];
			e->exec = line[1] == 'x';
			memcpy(e->sha256, line + 3, SUL_HEX_LEN);
			e->sha256[SUL_HEX_LEN] = '\0';
			e->bytes = strtoull(line + 4 + SUL_HEX_LEN, &sp1, 10);
			sp2 = sp1 && *sp1 == ' ' ? sp1 + 1 : sp1;
			e->path = sul_xstrdup(sp2 ? sp2 : "");
		}
	}
	ret = 0;
out:
	if (ret)
		sul_tree_release(tree);
	sul_buf_release(&b);
	free(path);
	return ret;
}
