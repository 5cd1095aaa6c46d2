/* kinds.c - the table of stage kinds, generated from kinds.def. */
#include "../engine/kind.h"

#include <string.h>

#define SUL_KIND(n) extern const struct sul_kind sul_kind_##n;
#include "kinds.def"
#undef SUL_KIND

static const struct sul_kind *const all_kinds[] = {
#define SUL_KIND(n) &sul_kind_##n,
#include "kinds.def"
#undef SUL_KIND
};

const struct sul_kind *const *sul_kinds(size_t *n)
{
	*n = sizeof(all_kinds) / sizeof(all_kinds[0]);
	return all_kinds;
}

/* Kinds that only the unit tests define (tests/check_kinds.c: a schema
 * probe); a weak symbol, absent from sulcus itself. */
extern const struct sul_kind *const sul_test_kinds[] __attribute__((weak));

const struct sul_kind *sul_kind_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(all_kinds) / sizeof(all_kinds[0]); i++)
		if (!strcmp(all_kinds[i]->name, name))
			return all_kinds[i];
	for (i = 0; sul_test_kinds && sul_test_kinds[i]; i++)
		if (!strcmp(sul_test_kinds[i]->name, name))
			return sul_test_kinds[i];
	return NULL;
}
