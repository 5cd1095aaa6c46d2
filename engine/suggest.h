/* suggest.h - "did you mean" for misspelled names (edit distance). */
#ifndef SUL_SUGGEST_H
#define SUL_SUGGEST_H

#include <stddef.h>

/* The candidate closest to word, if close enough to be a likely typo; else NULL. */
const char *sul_suggest(const char *word, const char *const *cands, size_t n);

#endif
