/*
 * strmap.h - a hash map from borrowed strings to integers.
 *
 * Maps stage ids to stage indexes and cache keys to rows when a workflow has
 * thousands of stages.  Keys are not copied: they must outlive the map.
 */
#ifndef SUL_STRMAP_H
#define SUL_STRMAP_H

#include <stddef.h>

struct sul_strmap {
	const char **keys;
	long *vals;
	unsigned *hashes;  /* low bits of each key's hash: most probes end here, the key unread */
	size_t cap;   /* power of two, or 0 */
	size_t count;
};

#define SUL_STRMAP_INIT { NULL, NULL, NULL, 0, 0 }

/* Sets key to val.  Returns 1 if key was new, 0 if it replaced a value. */
int sul_strmap_put(struct sul_strmap *m, const char *key, long val);
/* Returns the value of key, or -1 when absent. */
long sul_strmap_get(const struct sul_strmap *m, const char *key);
void sul_strmap_release(struct sul_strmap *m);

#endif
