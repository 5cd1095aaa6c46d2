/* template.c - placeholder scanning and expansion (see template.h). */
#include "template.h"

#include <stdlib.h>
#include <string.h>

static int name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.'
	       || c == '-' || c == '*';
}

static size_t name_len(const char *s)
{
	size_t n = 0;

	while (name_char(s[n]))
		n++;
	return n;
}

int sul_template_expand(const char *tmpl, int final, sul_template_fn fn, void *ctx,
			struct sul_buf *out, struct sul_err *err)
{
	const char *p = tmpl;

	while (*p) {
		size_t n;

		if (p[0] != '{') {
			/* Text up to the next brace, in one piece. */
			const char *brace = strchrnul(p, '{');
			sul_buf_add(out, p, (size_t)(brace - p));
			p = brace;
			continue;
		}
		if (p[1] == '{') {
			sul_buf_adds(out, final ? "{" : "{{");
			p += 2;
			continue;
		}
		if (p > tmpl && p[-1] == '$') {
			sul_buf_addc(out, *p++);
			continue;
		}
		n = name_len(p + 1);
		if (!n || p[1 + n] != '}') {
			sul_buf_addc(out, *p++);
			continue;
		}
		{
			char *name = sul_xstrndup(p + 1, n);
			int r = fn(ctx, name, out, err);
			free(name);
			if (r < 0)
				return -1;
			if (r > 0)
				sul_buf_add(out, p, n + 2);
		}
		p += n + 2;
	}
	return 0;
}

char *sul_template_whole(const char *s)
{
	size_t n;

	if (s[0] != '{')
		return NULL;
	n = name_len(s + 1);
	if (!n || s[1 + n] != '}' || s[2 + n])
		return NULL;
	return sul_xstrndup(s + 1, n);
}
