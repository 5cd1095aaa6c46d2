/* dag.c - cycle detection, topological order, ancestors (see dag.h). */
#include "dag.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

enum { WHITE, GREY, BLACK };

/*
 * Iterative depth-first search (a 10,000-stage chain must not overflow the
 * stack).  On meeting a grey stage, the stack from it to the top is the cycle.
 */
int sul_dag_check_acyclic(const struct sul_dag_node *g, size_t n, struct sul_err *err)
{
	size_t root;
	unsigned char *color = sul_xcalloc(n, 1);
	size_t *stack = sul_xmalloc((n + 1) * sizeof(*stack));
	size_t *next = sul_xcalloc(n, sizeof(*next));  /* next input to visit */
	int ret = 0;

	for (root = 0; root < n && !ret; root++) {
		size_t top = 0;

		if (color[root] != WHITE)
			continue;
		stack[top++] = root;
		color[root] = GREY;
		while (top) {
			size_t v = stack[top - 1];
			const struct sul_dag_node *st = &g[v];

			if (next[v] == st->ninputs) {
				color[v] = BLACK;
				top--;
				continue;
			}
			{
				size_t w = st->inputs[next[v]++];
				if (color[w] == WHITE) {
					color[w] = GREY;
					stack[top++] = w;
				} else if (color[w] == GREY) {
					struct sul_buf b = SUL_BUF_INIT;
					size_t k = top;
					/* The stack holds users above their inputs: print in data-flow order. */
					while (k > 0 && stack[k - 1] != w)
						k--;
					sul_buf_addf(&b, "%s", g[w].id);
					for (size_t j = top; j-- > k;)
						sul_buf_addf(&b, " -> %s", g[stack[j]].id);
					sul_buf_addf(&b, " -> %s", g[w].id);
					sul_err_set(err, SUL_ERR_INPUT, "%s:%d: cycle in stage inputs: %s",
						    g[w].file, g[w].line, b.buf);
					sul_buf_release(&b);
					ret = -1;
					break;
				}
			}
		}
	}
	free(color);
	free(stack);
	free(next);
	return ret;
}

/* Kahn's algorithm with a FIFO seeded in file order. */
void sul_dag_topo_order(const struct sul_dag_node *g, size_t n, size_t *order)
{
	size_t i, j, head = 0, tail = 0;
	size_t *pending = sul_xcalloc(n, sizeof(*pending));
	size_t *nusers = sul_xcalloc(n + 1, sizeof(*nusers));
	size_t *users, *fill;

	for (i = 0; i < n; i++) {
		pending[i] = g[i].ninputs;
		for (j = 0; j < g[i].ninputs; j++)
			nusers[g[i].inputs[j] + 1]++;
	}
	for (i = 0; i < n; i++)
		nusers[i + 1] += nusers[i];
	users = sul_xmalloc((nusers[n] + 1) * sizeof(*users));
	fill = sul_xcalloc(n, sizeof(*fill));
	for (i = 0; i < n; i++)
		for (j = 0; j < g[i].ninputs; j++) {
			size_t in = g[i].inputs[j];
			users[nusers[in] + fill[in]++] = i;
		}
	for (i = 0; i < n; i++)
		if (!pending[i])
			order[tail++] = i;
	while (head < tail) {
		size_t v = order[head++];
		for (j = nusers[v]; j < nusers[v + 1]; j++)
			if (--pending[users[j]] == 0)
				order[tail++] = users[j];
	}
	free(pending);
	free(nusers);
	free(users);
	free(fill);
}

void sul_dag_mark_ancestors(const struct sul_dag_node *g, size_t n, unsigned char *mark)
{
	size_t i, j, top = 0;
	size_t *stack = sul_xmalloc((n + 1) * sizeof(*stack));

	for (i = 0; i < n; i++)
		if (mark[i])
			stack[top++] = i;
	while (top) {
		const struct sul_dag_node *st = &g[stack[--top]];
		for (j = 0; j < st->ninputs; j++)
			if (!mark[st->inputs[j]]) {
				mark[st->inputs[j]] = 1;
				stack[top++] = st->inputs[j];
			}
	}
	free(stack);
}
