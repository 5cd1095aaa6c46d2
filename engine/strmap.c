/* strmap.c - open-addressing string map (see strmap.h). */
#include "strmap.h"
#include "strbuf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static size_t find_slot(const struct sul_strmap *m, const char *key)
{
	size_t i = (size_t)hash_str(key) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key))
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
	for (i = 0; i < old.cap; i++)
		if (old.keys[i])
			sul_strmap_put(m, old.keys[i], old.vals[i]);
	free(old.keys);
	free(old.vals);
}

int sul_strmap_put(struct sul_strmap *m, const char *key, long val)
{
	size_t i;

	if ((m->count + 1) * 4 > m->cap * 3)
		rehash(m, m->cap ? m->cap * 2 : 16);
	i = find_slot(m, key);
	m->vals[i] = val;
	if (m->keys[i])
		return 0;
	m->keys[i] = key;
	m->count++;
	return 1;
}

long sul_strmap_get(const struct sul_strmap *m, const char *key)
{
	size_t i;

	if (!m->cap)
		return -1;
	i = find_slot(m, key);
	return m->keys[i] ? m->vals[i] : -1;
}

void sul_strmap_release(struct sul_strmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}
