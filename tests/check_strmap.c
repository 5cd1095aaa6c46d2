/* check_strmap.c - the string map (engine/strmap.h): puts, gets, growth. */
#include "check_util.h"
#include "../engine/strbuf.h"
#include "../engine/strmap.h"

#include <stdio.h>
#include <stdlib.h>

/* Keys of every length around the hash's eight-byte steps, and cache-key
 * sized ones, through several growths; absent keys stay absent. */
START_TEST(puts_gets_and_grows)
{
	struct sul_strmap m = SUL_STRMAP_INIT;
	char *keys[3000];
	size_t i;

	for (i = 0; i < 3000; i++)
		keys[i] = i < 40 ? sul_xasprintf("%.*s", (int)i, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk")
				 : sul_xasprintf("%064zx", i * 2654435761u);
	for (i = 0; i < 3000; i++)
		ck_assert_int_eq(sul_strmap_put(&m, keys[i], (long)i), 1);
	ck_assert_uint_eq(m.count, 3000);
	for (i = 0; i < 3000; i++)
		ck_assert_int_eq(sul_strmap_get(&m, keys[i]), (long)i);
	/* Replacing keeps the count; an equal string finds the entry. */
	{
		char *copy = sul_xstrdup(keys[2999]);
		ck_assert_int_eq(sul_strmap_put(&m, copy, 7), 0);
		ck_assert_int_eq(sul_strmap_get(&m, keys[2999]), 7);
		free(copy);
	}
	ck_assert_int_eq(sul_strmap_get(&m, "absent"), -1);
	ck_assert_int_eq(sul_strmap_get(&m, "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"), -1);  /* 42 k's: not put */
	sul_strmap_release(&m);
	for (i = 0; i < 3000; i++)
		free(keys[i]);
}
END_TEST

SUL_SUITE(strmap)
{
	Suite *s = suite_create("strmap");
	TCase *tc = tcase_create("strmap");

	tcase_add_test(tc, puts_gets_and_grows);
	suite_add_tcase(s, tc);
	return s;
}
