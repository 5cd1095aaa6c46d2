/* cmd_kinds.c - `sulcus kinds [NAME]`: the stage kinds, their parameters
 * and their tables (with their columns when one kind is named). */
#include "cmd.h"
#include "kind.h"
#include "strbuf.h"
#include "tables.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void print_tables(const struct sul_kind *k, int columns)
{
	const struct sul_table_spec *t;

	if (!k->tables || !k->tables->name)
		return;
	printf("  tables (rows in the results database, keyed by cache_key):\n");
	for (t = k->tables; t->name; t++) {
		printf("    %-40s %s\n", t->name, t->doc);
		if (columns) {
			char *sql = sul_table_sql(t), *line, *next;
			for (line = sql; *line; line = next) {
				next = strchr(line, '\n');
				next = next ? next + 1 : line + strlen(line);
				printf("      %.*s", (int)(next - line), line);
			}
			free(sql);
		}
	}
}

static void print_spec(const struct sul_param_spec *p)
{
	struct sul_buf b = SUL_BUF_INIT;

	sul_buf_addf(&b, "%s (%s", p->name, sul_type_name(p->type));
	if (p->def)
		sul_buf_addf(&b, ", default %s", *p->def ? p->def : "\"\"");
	else
		sul_buf_adds(&b, ", required");
	if (p->min < p->max && p->type == SUL_T_INT) {
		sul_buf_addf(&b, ", %lld to %lld", (long long)p->min, (long long)p->max);
	} else if (p->min < p->max) {
		sul_buf_adds(&b, ", ");
		sul_format_double(p->min, &b);
		sul_buf_adds(&b, " to ");
		sul_format_double(p->max, &b);
	}
	if (p->choices)
		sul_buf_addf(&b, ", one of %s", p->choices);
	sul_buf_addc(&b, ')');
	printf("    %-40s %s\n", b.buf, p->doc);
	sul_buf_release(&b);
}

int cmd_kinds(int argc, char **argv, struct sul_err *err)
{
	size_t n, i, shown = 0;
	const struct sul_kind *const *all = sul_kinds(&n);

	if (argc > 2) {
		sul_err_set(err, SUL_ERR_INPUT, "kinds: expected at most one kind name");
		return 2;
	}
	for (i = 0; i < n; i++) {
		const struct sul_kind *k = all[i];
		const struct sul_param_spec *p;

		if (argc == 2 && strcmp(argv[1], k->name))
			continue;
		printf("%s%s (version %d): %s\n", shown++ ? "\n" : "", k->name, k->version, k->doc);
		if (k->keys && k->keys->name) {
			printf("  keys:\n");
			for (p = k->keys; p->name; p++)
				print_spec(p);
		}
		if (k->inputs.what)
			printf("  inputs: %s\n", k->inputs.what);
		printf("  params:%s\n", k->flags & SUL_KIND_FREE_PARAMS ? " any names (substituted as {params.NAME})"
			 : k->params && k->params->name ? "" : " none");
		for (p = k->params; p && p->name; p++)
			print_spec(p);
		print_tables(k, argc == 2);
	}
	if (!shown) {
		sul_err_set(err, SUL_ERR_INPUT, "kinds: no kind '%s'", argv[1]);
		return 2;
	}
	return 0;
}
