/*
 * dag.h - graph algorithms over a workflow's stages: cycle detection with the
 * stages on the cycle named, topological order, and the set of stages a
 * selection needs.
 */
#ifndef SUL_DAG_H
#define SUL_DAG_H

#include <stddef.h>

#include "err.h"

struct sul_workflow;

/* Fails with "FILE:LINE: cycle: a -> b -> a" when the inputs form a cycle. */
int sul_dag_check_acyclic(const struct sul_workflow *wf, struct sul_err *err);

/* Fills order[0..nstages) with stage indexes, inputs before their users;
 * ties keep file order.  The workflow must be acyclic. */
void sul_dag_topo_order(const struct sul_workflow *wf, size_t *order);

/* Sets mark[i] = 1 for every stage that a marked stage needs (transitively). */
void sul_dag_mark_ancestors(const struct sul_workflow *wf, unsigned char *mark);

#endif
