/* suggest.c - closest-name suggestions by Damerau-Levenshtein distance. */
#include "suggest.h"

#include <stdlib.h>
#include <string.h>

static size_t min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;
	return m < c ? m : c;
}

/* Optimal string alignment distance; inputs are short names. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j, d;
	size_t *m;

	if (la > 64 || lb > 64)
		return (size_t)-1;
	m = calloc((la + 1) * (lb + 1), sizeof(*m));
	if (!m)
		return (size_t)-1;
#define M(x, y) m[(x) * (lb + 1) + (y)]
	for (i = 0; i <= la; i++)
		M(i, 0) = i;
	for (j = 0; j <= lb; j++)
		M(0, j) = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			M(i, j) = min3(M(i - 1, j) + 1, M(i, j - 1) + 1, M(i - 1, j - 1) + cost);
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]
			    && M(i - 2, j - 2) + 1 < M(i, j))
				M(i, j) = M(i - 2, j - 2) + 1;
		}
	d = M(la, lb);
#undef M
	free(m);
	return d;
}

const char *sul_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t best_d = (size_t)-1, i, limit;

	limit = strlen(word) / 3 + 1;
	if (limit > 3)
		limit = 3;
	for (i = 0; i < n; i++) {
		size_t d = distance(word, cands[i]);
		if (d < best_d) {
			best_d = d;
			best = cands[i];
		}
	}
	/* Replacing every letter of a short word is no typo: 'b' does not suggest 'a'. */
	return best_d <= limit && best_d < strlen(word) ? best : NULL;
}
