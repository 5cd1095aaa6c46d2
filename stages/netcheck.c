/*
 * netcheck.c - what a Darknet network file means, checked before Darknet
 * builds it (sul_netcfg_check, netcfg.h).
 *
 * Darknet's parser (parser.c, git 61c9d02e) takes numbers with atoi() and
 * builds whatever they say: filters=-3 or a [route] to a layer that does not
 * exist segfaults, a zero pool stride or softmax group count divides by
 * zero, an unknown activation silently becomes ReLU, dropout probability=2
 * trains.  Every value is held here to the range where Darknet computes
 * what it says, every layer reference to an earlier layer, and the sizes
 * are walked layer by layer as Darknet computes them (convolutional:
 * (w + 2 pad - size) / stride + 1; maxpool: (w + padding - size) / stride
 * + 1) so that an input that shrinks to nothing is refused at the layer
 * where it does, with its line.
 */
#include "netcfg.h"

#include "../engine/strbuf.h"
#include "../engine/suggest.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Darknet's get_activation() names; anything else becomes ReLU, silently. */
static const char *const activations[] = { "logistic", "loggy", "relu",   "elu",  "selu",  "relie", "plse",
					   "hardtan",  "lhtan", "linear", "ramp", "leaky", "tanh",  "stair" };
#define NACTIVATIONS (sizeof(activations) / sizeof(activations[0]))

/* Allowed values.  Integers come from check_value() already well formed. */
struct range {
	const char *section;  /* "*": every layer */
	const char *key;
	double min, max;
	int open_max;         /* max itself excluded */
};

static const struct range ranges[] = {
	{ "net", "batch", 1, 65536, 0 },
	{ "net", "subdivisions", 1, 65536, 0 },
	{ "net", "width", 1, 16384, 0 },
	{ "net", "height", 1, 16384, 0 },
	{ "net", "channels", 1, 4096, 0 },
	{ "net", "learning_rate", 0, 1e6, 0 },
	{ "net", "momentum", 0, 1, 0 },
	{ "net", "decay", 0, 1e6, 0 },
	{ "net", "max_batches", 0, 2e9, 0 },
	{ "convolutional", "filters", 1, 1 << 20, 0 },
	{ "convolutional", "size", 1, 1024, 0 },
	{ "convolutional", "stride", 1, 1024, 0 },
	{ "convolutional", "pad", 0, 1, 0 },
	{ "convolutional", "padding", 0, 1024, 0 },
	{ "convolutional", "groups", 1, 1 << 20, 0 },
	{ "*", "batch_normalize", 0, 1, 0 },
	{ "connected", "output", 1, 1 << 24, 0 },
	{ "maxpool", "size", 1, 1024, 0 },
	{ "maxpool", "stride", 1, 1024, 0 },
	{ "maxpool", "padding", 0, 1024, 0 },
	{ "dropout", "probability", 0, 1, 1 },
	{ "softmax", "groups", 1, 1 << 24, 0 },
	{ "softmax", "temperature", 1e-6, 1e6, 0 },
};

/* One layer's output as Darknet sizes it (a connected layer's is 1 x 1 x
 * outputs, as in Darknet). */
struct shape {
	long w, h, c;
};

struct walk {
	const struct sul_netcfg *cfg;
	struct shape *out;   /* per layer (section i is layer i - 1) */
	struct sul_err *err;
};

__attribute__((format(printf, 4, 5)))
static int refuse(const struct walk *k, size_t i, const char *key, const char *fmt, ...)
{
	const struct sul_netcfg_section *s = &k->cfg->sec[i];
	char msg[512];
	int line = s->line;
	va_list ap;
	size_t j;

	for (j = 0; key && j < s->nopts; j++)
		if (!strcmp(s->opts[j].key, key))
			line = s->opts[j].line;  /* the last: the one Darknet reads */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		return sul_err_set(k->err, SUL_ERR_INPUT, "%s:%d: [%s]: %s", k->cfg->path, line, s->type, msg);
	return sul_err_set(k->err, SUL_ERR_INPUT, "%s: [%s] (layer %zu): %s", k->cfg->path, s->type, i - 1, msg);
}

static long get_long(const struct sul_netcfg *cfg, size_t i, const char *key, long def)
{
	const char *v = sul_netcfg_get(cfg, i, key);
	return v ? strtol(v, NULL, 10) : def;
}

static int check_ranges(const struct walk *k, size_t i)
{
	const struct sul_netcfg_section *s = &k->cfg->sec[i];
	size_t r;

	for (r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++) {
		const struct range *g = &ranges[r];
		const char *v;
		double x;

		if (strcmp(g->section, s->type) && (strcmp(g->section, "*") || i == 0))
			continue;
		v = sul_netcfg_get(k->cfg, i, g->key);
		if (!v)
			continue;
		x = strtod(v, NULL);
		if (!(x >= g->min && (g->open_max ? x < g->max : x <= g->max)))
			return refuse(k, i, g->key, "%s=%s: expected a value from %.10g to %.10g%s", g->key, v, g->min,
				      g->max, g->open_max ? " (excluded)" : "");
	}
	return 0;
}

static int check_activation(const struct walk *k, size_t i)
{
	const char *v = sul_netcfg_get(k->cfg, i, "activation");
	struct sul_buf all = SUL_BUF_INIT;
	const char *best;
	size_t a;

	if (!v)
		return 0;
	for (a = 0; a < NACTIVATIONS; a++)
		if (!strcmp(v, activations[a]))
			return 0;
	for (a = 0; a < NACTIVATIONS; a++)
		sul_buf_addf(&all, "%s%s", a ? ", " : "", activations[a]);
	best = sul_suggest(v, activations, NACTIVATIONS);
	refuse(k, i, "activation", "activation=%s: expected one of %s%s%s%s (Darknet would use relu)", v, all.buf,
	       best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
	sul_buf_release(&all);
	return -1;
}

/* A reference to an earlier layer: negative relative to this one (Darknet's
 * rule), else an absolute layer index.  Returns the index, or -1 refused. */
static long layer_ref(const struct walk *k, size_t i, const char *key, const char *text)
{
	long self = (long)i - 1, v;
	char *end;

	v = strtol(text, &end, 10);
	if (end == text || (*end && *end != ',')) {
		refuse(k, i, key, "%s=%s: expected layer numbers (negative: counted back from this layer)", key,
		       sul_netcfg_get(k->cfg, i, key));
		return -1;
	}
	if (v < 0)
		v += self;
	if (v >= 0 && v < self)
		return v;
	if (self == 0)
		refuse(k, i, key, "%s=%s: the first layer has no earlier layer to refer to", key,
		       sul_netcfg_get(k->cfg, i, key));
	else
		refuse(k, i, key, "%s=%s: layer %ld is not an earlier layer (this is layer %ld: expected -%ld to -1, "
		       "or 0 to %ld)",
		       key, sul_netcfg_get(k->cfg, i, key), v, self, self, self - 1);
	return -1;
}

/* A kernel or pool window that left no output: too small an input. */
static int fits(const struct walk *k, size_t i, long size, long pad, const struct shape *in, const struct shape *out)
{
	if (out->w >= 1 && out->h >= 1)
		return 0;
	return refuse(k, i, "size", "size=%ld with padding %ld does not fit its %ldx%ld input: the network's input "
		      "is too small for it",
		      size, pad, in->w, in->h);
}

static int walk_layer(const struct walk *k, size_t i, const struct shape *in, struct shape *out)
{
	const struct sul_netcfg *cfg = k->cfg;
	const char *t = cfg->sec[i].type;

	*out = *in;
	if (!strcmp(t, "convolutional")) {
		long n = get_long(cfg, i, "filters", 1), size = get_long(cfg, i, "size", 1);
		long stride = get_long(cfg, i, "stride", 1), groups = get_long(cfg, i, "groups", 1);
		long pad = get_long(cfg, i, "pad", 0) ? size / 2 : get_long(cfg, i, "padding", 0);
		if (in->c % groups || n % groups)
			return refuse(k, i, "groups", "groups=%ld: expected a divisor of both the input's %ld channels "
				      "and filters=%ld",
				      groups, in->c, n);
		out->w = in->w + 2 * pad < size ? 0 : (in->w + 2 * pad - size) / stride + 1;
		out->h = in->h + 2 * pad < size ? 0 : (in->h + 2 * pad - size) / stride + 1;
		out->c = n;
		return fits(k, i, size, pad, in, out);
	} else if (!strcmp(t, "maxpool")) {
		long stride = get_long(cfg, i, "stride", 1), size = get_long(cfg, i, "size", stride);
		long pad = get_long(cfg, i, "padding", size - 1);
		out->w = in->w + pad < size ? 0 : (in->w + pad - size) / stride + 1;
		out->h = in->h + pad < size ? 0 : (in->h + pad - size) / stride + 1;
		return fits(k, i, size, pad, in, out);
	} else if (!strcmp(t, "avgpool")) {
		out->w = out->h = 1;
	} else if (!strcmp(t, "connected")) {
		out->w = out->h = 1;
		out->c = get_long(cfg, i, "output", 1);
	} else if (!strcmp(t, "softmax")) {
		long groups = get_long(cfg, i, "groups", 1), inputs = in->w * in->h * in->c;
		/* (That it is the last layer is checked with or without sizes.) */
		if (inputs % groups)
			return refuse(k, i, "groups", "groups=%ld: expected a divisor of its %ld inputs", groups, inputs);
	} else if (!strcmp(t, "shortcut")) {
		const char *from = sul_netcfg_get(cfg, i, "from");
		const struct shape *f;
		long j;
		if (!from)
			return refuse(k, i, NULL, "expected from=LAYER (the layer whose output it adds)");
		if ((j = layer_ref(k, i, "from", from)) < 0)
			return -1;
		f = &k->out[j];
		/* Darknet's shortcut_cpu asserts these, and divides by both widths. */
		if (f->w < 1 || f->h < 1 || f->w / in->w != f->h / in->h || in->w / f->w != in->h / f->h)
			return refuse(k, i, "from", "from=%s: layer %ld's %ldx%ldx%ld output cannot be added to this "
				      "%ldx%ldx%ld one (sizes must be equal or a whole multiple in both directions)",
				      from, j, f->w, f->h, f->c, in->w, in->h, in->c);
	} else if (!strcmp(t, "route")) {
		const char *layers = sul_netcfg_get(cfg, i, "layers"), *p;
		long j;
		if (!layers)
			return refuse(k, i, NULL, "expected layers=LAYER[,LAYER...]");
		out->c = 0;
		for (p = layers; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL) {
			const struct shape *f;
			if ((j = layer_ref(k, i, "layers", p)) < 0)
				return -1;
			f = &k->out[j];
			if (p == layers) {
				out->w = f->w;
				out->h = f->h;
			} else if (f->w != out->w || f->h != out->h) {
				return refuse(k, i, "layers", "layers=%s: layer %ld is %ldx%ld, the first %ldx%ld: routed "
					      "layers must have the same size",
					      layers, j, f->w, f->h, out->w, out->h);
			}
			out->c += f->c;
		}
	}
	/* dropout, batchnorm, activation: the input's shape. */
	return 0;
}

int sul_netcfg_check(const struct sul_netcfg *cfg, struct sul_err *err)
{
	struct walk k = { cfg, NULL, err };
	struct shape in;
	size_t i;
	int ret = -1;

	for (i = 0; i < cfg->nsec; i++) {
		if (check_ranges(&k, i) || check_activation(&k, i))
			return -1;
		/* Darknet reads the tree file with its fopen-or-exit(0). */
		if (!strcmp(cfg->sec[i].type, "softmax") && sul_netcfg_get(cfg, i, "tree"))
			return refuse(&k, i, "tree", "tree=%s: hierarchical softmax is not supported (sulcus trains "
				      "flat classifiers)", sul_netcfg_get(cfg, i, "tree"));
	}
	/* Sizes only when the [net] section gives them (the stages set them). */
	in.w = get_long(cfg, 0, "width", 0);
	in.h = get_long(cfg, 0, "height", 0);
	in.c = get_long(cfg, 0, "channels", 0);
	k.out = sul_xcalloc(cfg->nsec, sizeof(*k.out));
	for (i = 1; i < cfg->nsec; i++) {
		if (!strcmp(cfg->sec[i].type, "softmax") && i != cfg->nsec - 1) {
			refuse(&k, i, NULL, "[softmax] must be the last layer (the class probabilities)");
			goto out;
		}
		if (in.w > 0 && in.h > 0 && in.c > 0) {
			if (walk_layer(&k, i, i == 1 ? &in : &k.out[i - 2], &k.out[i - 1]))
				goto out;
		} else if (!strcmp(cfg->sec[i].type, "shortcut") || !strcmp(cfg->sec[i].type, "route")) {
			/* References checked even without sizes. */
			const char *key = cfg->sec[i].type[0] == 's' ? "from" : "layers";
			const char *v = sul_netcfg_get(cfg, i, key), *p;
			if (!v) {
				refuse(&k, i, NULL, "expected %s=LAYER", key);
				goto out;
			}
			for (p = v; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
				if (layer_ref(&k, i, key, p) < 0)
					goto out;
		}
	}
	ret = 0;
out:
	free(k.out);
	return ret;
}
