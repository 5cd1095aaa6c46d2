/* clock.h - the clocks sulcus reads: wall time for records, monotonic for durations, CPU time for a
 * stage's own measurements. */
#ifndef SUL_CLOCK_H
#define SUL_CLOCK_H

/* Now as ISO 8601 UTC with milliseconds ("2026-11-26T12:30:00.123Z"). */
void sul_now_iso(char buf[64]);
/* Seconds on the monotonic clock, for measuring durations. */
double sul_now_s(void);
/* CPU seconds this process has used (a stage timing one of its steps). */
double sul_cpu_s(void);

#endif
