/* progress.c - following stage logs for progress lines, and showing them (see progress.h). */
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "progress: "
#define PREFIX_LEN (sizeof(PREFIX) - 1)
/* Live: the status line is redrawn at most this often. */
#define REDRAW_S 0.2
/* Live: and first drawn once a stage has run this long, so that a run of
 * quick stages looks as it did without it, with no line flashing by. */
#define SHOW_AFTER_S 0.5
/* A poll reads at most this much of one log: a stage that writes faster
 * costs us only the end of what it wrote (its latest progress line). */
#define READ_MAX ((off_t)1 << 20)

enum sul_progress_mode sul_progress_mode_for(FILE *out, int quiet)
{
	const char *term = getenv("TERM");
	int fd;

	if (!out || quiet)
		return SUL_PROGRESS_OFF;
	fd = fileno(out);
	if (fd < 0 || !isatty(fd))
		return SUL_PROGRESS_PLAIN;
	/* A dumb terminal (Emacs' shell buffer) has no erase-line. */
	if (term && !strcmp(term, "dumb"))
		return SUL_PROGRESS_PLAIN;
	return SUL_PROGRESS_LIVE;
}

int sul_progress_interval(const char *value, double *interval, struct sul_err *err)
{
	char *end;
	double v;

	*interval = SUL_PROGRESS_INTERVAL_S;
	if (!value || !*value)
		return 0;
	errno = 0;
	v = strtod(value, &end);
	if (errno || *end || !(v > 0) || !isfinite(v))
		return sul_err_set(err, SUL_ERR_INPUT,
				   "SULCUS_PROGRESS_INTERVAL: expected a number of seconds above 0, got '%s'", value);
	*interval = v;
	return 0;
}

void sul_progress_init(struct sul_progress *p, FILE *out, enum sul_progress_mode mode, int id_width,
		       double interval)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->mode = out ? mode : SUL_PROGRESS_OFF;
	p->id_width = id_width;
	p->interval = interval;
	sul_buf_init(&p->drawn);
}

static void stage_free(struct sul_progress_stage *st)
{
	free(st->id);
	free(st->log_path);
}

void sul_progress_release(struct sul_progress *p)
{
	size_t i;

	sul_progress_clear(p);
	for (i = 0; i < p->n; i++)
		stage_free(&p->stages[i]);
	free(p->stages);
	p->stages = NULL;
	p->n = p->alloc = 0;
	sul_buf_release(&p->drawn);
}

void sul_progress_add(struct sul_progress *p, size_t tag, const char *id, const char *log_path, double now)
{
	struct sul_progress_stage *st;

	if (p->mode == SUL_PROGRESS_OFF)
		return;
	SUL_ALLOC_GROW(p->stages, p->n + 1, p->alloc);
	st = &p->stages[p->n++];
	memset(st, 0, sizeof(*st));
	st->tag = tag;
	st->id = sul_xstrdup(id);
	st->log_path = sul_xstrdup(log_path);
	st->t0 = now;
	/* Plain: a stage's first line comes one interval after it started, so
	 * that short stages print nothing but their usual lines. */
	st->printed_at = now;
}

void sul_progress_remove(struct sul_progress *p, size_t tag)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->stages[i].tag == tag) {
			stage_free(&p->stages[i]);
			/* Keep the others in the order they started: the live line lists them so. */
			memmove(p->stages + i, p->stages + i + 1, (p->n - i - 1) * sizeof(*p->stages));
			p->n--;
			return;
		}
}

double sul_progress_tick_s(const struct sul_progress *p)
{
	switch (p->mode) {
	case SUL_PROGRESS_LIVE: return 0.25;
	case SUL_PROGRESS_PLAIN: return p->interval / 2 < 1 ? p->interval / 2 : 1;
	default: return -1;
	}
}

/* Drops the bytes of an incomplete UTF-8 sequence at the end of s[0..*len). */
static void utf8_trim(const char *s, size_t *len)
{
	size_t i = *len, need;
	unsigned char c;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80 && *len - i < 3)
		i--;
	if (i == 0)
		return;
	c = (unsigned char)s[i - 1];
	if (c < 0xC0)
		return;  /* ASCII, or a stray continuation byte: nothing to complete */
	need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
	if (*len - (i - 1) < need)
		*len = i - 1;
}

/* A complete line: when it is a progress line, its text becomes the stage's. */
static int take_line(struct sul_progress_stage *st)
{
	char text[sizeof(st->text)];
	size_t len, i;

	if (st->line_len < PREFIX_LEN || memcmp(st->line, PREFIX, PREFIX_LEN))
		return 0;
	len = st->line_len - PREFIX_LEN;
	if (len > SUL_PROGRESS_TEXT_MAX) {
		len = SUL_PROGRESS_TEXT_MAX;
		st->line_cut = 1;
	}
	memcpy(text, st->line + PREFIX_LEN, len);
	if (st->line_cut)
		utf8_trim(text, &len);
	while (len && (text[len - 1] == '\r' || text[len - 1] == ' ' || text[len - 1] == '\t'))
		len--;
	text[len] = '\0';
	/* Control characters (a stage's own escape codes, tabs) must not reach the terminal. */
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7F)
			text[i] = ' ';
	if (!strcmp(text, st->text))
		return 0;
	memcpy(st->text, text, len + 1);
	return 1;
}

/* Feeds bytes of the log to the line reader; returns 1 when the text changed. */
static int feed(struct sul_progress_stage *st, const char *buf, size_t n)
{
	int changed = 0;

	while (n) {
		const char *nl = memchr(buf, '\n', n);
		size_t seg = nl ? (size_t)(nl - buf) : n;

		if (!st->discard) {
			size_t room = sizeof(st->line) - st->line_len, k = seg < room ? seg : room;
			memcpy(st->line + st->line_len, buf, k);
			st->line_len += k;
			if (k < seg)
				st->line_cut = 1;
			/* Most lines are not progress lines: stop copying as soon as that is clear. */
			if (st->line_len >= PREFIX_LEN && memcmp(st->line, PREFIX, PREFIX_LEN))
				st->discard = 1;
		}
		if (!nl)
			break;
		if (!st->discard && take_line(st))
			changed = 1;
		st->line_len = 0;
		st->line_cut = 0;
		st->discard = 0;
		buf += seg + 1;
		n -= seg + 1;
	}
	return changed;
}

/* Reads what one log gained; 1 when its progress text changed. */
static int poll_one(struct sul_progress_stage *st)
{
	char buf[65536];
	struct stat sb;
	int fd, changed = 0;

	/* Opened anew each time: on a network file system (a cluster's shared
	 * workspace) opening is what makes the client see the file's new size. */
	fd = open(st->log_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (fstat(fd, &sb))
		goto out;
	if (sb.st_size < st->offset) {
		/* Rewritten from the start (a requeued cluster job): read it again. */
		st->offset = 0;
		st->line_len = 0;
		st->line_cut = st->discard = 0;
	}
	if (sb.st_size - st->offset > READ_MAX) {
		/* Skip ahead; the line we land in is a tail, not a line. */
		st->offset = sb.st_size - READ_MAX;
		st->line_len = 0;
		st->line_cut = 0;
		st->discard = 1;
	}
	while (st->offset < sb.st_size) {
		size_t want = (size_t)(sb.st_size - st->offset) < sizeof(buf) ? (size_t)(sb.st_size - st->offset)
									     : sizeof(buf);
		ssize_t got = pread(fd, buf, want, st->offset);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		changed |= feed(st, buf, (size_t)got);
		st->offset += got;
	}
out:
	close(fd);
	return changed;
}

size_t sul_progress_poll(struct sul_progress *p)
{
	size_t i, changed = 0;

	for (i = 0; i < p->n; i++)
		changed += (size_t)poll_one(&p->stages[i]);
	return changed;
}

/* "12s", "3m05s", "2h07m". */
static void fmt_elapsed(double s, char *buf, size_t n)
{
	long t = s > 0 ? (long)s : 0;

	if (t < 60)
		snprintf(buf, n, "%lds", t);
	else if (t < 3600)
		snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
	else
		snprintf(buf, n, "%ldh%02ldm", t / 3600, t / 60 % 60);
}

/* Cuts b to at most max characters (UTF-8 code points; wide characters count one). */
static void cut(struct sul_buf *b, int max)
{
	size_t i;
	int chars = 0;

	for (i = 0; i < b->len; i++) {
		if (((unsigned char)b->buf[i] & 0xC0) == 0x80)
			continue;
		if (chars++ == max)
			break;
	}
	if (i < b->len) {
		b->len = i;
		b->buf[i] = '\0';
	}
}

void sul_progress_line(const struct sul_progress *p, double now, int columns, struct sul_buf *out)
{
	size_t i;

	sul_buf_reset(out);
	/* The count first: when the line is cut, it tells that more stages run. */
	if (p->n > 1)
		sul_buf_addf(out, "[%zu running] ", p->n);
	for (i = 0; i < p->n; i++) {
		const struct sul_progress_stage *st = &p->stages[i];
		char el[32];

		fmt_elapsed(now - st->t0, el, sizeof(el));
		sul_buf_addf(out, "%s%s (%s)%s%s", i ? " | " : "", st->id, el, *st->text ? " " : "", st->text);
	}
	cut(out, columns > 1 ? columns - 1 : 0);
}

/* The terminal's width, 80 when it cannot be asked. */
static int term_columns(FILE *out)
{
	struct winsize ws;
	int fd = fileno(out);

	if (fd >= 0 && !ioctl(fd, TIOCGWINSZ, &ws) && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/* Not when the run was put in the background (`bg`): its line would land in
 * the middle of whatever the shell's user is typing (git's progress.c does
 * the same). */
static int foreground(FILE *out)
{
	int fd = fileno(out);
	pid_t t = fd >= 0 ? tcgetpgrp(fd) : -1;

	return t < 0 || t == getpgrp();
}

static void draw(struct sul_progress *p, double now)
{
	struct sul_buf line = SUL_BUF_INIT;

	if (!p->n) {
		sul_progress_clear(p);
		return;
	}
	if (p->shown && now - p->drawn_at < REDRAW_S)
		return;
	if (!p->shown && now - p->stages[0].t0 < SHOW_AFTER_S)
		return;  /* stages[0] started first */
	if (!foreground(p->out))
		return;
	sul_progress_line(p, now, p->columns ? p->columns : term_columns(p->out), &line);
	if (!p->shown || strcmp(line.buf, p->drawn.buf)) {
		/* One write: the line never shows half drawn. */
		sul_buf_reset(&p->drawn);
		sul_buf_adds(&p->drawn, line.buf);
		sul_buf_reset(&line);
		sul_buf_addf(&line, "\r%s\033[K", p->drawn.buf);
		fwrite(line.buf, 1, line.len, p->out);
		fflush(p->out);
		p->shown = 1;
		p->drawn_at = now;
	}
	sul_buf_release(&line);
}

static void plain(struct sul_progress *p, double now)
{
	size_t i;
	int any = 0;

	for (i = 0; i < p->n; i++) {
		struct sul_progress_stage *st = &p->stages[i];
		char el[32];

		if (!*st->text || !strcmp(st->text, st->printed) || now - st->printed_at < p->interval)
			continue;
		fmt_elapsed(now - st->t0, el, sizeof(el));
		fprintf(p->out, "%-8s %-*s  %s  %s\n", "progress", p->id_width, st->id, el, st->text);
		memcpy(st->printed, st->text, sizeof(st->printed));
		st->printed_at = now;
		any = 1;
	}
	if (any)
		fflush(p->out);
}

void sul_progress_update(struct sul_progress *p, double now)
{
	if (p->mode == SUL_PROGRESS_OFF)
		return;
	sul_progress_poll(p);
	if (p->mode == SUL_PROGRESS_LIVE)
		draw(p, now);
	else
		plain(p, now);
}

void sul_progress_clear(struct sul_progress *p)
{
	if (p->mode != SUL_PROGRESS_LIVE || !p->shown)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->shown = 0;
}
