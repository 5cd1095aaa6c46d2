/*
 * dag.h - graph algorithms over a workflow's stages: cycle detection with the
 * stages on the cycle named, topological order, and the set of stages a
 * selection needs.  They see a stage as a node (its id, where it was
 * written, its inputs' indexes), not the workflow: the workflow keeps its
 * stages' nodes (workflow.h), and this module knows nothing of it.
 */
#ifndef SUL_DAG_H
#define SUL_DAG_H

#include <stddef.h>

#include "err.h"

struct sul_dag_node {
	const char *id;
	const char *file;      /* where the stage was written */
	int line;
	const size_t *inputs;  /* indexes of its inputs among the n nodes */
	size_t ninputs;
};

/* Fails with "FILE:LINE: cycle: a -> b -> a" when the inputs form a cycle. */
int sul_dag_check_acyclic(const struct sul_dag_node *g, size_t n, struct sul_err *err);

/* Fills order[0..n) with node indexes, inputs before their users; ties keep
 * the nodes' order.  The graph must be acyclic. */
void sul_dag_topo_order(const struct sul_dag_node *g, size_t n, size_t *order);

/* Sets mark[i] = 1 for every node that a marked node needs (transitively). */
void sul_dag_mark_ancestors(const struct sul_dag_node *g, size_t n, unsigned char *mark);

#endif
