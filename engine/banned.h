/*
 * banned.h - C library functions that sulcus does not call (after git's
 * banned.h), made compile errors with GCC's poison pragma.
 *
 * The Makefile force-includes this file (-include) into every file it
 * compiles.  The poison would also hit the library's own declarations, so
 * the headers that declare these functions are included first; their
 * include guards keep them from being read again after the poison.
 *
 * Why each is banned: sprintf, vsprintf, strcpy, strcat, strncat and gets
 * write without a bound (or with one that is easy to get wrong, and
 * strncpy does not terminate): use snprintf or sul_buf (strbuf.h).  atoi,
 * atol, atoll and atof cannot report an error: use strtol/strtod and check
 * the end pointer.  strtok, gmtime, localtime, ctime and asctime keep
 * hidden state: use strtok_r, gmtime_r, localtime_r.  tmpnam and mktemp
 * race: use mkstemp or mkdtemp.
 */
#ifndef SUL_BANNED_H
#define SUL_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#pragma GCC poison sprintf vsprintf strcpy strcat strncpy strncat gets
#pragma GCC poison atoi atol atoll atof
#pragma GCC poison strtok gmtime localtime ctime asctime tmpnam mktemp

#endif
