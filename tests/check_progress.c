/* check_progress.c - following stage logs for progress lines; the live line and the plain lines. */
#include "check_util.h"
#include "../engine/progress.h"
#include "../engine/strbuf.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Appends text to the file at path (created when missing). */
static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static off_t size_of(const char *path)
{
	FILE *f = fopen(path, "r");
	long n;

	ck_assert_ptr_nonnull(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fclose(f);
	return (off_t)n;
}

START_TEST(tail_reads_only_new_bytes)
{
	struct sul_progress p;
	char *dir = tu_tmpdir();
	char *log = sul_xasprintf("%s/train.log", dir);
	int fd;

	sul_progress_init(&p, stderr, SUL_PROGRESS_PLAIN, 8, 30);
	sul_progress_add(&p, 7, "train", log, 0);
	/* No log yet (a cluster job still pending): nothing, and no error. */
	ck_assert_uint_eq(sul_progress_poll(&p), 0);
	ck_assert_str_eq(p.stages[0].text, "");

	append(log, "xxxxxxxxxxxxxxxxxxxxxxxxxx\nprogress: step 1\n");
	ck_assert_uint_eq(sul_progress_poll(&p), 1);
	ck_assert_str_eq(p.stages[0].text, "step 1");
	ck_assert_int_eq(p.stages[0].offset, size_of(log));

	/* Rewrite bytes already read: a poll that read them again would take this line. */
	fd = open(log, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, "progress: BAD\n", 14, 0), 14);
	close(fd);
	ck_assert_uint_eq(sul_progress_poll(&p), 0);
	ck_assert_str_eq(p.stages[0].text, "step 1");

	/* The last complete progress line wins; "progress:" inside a line does not count. */
	append(log, "progress: step 2\nprogress: step 3\nlog says progress: no\nnoise\n");
	ck_assert_uint_eq(sul_progress_poll(&p), 1);
	ck_assert_str_eq(p.stages[0].text, "step 3");

	/* A line still being written is not taken, not even its first bytes... */
	append(log, "progress: step 4 of ");
	ck_assert_uint_eq(sul_progress_poll(&p), 0);
	ck_assert_str_eq(p.stages[0].text, "step 3");
	ck_assert_int_eq(p.stages[0].offset, size_of(log));
	/* ...and is whole once its end arrives. */
	append(log, "9 ETA 1m20s\r\nprogress: half a li");
	ck_assert_uint_eq(sul_progress_poll(&p), 1);
	ck_assert_str_eq(p.stages[0].text, "step 4 of 9 ETA 1m20s");

	/* A log rewritten from the start (a requeued cluster job) is read again. */
	fd = open(log, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	append(log, "progress: again\n");
	ck_assert_uint_eq(sul_progress_poll(&p), 1);
	ck_assert_str_eq(p.stages[0].text, "again");

	sul_progress_remove(&p, 7);
	ck_assert_uint_eq(p.n, 0);
	sul_progress_release(&p);
	free(log);
}
END_TEST

START_TEST(tail_cleans_the_text)
{
	struct sul_progress p;
	char *dir = tu_tmpdir();
	char *log = sul_xasprintf("%s/s.log", dir);
	struct sul_buf big = SUL_BUF_INIT;
	size_t i;

	sul_progress_init(&p, stderr, SUL_PROGRESS_LIVE, 8, 30);
	sul_progress_add(&p, 1, "s", log, 0);
	/* A stage's own escape codes and tabs must not reach the terminal. */
	append(log, "progress: \033[31mred\033[0m\tok  \n");
	ck_assert_uint_eq(sul_progress_poll(&p), 1);
	ck_assert_str_eq(p.stages[0].text, " [31mred [0m ok");

	/* A very long line is kept cut, never split into a second line. */
	sul_buf_adds(&big, "progress: ");
	for (i = 0; i < 3 * SUL_PROGRESS_TEXT_MAX; i++)
		sul_buf_addc(&big, (char)('a' + i % 26));
	sul_buf_adds(&big, "\nlast\n");
	append(log, big.buf);
	ck_assert_uint_eq(sul_progress_poll(&p), 1);
	ck_assert_uint_eq(strlen(p.stages[0].text), SUL_PROGRESS_TEXT_MAX);
	ck_assert_int_eq(strncmp(p.stages[0].text, "abcdefghij", 10), 0);
	/* Cutting never leaves half a UTF-8 character ("é" is 2 bytes). */
	sul_buf_reset(&big);
	sul_buf_adds(&big, "progress: ");
	for (i = 0; i < SUL_PROGRESS_TEXT_MAX - 1; i++)
		sul_buf_addc(&big, 'x');
	sul_buf_adds(&big, "\xc3\xa9\n");
	append(log, big.buf);
	ck_assert_uint_eq(sul_progress_poll(&p), 1);
	ck_assert_uint_eq(strlen(p.stages[0].text), SUL_PROGRESS_TEXT_MAX - 1);
	sul_progress_release(&p);
	sul_buf_release(&big);
	free(log);
}
END_TEST

/* p with stages "train" (started at 0) and "cam" (at 70), and their progress. */
static void two_stages(struct sul_progress *p, const char *dir)
{
	char *a = sul_xasprintf("%s/train.log", dir), *b = sul_xasprintf("%s/cam.log", dir);

	sul_progress_add(p, 0, "train", a, 0);
	sul_progress_add(p, 1, "cam", b, 70);
	append(a, "train: 3 layers\nprogress: epoch 3/10 250 images/s ETA 1m20s\n");
	append(b, "progress: subject 2/9 \xc3\xa9t\xc3\xa9 ETA 2h\n");
	ck_assert_uint_eq(sul_progress_poll(p), 2);
	free(a);
	free(b);
}

START_TEST(live_line_cut_to_width)
{
	struct sul_progress p;
	struct sul_buf line = SUL_BUF_INIT;

	sul_progress_init(&p, stderr, SUL_PROGRESS_LIVE, 8, 30);
	two_stages(&p, tu_tmpdir());
	sul_progress_line(&p, 75, 200, &line);
	ck_assert_str_eq(line.buf, "[2 running] train (1m15s) epoch 3/10 250 images/s ETA 1m20s | cam (5s) subject 2/9 "
				   "\xc3\xa9t\xc3\xa9 ETA 2h");
	/* Cut to one less than the width, counting characters, not bytes. */
	sul_progress_line(&p, 75, 30, &line);
	ck_assert_str_eq(line.buf, "[2 running] train (1m15s) epo");
	sul_progress_line(&p, 75, 87, &line);
	ck_assert_str_eq(line.buf, "[2 running] train (1m15s) epoch 3/10 250 images/s ETA 1m20s | cam (5s) subject 2/9 "
				   "\xc3\xa9t\xc3\xa9");
	sul_progress_line(&p, 75, 86, &line);
	ck_assert_str_eq(line.buf, "[2 running] train (1m15s) epoch 3/10 250 images/s ETA 1m20s | cam (5s) subject 2/9 "
				   "\xc3\xa9t");
	/* One stage, no text yet: just its id and elapsed time. */
	sul_progress_remove(&p, 0);
	sul_progress_line(&p, 7270, 200, &line);
	ck_assert_str_eq(line.buf, "cam (2h00m) subject 2/9 \xc3\xa9t\xc3\xa9 ETA 2h");
	sul_progress_release(&p);
	sul_buf_release(&line);
}
END_TEST

/* What was written to a memory stream so far. */
static const char *written(FILE *f, char **buf)
{
	fflush(f);
	return *buf;
}

START_TEST(live_redraws_in_place_at_most_5_per_second)
{
	struct sul_progress p;
	char *dir = tu_tmpdir(), *buf = NULL;
	char *log = sul_xasprintf("%s/s.log", dir);
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	sul_progress_init(&p, f, SUL_PROGRESS_LIVE, 8, 30);
	p.columns = 40;
	sul_progress_add(&p, 0, "s", log, 10);
	append(log, "progress: step 1\n");
	/* Not in a stage's first half second: quick stages flash no line. */
	sul_progress_update(&p, 10.4);
	ck_assert_str_eq(written(f, &buf), "");
	sul_progress_update(&p, 11);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K");
	/* Changed, but 0.1 s after the last draw: not yet. */
	append(log, "progress: step 2\n");
	sul_progress_update(&p, 11.1);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K");
	sul_progress_update(&p, 11.5);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K\rs (1s) step 2\033[K");
	/* Unchanged: nothing written. */
	sul_progress_update(&p, 11.9);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K\rs (1s) step 2\033[K");
	/* The elapsed time alone changes it once a second. */
	sul_progress_update(&p, 12.0);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K\rs (1s) step 2\033[K\rs (2s) step 2\033[K");
	/* A normal line clears it; the next update draws it again at once. */
	sul_progress_clear(&p);
	sul_progress_clear(&p);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K\rs (1s) step 2\033[K\rs (2s) step 2\033[K\r\033[K");
	sul_progress_update(&p, 12.01);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K\rs (1s) step 2\033[K\rs (2s) step 2\033[K\r\033[K"
					   "\rs (2s) step 2\033[K");
	/* No stage left: the line goes away. */
	sul_progress_remove(&p, 0);
	sul_progress_update(&p, 13);
	ck_assert_str_eq(written(f, &buf), "\rs (1s) step 1\033[K\rs (1s) step 2\033[K\rs (2s) step 2\033[K\r\033[K"
					   "\rs (2s) step 2\033[K\r\033[K");
	sul_progress_release(&p);
	fclose(f);
	free(buf);
	free(log);
}
END_TEST

START_TEST(plain_lines_rate_limited)
{
	struct sul_progress p;
	char *dir = tu_tmpdir(), *buf = NULL;
	char *log = sul_xasprintf("%s/train.log", dir);
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *first = "progress train     30s  step 1\n";
	const char *second = "progress train     1m15s  step 3\n";
	struct sul_buf want = SUL_BUF_INIT;

	ck_assert_ptr_nonnull(f);
	sul_progress_init(&p, f, SUL_PROGRESS_PLAIN, 8, 30);
	ck_assert(sul_progress_tick_s(&p) == 1);
	sul_progress_add(&p, 0, "train", log, 100);
	append(log, "progress: step 1\n");
	/* Nothing in a stage's first interval: short stages print only their usual lines. */
	sul_progress_update(&p, 101);
	sul_progress_update(&p, 129.9);
	ck_assert_str_eq(written(f, &buf), "");
	sul_progress_update(&p, 130);
	ck_assert_str_eq(written(f, &buf), first);
	/* The text changed, but within 30 s of the last line: wait. */
	append(log, "progress: step 2\n");
	sul_progress_update(&p, 140);
	append(log, "progress: step 3\n");
	sul_progress_update(&p, 159.9);
	ck_assert_str_eq(written(f, &buf), first);
	sul_progress_update(&p, 175);
	sul_buf_addf(&want, "%s%s", first, second);
	ck_assert_str_eq(written(f, &buf), want.buf);
	/* 30 s later, but the same text: nothing new to say. */
	sul_progress_update(&p, 300);
	ck_assert_str_eq(written(f, &buf), want.buf);
	ck_assert_ptr_null(strchr(buf, '\033'));
	ck_assert_ptr_null(strchr(buf, '\r'));
	/* A shorter interval, as SULCUS_PROGRESS_INTERVAL=1 gives the tests. */
	p.interval = 1;
	ck_assert(sul_progress_tick_s(&p) == 0.5);
	append(log, "progress: step 4\n");
	sul_progress_update(&p, 301);
	sul_buf_adds(&want, "progress train     3m21s  step 4\n");
	ck_assert_str_eq(written(f, &buf), want.buf);
	sul_progress_release(&p);
	fclose(f);
	free(buf);
	free(log);
	sul_buf_release(&want);
}
END_TEST

START_TEST(modes_and_interval)
{
	struct sul_err err = SUL_ERR_INIT;
	struct sul_progress p;
	FILE *f = tmpfile();
	double iv = 0;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(sul_progress_mode_for(NULL, 0), SUL_PROGRESS_OFF);
	ck_assert_int_eq(sul_progress_mode_for(f, 1), SUL_PROGRESS_OFF);
	ck_assert_int_eq(sul_progress_mode_for(f, 0), SUL_PROGRESS_PLAIN);
	/* Off: nothing is followed, and the scheduler may block as long as it likes. */
	sul_progress_init(&p, f, SUL_PROGRESS_OFF, 8, 30);
	sul_progress_add(&p, 0, "s", "/nonexistent/s.log", 0);
	ck_assert_uint_eq(p.n, 0);
	ck_assert(sul_progress_tick_s(&p) < 0);
	sul_progress_release(&p);
	sul_progress_init(&p, f, SUL_PROGRESS_LIVE, 8, 30);
	ck_assert(sul_progress_tick_s(&p) == 0.25);
	sul_progress_release(&p);
	fclose(f);

	ck_assert_int_eq(sul_progress_interval(NULL, &iv, &err), 0);
	ck_assert(iv == 30);
	ck_assert_int_eq(sul_progress_interval("", &iv, &err), 0);
	ck_assert(iv == 30);
	ck_assert_int_eq(sul_progress_interval("0.5", &iv, &err), 0);
	ck_assert(iv == 0.5);
	ck_assert_int_eq(sul_progress_interval("0", &iv, &err), -1);
	ck_assert_str_eq(err.msg, "SULCUS_PROGRESS_INTERVAL: expected a number of seconds above 0, got '0'");
	ck_assert_int_eq(err.kind, SUL_ERR_INPUT);
	ck_assert_int_eq(sul_progress_interval("1s", &iv, &err), -1);
	ck_assert_str_eq(err.msg, "SULCUS_PROGRESS_INTERVAL: expected a number of seconds above 0, got '1s'");
	ck_assert_int_eq(sul_progress_interval("nan", &iv, &err), -1);
}
END_TEST

SUL_SUITE(progress)
{
	Suite *s = suite_create("progress");
	TCase *tc = tcase_create("progress");

	tcase_add_checked_fixture(tc, NULL, tu_cleanup);
	tcase_add_test(tc, tail_reads_only_new_bytes);
	tcase_add_test(tc, tail_cleans_the_text);
	tcase_add_test(tc, live_line_cut_to_width);
	tcase_add_test(tc, live_redraws_in_place_at_most_5_per_second);
	tcase_add_test(tc, plain_lines_rate_limited);
	tcase_add_test(tc, modes_and_interval);
	suite_add_tcase(s, tc);
	return s;
}
