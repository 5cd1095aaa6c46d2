/* strmap.c - open-addressing string map (see strmap.h). */
#include "strmap.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Eight bytes a step (keys are mostly 64-character cache keys), mixed by
 * multiplication and folded with the high half. */
static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull, w;
	size_t n = strlen(s);

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		h = (h ^ w) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	w = 0;
	memcpy(&w, s, n);
	h = (h ^ w ^ n) * 0x9e3779b97f4a7c15ull;
	return h ^ (h >> 32);
}

static size_t find_slot(const struct sul_strmap *m, const char *key, uint64_t h)
{
	size_t i = (size_t)h & (m->cap - 1);
	while (m->keys[i] && (m->hashes[i] != (unsigned)(h >> 32) || strcmp(m->keys[i], key)))
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void rehash(struct sul_strmap *m, size_t cap)
{
	struct sul_strmap old = *m;
	size_t i;

	m->cap = cap;
	m->count = 0;
	m->keys = sul_xcalloc(cap, sizeof(*m->keys));
	m->vals = sul_xcalloc(cap, sizeof(*m->vals));
	m->hashes = sul_xcalloc(cap, sizeof(*m->hashes));
	for (i = 0; i < old.cap; i++)
		if (old.keys[i])
			sul_strmap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
	free(old.hashes);
}

int sul_strmap_put(struct sul_strmap *m, const char *key, long val)
{
	uint64_t h = hash_str(key);
	size_t i;

	if ((m->count + 1) * 4 > m->cap * 3)
		rehash(m, m->cap ? m->cap * 2 : 16);
	i = find_slot(m, key, h);
	m->vals[i] = val;
	if (m->keys[i])
		return 0;
	m->keys[i] = key;
	m->hashes[i] = (unsigned)(h >> 32);
	m->count++;
	return 1;
}

long sul_strmap_get(const struct sul_strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return -1;
	i = find_slot(m, key, hash_str(key));
	return m->keys[i] ? m->vals[i] : -1;
}

void sul_strmap_release(struct sul_strmap *m)
{
	free(m->keys);
	free(m->vals);
	free(m->hashes);
	memset(m, 0, sizeof(*m));
}
