/*
 * template.h - `{name}` placeholders in workflow strings.
 *
 * A placeholder is `{` NAME `}` with NAME made of letters, digits and
 * `_ . - *`.  `{{` stands for a literal `{`.  A `{` right after `$` is never
 * a placeholder, so shell `${VAR}` passes through.  Anything else in braces
 * (awk's `{print $1}`) is plain text.
 */
#ifndef SUL_TEMPLATE_H
#define SUL_TEMPLATE_H

#include "err.h"
#include "strbuf.h"

/*
 * Called for each placeholder NAME.  Returns 0 after appending the
 * replacement to out, 1 to keep the placeholder as written, -1 on error
 * (with err set).
 */
typedef int (*sul_template_fn)(void *ctx, const char *name, struct sul_buf *out,
			       struct sul_err *err);

/*
 * Expands tmpl into out.  With final = 0, kept placeholders and `{{` are
 * written back unchanged so that a later pass can expand them; with
 * final = 1, `{{` becomes `{`.
 */
int sul_template_expand(const char *tmpl, int final, sul_template_fn fn, void *ctx,
			struct sul_buf *out, struct sul_err *err);

/* If s is exactly one placeholder, returns its name (caller frees); else NULL. */
char *sul_template_whole(const char *s);

#endif
