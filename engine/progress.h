/*
 * progress.h - what `sulcus run` shows while stages run.
 *
 * A stage reports progress by writing lines "progress: TEXT" to its log
 * (kind.h).  This module follows the logs of the running stages: each poll
 * reads only the bytes appended since the last one and keeps the TEXT of
 * the latest complete such line.  It then shows them one of two ways:
 *
 *   live   (a terminal): one status line at the bottom, redrawn in place
 *          with "\r" and an erase-line escape, cut to the terminal's width,
 *          at most 5 times a second, once a stage has run for half a
 *          second, and only while the run is in the foreground.  The scheduler clears it before printing a normal
 *          line; the next update draws it again below that line.
 *   plain  (a log, a pipe, CI): no escape codes, ever; per running stage at
 *          most one line "progress STAGE  ELAPSED  TEXT" per interval
 *          (default 30 s), and only when TEXT changed, so that a CI log
 *          shows that a long stage is alive without filling up.
 *
 * It does not decide what runs, never parses TEXT (rate, step and ETA are
 * the stage's business), and knows nothing of executors: a stage's log is a
 * file wherever the stage runs, on this machine or on a cluster's shared
 * file system.  Time is passed in by the caller (`now`, monotonic seconds)
 * so that tests can drive it.
 */
#ifndef SUL_PROGRESS_H
#define SUL_PROGRESS_H

#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "strbuf.h"

enum sul_progress_mode {
	SUL_PROGRESS_OFF,    /* -q, or nowhere to print */
	SUL_PROGRESS_PLAIN,  /* occasional plain lines */
	SUL_PROGRESS_LIVE,   /* one status line redrawn in place */
};

/* The text of a progress line that is kept (longer text is cut). */
#define SUL_PROGRESS_TEXT_MAX 240
/* Plain mode: the default seconds between two lines of one stage. */
#define SUL_PROGRESS_INTERVAL_S 30.0

struct sul_progress_stage {
	size_t tag;                  /* the caller's handle */
	char *id, *log_path;
	double t0;                   /* when the stage started */
	off_t offset;                /* bytes of the log read so far */
	/* The line being read: its first bytes, kept across polls until its '\n'. */
	char line[SUL_PROGRESS_TEXT_MAX + 16];
	size_t line_len;
	int line_cut;                /* the line is longer than line[] */
	int discard;                 /* the line is not a progress line: skip to its end */
	char text[SUL_PROGRESS_TEXT_MAX + 1];     /* latest progress text; "" none yet */
	char printed[SUL_PROGRESS_TEXT_MAX + 1];  /* plain: the text last printed */
	double printed_at;
};

struct sul_progress {
	FILE *out;
	enum sul_progress_mode mode;
	int id_width;                /* column of stage ids, as in the scheduler's lines */
	double interval;             /* plain: seconds between two lines of one stage */
	int columns;                 /* live: width to cut to; 0: ask the terminal at each draw */
	struct sul_progress_stage *stages;  /* running, in the order they started */
	size_t n, alloc;
	int shown;                   /* live: the status line is on the terminal now */
	double drawn_at;
	struct sul_buf drawn;        /* live: what it shows */
};

/* OFF when quiet or out is NULL; LIVE when out is a terminal (not TERM=dumb); else PLAIN. */
enum sul_progress_mode sul_progress_mode_for(FILE *out, int quiet);

/*
 * The plain-mode interval from the value of SULCUS_PROGRESS_INTERVAL
 * (seconds, > 0; tests shorten it); value NULL or "": the default.  Bad
 * input: -1 with the message in err.
 */
int sul_progress_interval(const char *value, double *interval, struct sul_err *err);

/* No allocation.  out is borrowed and must outlive p. */
void sul_progress_init(struct sul_progress *p, FILE *out, enum sul_progress_mode mode, int id_width,
		       double interval);
/* Clears the live line and frees everything. */
void sul_progress_release(struct sul_progress *p);

/* Starts following a stage's log from its first byte (the file need not
 * exist yet: a cluster job's log appears when the job starts).  id and
 * log_path are copied. */
void sul_progress_add(struct sul_progress *p, size_t tag, const char *id, const char *log_path, double now);
/* Stops following the stage with this tag (no-op when unknown). */
void sul_progress_remove(struct sul_progress *p, size_t tag);

/*
 * How long the caller may block between two updates: 0.25 s live, at most
 * 1 s plain, -1 (as long as it likes) when off.
 */
double sul_progress_tick_s(const struct sul_progress *p);

/* Reads what the running stages' logs gained since the last poll.  Returns
 * how many stages have a new progress text.  A log that cannot be read is
 * tried again next time. */
size_t sul_progress_poll(struct sul_progress *p);

/* The live line (no escapes): "[N running] " when N > 1, then each running
 * stage as "ID (ELAPSED) TEXT", separated by " | ", cut to columns - 1
 * characters (a line that fills the last column makes some terminals wrap). */
void sul_progress_line(const struct sul_progress *p, double now, int columns, struct sul_buf *out);

/* Polls, then draws the live line or prints the plain lines that are due. */
void sul_progress_update(struct sul_progress *p, double now);

/* Live: erases the status line, so that a normal line can be printed. */
void sul_progress_clear(struct sul_progress *p);

#endif
