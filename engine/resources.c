/* resources.c - merging and rendering stage resources (see resources.h). */
#include "resources.h"

#include <stdlib.h>
#include <string.h>

static void set_str(char **dst, const char *src)
{
	if (!src)
		return;
	free(*dst);
	*dst = sul_xstrdup(src);
}

void sul_resources_merge(struct sul_resources *dst, const struct sul_resources *src)
{
	size_t i;

	if (src->cpus)
		dst->cpus = src->cpus;
	if (src->gpus)
		dst->gpus = src->gpus;
	set_str(&dst->mem, src->mem);
	set_str(&dst->time, src->time);
	set_str(&dst->partition, src->partition);
	set_str(&dst->account, src->account);
	if (src->nsbatch) {
		for (i = 0; i < dst->nsbatch; i++)
			free(dst->sbatch[i]);
		free(dst->sbatch);
		dst->sbatch = sul_xcalloc(src->nsbatch, sizeof(*dst->sbatch));
		for (i = 0; i < src->nsbatch; i++)
			dst->sbatch[i] = sul_xstrdup(src->sbatch[i]);
		dst->nsbatch = src->nsbatch;
	}
}

void sul_resources_apply_defaults(struct sul_resources *dst, const struct sul_resource_defaults *def)
{
	if (!def)
		return;
	if (!dst->cpus)
		dst->cpus = def->cpus;
	if (!dst->gpus)
		dst->gpus = def->gpus;
	if (!dst->mem && def->mem)
		dst->mem = sul_xstrdup(def->mem);
	if (!dst->time && def->time)
		dst->time = sul_xstrdup(def->time);
}

void sul_resources_copy(struct sul_resources *dst, const struct sul_resources *src)
{
	memset(dst, 0, sizeof(*dst));
	sul_resources_merge(dst, src);
}

void sul_resources_release(struct sul_resources *r)
{
	size_t i;

	free(r->mem);
	free(r->time);
	free(r->partition);
	free(r->account);
	for (i = 0; i < r->nsbatch; i++)
		free(r->sbatch[i]);
	free(r->sbatch);
	memset(r, 0, sizeof(*r));
}

static void add_str(struct sul_buf *b, int *first, const char *name, const char *v)
{
	if (!v)
		return;
	sul_buf_addf(b, "%s\"%s\": ", *first ? "" : ", ", name);
	sul_buf_add_json_str(b, v);
	*first = 0;
}

void sul_resources_json(const struct sul_resources *r, struct sul_buf *out)
{
	int first = 1;
	size_t i;

	sul_buf_addc(out, '{');
	if (r->cpus) {
		sul_buf_addf(out, "\"cpus\": %ld", r->cpus);
		first = 0;
	}
	add_str(out, &first, "mem", r->mem);
	add_str(out, &first, "time", r->time);
	if (r->gpus) {
		sul_buf_addf(out, "%s\"gpus\": %ld", first ? "" : ", ", r->gpus);
		first = 0;
	}
	add_str(out, &first, "partition", r->partition);
	add_str(out, &first, "account", r->account);
	if (r->nsbatch) {
		sul_buf_addf(out, "%s\"sbatch\": [", first ? "" : ", ");
		for (i = 0; i < r->nsbatch; i++) {
			if (i)
				sul_buf_adds(out, ", ");
			sul_buf_add_json_str(out, r->sbatch[i]);
		}
		sul_buf_addc(out, ']');
	}
	sul_buf_addc(out, '}');
}

const char *sul_resources_check_mem(const char *s)
{
	size_t digits = strspn(s, "0123456789");

	if (!digits || (s[digits] && (strchr("KMGTkmgt", s[digits]) == NULL || s[digits + 1])))
		return "a memory size such as 4G, 500M or 1024 (megabytes)";
	return NULL;
}

/* Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S. */
const char *sul_resources_check_time(const char *s)
{
	const char *p = s;
	int colons = 0, dash = 0;

	if (!*s)
		return "a time limit such as 90 (minutes), 01:30:00 or 1-00:00:00";
	for (; *p; p++) {
		if (*p == ':')
			colons++;
		else if (*p == '-' && p > s && !dash && !colons)
			dash = 1;
		else if (*p < '0' || *p > '9')
			return "a time limit such as 90 (minutes), 01:30:00 or 1-00:00:00";
		if ((*p == ':' || *p == '-') && (p[1] < '0' || p[1] > '9'))
			return "a time limit such as 90 (minutes), 01:30:00 or 1-00:00:00";
	}
	if (colons > 2)
		return "a time limit such as 90 (minutes), 01:30:00 or 1-00:00:00";
	return NULL;
}
