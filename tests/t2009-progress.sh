#!/bin/sh
# t2009-progress: a stage's "progress: " lines reach the output of `sulcus
# run` while it runs.  To a file (a log, CI): plain "progress STAGE  ELAPSED
# TEXT" lines, no more than one per SULCUS_PROGRESS_INTERVAL seconds (default
# 30: none for a short stage), and never an escape code or "\r".  With -q:
# nothing but the errors.  On a terminal (a pty from util-linux `script`): a
# status line redrawn in place with "\r" and erase-line, cleared before each
# normal line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

ESC=$(printf '\033')
CR=$(printf '\r')

# wait_for_text FILE TEXT [TIMEOUT_S]: polls until FILE holds the fixed string TEXT.
wait_for_text() {
	_n=$((${3:-10} * 20))
	while ! grep -qF -e "$2" "$1" 2>/dev/null; do
		if [ "$_n" -le 0 ]; then
			echo "--- $1:" >&2
			sed 's/^/    /' "$1" >&2
			fail "timed out waiting for '$2' in '$1'"
		fi
		_n=$((_n - 1))
		sleep 0.05
	done
}

# progress_lines FILE: the plain progress lines in FILE (not the log tail
# that a failure shows, where the stage's own "progress: " lines appear).
progress_lines() {
	grep -c '^progress ' "$1" || true
}

# "slow" reports step i, then waits for the file go.i: the test decides when
# it moves on, so its progress can be seen while it runs.
cat >wf.cfg <<'EOF'
name = "progress";
stages = (
  { id = "slow"; kind = "command";
    command = "for i in 1 2 3; do echo \"progress: step $i of 3\" >&2; n=0; while [ ! -e go.$i ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n + 1)); done; done; echo done > {out}/v"; }
);
EOF
# "bad" reports twice within 1.5 s, then fails.
cat >bad.cfg <<'EOF'
name = "progress_bad";
stages = (
  { id = "bad"; kind = "command";
    command = "echo 'progress: step 1'; sleep 0.5; echo 'progress: step 2'; sleep 1; exit 3"; }
);
EOF

# Plain lines, each while the stage still runs (it waits for go.N).
rm -f go.*
start_bg plain env SULCUS_PROGRESS_INTERVAL=0.5 "$SULCUS" run wf.cfg
for i in 1 2 3; do
	wait_for_text "$TEST_ROOT/plain.out" "step $i of 3"
	touch "go.$i"
done
wait_bg plain
out=$(bg_output plain)
[ "$BG_RC" = 0 ] || fail "expected exit status 0, got $BG_RC; output:
$out"
for i in 1 2 3; do
	printf '%s\n' "$out" | grep -Eq "^progress slow +([0-9]+s|[0-9]+m[0-9]{2}s)  step $i of 3\$" \
		|| fail "no plain progress line for step $i; output:
$out"
done
assert_contains "$out" "ok       slow" "plain output"
assert_contains "$out" "run 1: 1 ran, 0 cached, 0 failed, 0 skipped" "plain output"
assert_not_contains "$out" "$ESC" "plain output"
assert_not_contains "$out" "$CR" "plain output"

# With the default interval (30 s), a stage of 1.5 s prints no progress line.
run_fail_msg 1 "sulcus: run 2: 1 failed, 0 skipped" "$SULCUS" run bad.cfg
assert_eq 0 "$(progress_lines "$ERR")" "progress lines with the default interval"
assert_file_contains "$ERR" "FAILED   bad       command exited with status 3"
# The same with a short interval does (and so the checks around it can fail).
run_fail_msg 1 "sulcus: run 3: 1 failed, 0 skipped" env SULCUS_PROGRESS_INTERVAL=0.2 "$SULCUS" run bad.cfg
[ "$(progress_lines "$ERR")" -ge 1 ] || fail "no progress line with a 0.2 s interval: $(cat "$ERR")"
assert_file_contains "$ERR" "progress bad "
assert_file_lacks "$ERR" "$ESC"
# -q: nothing but the errors, even with a short interval.
run_fail_msg 1 "sulcus: run 4: 1 failed, 0 skipped" env SULCUS_PROGRESS_INTERVAL=0.2 "$SULCUS" run -q bad.cfg
assert_eq 0 "$(progress_lines "$ERR")" "progress lines with -q"
assert_file_lacks "$ERR" "run      bad"
assert_file_contains "$ERR" "FAILED   bad       command exited with status 3"
[ ! -s "$OUT" ] || fail "run -q printed on stdout: $(cat "$OUT")"
# ... and on success nothing at all.
touch go.1 go.2 go.3
run_ok env SULCUS_PROGRESS_INTERVAL=0.2 "$SULCUS" run -q --force slow wf.cfg
if [ -s "$ERR" ] || [ -s "$OUT" ]; then
	fail "run -q printed: $(cat "$OUT" "$ERR")"
fi

# A bad interval is refused.
run_fail_msg 2 "SULCUS_PROGRESS_INTERVAL: expected a number of seconds above 0, got 'soon'" \
	env SULCUS_PROGRESS_INTERVAL=soon "$SULCUS" run wf.cfg

# On a terminal: the live line.
if ! script --version 2>/dev/null | grep -q util-linux; then
	echo "t2009: util-linux script is not installed: terminal mode not tested" >&2
	exit 0
fi
rm -f go.*
start_bg tty env TERM=xterm script -qfec "'$SULCUS' run --force slow wf.cfg" /dev/null
for i in 1 2 3; do
	wait_for_text "$TEST_ROOT/tty.out" "slow (" 10
	wait_for_text "$TEST_ROOT/tty.out" "step $i of 3"
	touch "go.$i"
done
wait_bg tty
out=$(bg_output tty)
[ "$BG_RC" = 0 ] || fail "script: expected exit status 0, got $BG_RC; output:
$out"
# Drawn in place: "\r", the stage and its progress text, erase to the end of the line.
for i in 1 2 3; do
	printf '%s' "$out" | grep -Eq "${CR}slow \\([0-9]+s\\) step $i of 3${ESC}\\[K" \
		|| fail "no live line for step $i; output: $(printf '%s' "$out" | od -c | head -40)"
done
# Cleared before the normal lines, which stay as they were.
assert_contains "$out" "${CR}${ESC}[Kok       slow" "terminal output"
assert_contains "$out" "run 6: 1 ran, 0 cached, 0 failed, 0 skipped" "terminal output"
assert_not_contains "$out" "progress slow" "terminal output"
