/*
 * resources.h - what a stage asks of the machine that runs it: CPUs, memory,
 * time, GPUs, and for a cluster its partition, account and extra sbatch
 * arguments.
 *
 * Resources never change a stage's output, so they are not part of its cache
 * key.  Each field comes from the most specific place that sets it: the
 * stage's `resources` group, then the workflow's top-level `resources`, then
 * the kind's defaults.  The local executor ignores them; the Slurm executor
 * turns them into sbatch options.
 */
#ifndef SUL_RESOURCES_H
#define SUL_RESOURCES_H

#include <stddef.h>

#include "strbuf.h"

struct sul_resources {
	long cpus;          /* CPUs per task; 0: unset */
	long gpus;          /* 0: none */
	char *mem;          /* "4G", "500M"; NULL: unset */
	char *time;         /* Slurm time limit ("90", "01:30:00", "1-00:00:00"); NULL: unset */
	char *partition;
	char *account;
	char **sbatch;      /* extra sbatch arguments, each starting with '-' */
	size_t nsbatch;
};

/* A kind's defaults (constant data in the kind's descriptor). */
struct sul_resource_defaults {
	long cpus;
	long gpus;
	const char *mem;
	const char *time;
};

/* Fields set in src replace those of dst (copied). */
void sul_resources_merge(struct sul_resources *dst, const struct sul_resources *src);
void sul_resources_apply_defaults(struct sul_resources *dst, const struct sul_resource_defaults *def);
void sul_resources_copy(struct sul_resources *dst, const struct sul_resources *src);
void sul_resources_release(struct sul_resources *r);
/* {"cpus": 2, "mem": "4G", ...}: only the fields that are set. */
void sul_resources_json(const struct sul_resources *r, struct sul_buf *out);

/* Validation of text fields: NULL when valid, else what was expected. */
const char *sul_resources_check_mem(const char *s);
const char *sul_resources_check_time(const char *s);

#endif
