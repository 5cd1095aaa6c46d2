/* hash.c - SHA-256 over OpenSSL EVP, files and folder trees (see hash.h). */
#include "hash.h"
#include "strbuf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * A cache key is some twenty fields of a few bytes each: they gather in buf
 * and reach libcrypto in one call, which costs less than the fields' own
 * calls did (a third of `sulcus plan` on 10,000 stages).  The bytes hashed
 * are the same.
 */
struct sul_hash {
	EVP_MD_CTX *ctx;
	size_t n;
	unsigned char buf[4096];
};

/* SHA-256, fetched from the provider once rather than at every init. */
static const EVP_MD *sha256(void)
{
	static EVP_MD *md;

	if (!md)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	return md ? md : EVP_sha256();
}

struct sul_hash *sul_hash_new(void)
{
	struct sul_hash *h = sul_xmalloc(sizeof(*h));

	h->n = 0;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx || !EVP_DigestInit_ex(h->ctx, sha256(), NULL))
		abort(); /* only fails on allocation failure */
	return h;
}

static void flush(struct sul_hash *h)
{
	if (h->n)
		EVP_DigestUpdate(h->ctx, h->buf, h->n);
	h->n = 0;
}

void sul_hash_update(struct sul_hash *h, const void *data, size_t len)
{
	if (h->n + len > sizeof(h->buf))
		flush(h);
	if (len >= sizeof(h->buf)) {
		EVP_DigestUpdate(h->ctx, data, len);
		return;
	}
	memcpy(h->buf + h->n, data, len);
	h->n += len;
}

void sul_hash_field(struct sul_hash *h, const char *tag, const void *data, size_t len)
{
	char num[24], *p = num + sizeof(num);
	size_t v = len;

	/* "<tag> <len>\0", as "%s %zu" and its NUL would write it. */
	*--p = '\0';
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10));
	*--p = ' ';
	sul_hash_update(h, tag, strlen(tag));
	sul_hash_update(h, p, (size_t)(num + sizeof(num) - p));
	sul_hash_update(h, data, len);
}

void sul_hash_field_str(struct sul_hash *h, const char *tag, const char *s)
{
	sul_hash_field(h, tag, s, strlen(s));
}

static void to_hex(const unsigned char *md, sul_hex out)
{
	static const char digits[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 32; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[SUL_HEX_LEN] = '\0';
}

void sul_hash_final(struct sul_hash *h, sul_hex out)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	flush(h);
	EVP_DigestFinal_ex(h->ctx, md, &len);
	EVP_MD_CTX_free(h->ctx);
	free(h);
	to_hex(md, out);
}

void sul_sha256_hex(const void *data, size_t len, sul_hex out)
{
	struct sul_hash *h = sul_hash_new();
	sul_hash_update(h, data, len);
	sul_hash_final(h, out);
}

int sul_hash_file(const char *path, sul_hex out, uint64_t *bytes, struct sul_err *err)
{
	static const size_t chunk = 1 << 16;
	struct sul_hash *h;
	uint64_t total = 0;
	char *buf;
	int fd, ret = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return sul_err_sys(err, "cannot read '%s'", path);
	buf = sul_xmalloc(chunk);
	h = sul_hash_new();
	for (;;) {
		ssize_t n = read(fd, buf, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			sul_err_sys(err, "cannot read '%s'", path);
			sul_hash_final(h, out);
			goto out;
		}
		if (n == 0)
			break;
		sul_hash_update(h, buf, (size_t)n);
		total += (uint64_t)n;
	}
	sul_hash_final(h, out);
	if (bytes)
		*bytes = total;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct sul_tree_entry *add_entry(struct sul_tree *tree, const char *rel, char type)
{
	struct sul_tree_entry *e;

	SUL_ALLOC_GROW(tree->entries, tree->n + 1, tree->alloc);
	e = &tree->entries[tree->n++];
	memset(e, 0, sizeof(*e));
	e->path = sul_xstrdup(rel);
	e->type = type;
	return e;
}

static int digest_file(const char *path, const struct stat *st, const struct sul_digest_memo *memo,
		       sul_hex out, struct sul_err *err)
{
	if (memo && memo->lookup(memo->ctx, path, st, out))
		return 0;
	if (sul_hash_file(path, out, NULL, err))
		return -1;
	if (memo)
		memo->store(memo->ctx, path, st, out);
	return 0;
}

/* Walks dir (absolute path abs, relative name rel) in sorted order. */
static int walk(const char *abs, const char *rel, int follow, const struct sul_digest_memo *memo,
		struct sul_tree *tree, int depth, struct sul_err *err)
{
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	struct dirent *de;
	DIR *d;
	int ret = -1, added = 0;

	if (depth > 64)
		return sul_err_set(err, SUL_ERR_FAIL, "'%s': folders nested too deep (a link loop?)", abs);
	d = opendir(abs);
	if (!d)
		return sul_err_sys(err, "cannot read folder '%s'", abs);
	while ((errno = 0, de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		SUL_ALLOC_GROW(names, n + 1, alloc);
		names[n++] = sul_xstrdup(de->d_name);
	}
	if (errno) {
		sul_err_sys(err, "cannot read folder '%s'", abs);
		closedir(d);
		goto out;
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof(*names), cmp_names);

	for (i = 0; i < n; i++) {
		char *cabs = sul_xasprintf("%s/%s", abs, names[i]);
		char *crel = *rel ? sul_xasprintf("%s/%s", rel, names[i]) : sul_xstrdup(names[i]);
		struct stat st;
		int r = follow ? stat(cabs, &st) : lstat(cabs, &st);
		int failed = 0;

		if (r) {
			sul_err_sys(err, "cannot stat '%s'", cabs);
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			failed = walk(cabs, crel, follow, memo, tree, depth + 1, err) != 0;
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t len = readlink(cabs, target, sizeof(target) - 1);
			if (len < 0) {
				sul_err_sys(err, "cannot read link '%s'", cabs);
				failed = 1;
			} else {
				struct sul_tree_entry *e = add_entry(tree, crel, 'l');
				target[len] = '\0';
				sul_sha256_hex(target, (size_t)len, e->sha256);
			}
		} else if (S_ISREG(st.st_mode)) {
			struct sul_tree_entry *e = add_entry(tree, crel, 'f');
			e->exec = (st.st_mode & 0111) != 0;
			e->bytes = (uint64_t)st.st_size;
			tree->bytes += e->bytes;
			failed = digest_file(cabs, &st, memo, e->sha256, err) != 0;
		} else {
			sul_err_set(err, SUL_ERR_FAIL, "'%s': not a regular file, folder or link", cabs);
			failed = 1;
		}
		free(cabs);
		free(crel);
		if (failed)
			goto out;
		added = 1;
	}
	/* An empty folder is part of the output's shape: record it. */
	if (!added && *rel)
		add_entry(tree, rel, 'd');
	ret = 0;
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return ret;
}

int sul_tree_scan(const char *root, int follow_links, const struct sul_digest_memo *memo,
		  struct sul_tree *tree, struct sul_err *err)
{
	memset(tree, 0, sizeof(*tree));
	if (walk(root, "", follow_links, memo, tree, 0, err)) {
		sul_tree_release(tree);
		return -1;
	}
	sul_tree_digest_without(tree, NULL);
	return 0;
}

void sul_tree_digest_without(struct sul_tree *tree, const char *skip)
{
	struct sul_hash *h = sul_hash_new();
	size_t i;

	sul_hash_field_str(h, "tree", "1");
	for (i = 0; i < tree->n; i++) {
		const struct sul_tree_entry *e = &tree->entries[i];
		char tag[8] = { e->type, e->exec ? 'x' : '-', '\0' };
		if (skip && !strcmp(e->path, skip))
			continue;
		sul_hash_field_str(h, tag, e->path);
		sul_hash_field(h, "sha", e->sha256, SUL_HEX_LEN);
	}
	sul_hash_final(h, tree->digest);
}

void sul_tree_release(struct sul_tree *tree)
{
	size_t i;

	for (i = 0; i < tree->n; i++)
		free(tree->entries[i].path);
	free(tree->entries);
	memset(tree, 0, sizeof(*tree));
}

int sul_digest_path(const char *path, const struct sul_digest_memo *memo, sul_hex out,
		    struct sul_err *err)
{
	struct sul_tree tree;
	struct stat st;

	if (stat(path, &st))
		return sul_err_sys(err, "cannot read '%s'", path);
	if (S_ISREG(st.st_mode))
		return digest_file(path, &st, memo, out, err);
	if (!S_ISDIR(st.st_mode))
		return sul_err_set(err, SUL_ERR_INPUT, "'%s': expected a file or a folder", path);
	if (sul_tree_scan(path, 1, memo, &tree, err))
		return -1;
	memcpy(out, tree.digest, sizeof(sul_hex));
	sul_tree_release(&tree);
	return 0;
}
