# lib.sh - sourced by every integration test (tests/tNNNN-area-what.sh).
#
# A test drives the real `sulcus` binary ($SULCUS, an absolute path; by
# default build/sulcus under the folder the test was started from) in a
# fresh temporary folder that it cd's into and that is removed on exit.
# Workflows written there run their commands there too (a command stage's
# working folder is its workflow file's folder), and the workspace is
# ./.sulcus.  A test exits 0 when it passes; `fail` prints the reason and
# exits 1.  Tests synchronize with stages through files they poll for
# (wait_for_file), never through fixed sleeps.
#
# Output of the last run_ok / run_fail_msg / run_status is kept in the
# files "$OUT" (stdout) and "$ERR" (stderr), outside the test's folder.

set -u

TEST_NAME=$(basename "$0" .sh)
TESTS_DIR=$(cd "$(dirname "$0")" && pwd)

: "${SULCUS:=$(pwd)/build/sulcus}"
case $SULCUS in
/*) ;;
*) SULCUS=$(pwd)/$SULCUS ;;
esac
export SULCUS

TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/sulcus-$TEST_NAME.XXXXXX") || {
	echo "FAIL: $TEST_NAME: mktemp -d failed" >&2
	exit 1
}
TEST_DIR=$TEST_ROOT/work
OUT=$TEST_ROOT/stdout
ERR=$TEST_ROOT/stderr
BG_PIDS=""
mkdir "$TEST_DIR" || exit 1

SLURM_DIR=""

cleanup() {
	for _p in $BG_PIDS; do
		kill -9 "$_p" 2>/dev/null
	done
	if [ -n "$SLURM_DIR" ]; then
		sh "$TESTS_DIR/slurm/cluster.sh" stop "$SLURM_DIR"
	fi
	rm -rf "$TEST_ROOT"
}
trap cleanup EXIT
# dash runs the EXIT trap only on exit: turn signals (timeout's TERM) into one.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

cd "$TEST_DIR" || exit 1

if [ ! -x "$SULCUS" ]; then
	echo "FAIL: $TEST_NAME: no sulcus binary at '$SULCUS' (build it, or set SULCUS)" >&2
	exit 1
fi

# fail MSG...: the test fails with this reason.
fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	exit 1
}

# show_output: the captured stdout and stderr of the last command, indented.
show_output() {
	echo "--- stdout:" >&2
	sed 's/^/    /' "$OUT" >&2
	echo "--- stderr:" >&2
	sed 's/^/    /' "$ERR" >&2
}

# run_status CMD...: runs CMD capturing its output; sets STATUS to its exit status.
run_status() {
	STATUS=0
	"$@" >"$OUT" 2>"$ERR" || STATUS=$?
}

# run_ok CMD...: CMD must exit 0.
run_ok() {
	run_status "$@"
	if [ "$STATUS" -ne 0 ]; then
		show_output
		fail "expected exit status 0, got $STATUS from: $*"
	fi
}

# run_fail_msg STATUS SUBSTRING CMD...: CMD must exit with exactly STATUS
# and print SUBSTRING (a fixed string) on stderr.
run_fail_msg() {
	_want=$1
	_msg=$2
	shift 2
	run_status "$@"
	if [ "$STATUS" -ne "$_want" ]; then
		show_output
		fail "expected exit status $_want, got $STATUS from: $*"
	fi
	if ! grep -qF -e "$_msg" "$ERR"; then
		show_output
		fail "stderr of '$*' lacks: $_msg"
	fi
}

# assert_eq EXPECTED ACTUAL [WHAT]
assert_eq() {
	if [ "$1" != "$2" ]; then
		fail "${3:-value}: expected '$1', got '$2'"
	fi
}

# assert_contains TEXT SUBSTRING [WHAT]
assert_contains() {
	case $1 in
	*"$2"*) ;;
	*) fail "${3:-text} lacks '$2'; it is:
$1" ;;
	esac
}

# assert_not_contains TEXT SUBSTRING [WHAT]
assert_not_contains() {
	case $1 in
	*"$2"*) fail "${3:-text} should not contain '$2'; it is:
$1" ;;
	esac
}

# assert_file_contains FILE SUBSTRING: FILE holds the fixed string SUBSTRING.
assert_file_contains() {
	[ -f "$1" ] || fail "no file '$1'"
	if ! grep -qF -e "$2" "$1"; then
		echo "--- $1:" >&2
		sed 's/^/    /' "$1" >&2
		fail "'$1' lacks: $2"
	fi
}

# assert_file_lacks FILE SUBSTRING
assert_file_lacks() {
	if [ -f "$1" ] && grep -qF -e "$2" "$1"; then
		echo "--- $1:" >&2
		sed 's/^/    /' "$1" >&2
		fail "'$1' should not contain: $2"
	fi
}

# assert_no_workspace: nothing was created (bad input must write nothing).
assert_no_workspace() {
	[ ! -e .sulcus ] || fail "a .sulcus folder was created: $(find .sulcus | head -5)"
}

# sql QUERY: prints the rows of a read-only query as CSV without the header.
# Call it as VAR=$(sql ...) || fail ...: it cannot fail the test itself.
sql() {
	_rows=$("$SULCUS" query --csv "$1") || return 1
	printf '%s\n' "$_rows" | sed 1d
}

# sql_ok QUERY: sets ROWS to the rows of QUERY (CSV, no header); a failing
# query fails the test.
sql_ok() {
	if ! ROWS=$("$SULCUS" query --csv "$1" 2>"$ERR"); then
		sed 's/^/    /' "$ERR" >&2
		fail "query failed: $1"
	fi
	ROWS=$(printf '%s\n' "$ROWS" | sed 1d)
}

# sql_value QUERY: prints the one value a query returns, CSV quoting undone.
# Call it as VAR=$(sql_value ...) || fail ...
sql_value() {
	_v=$(sql "$1") || return 1
	printf '%s\n' "$_v" | awk 'BEGIN { RS = "\001" }
	{
		s = $0
		sub(/\n$/, "", s)
		if (substr(s, 1, 1) == "\"") {
			s = substr(s, 2, length(s) - 2)
			gsub(/""/, "\"", s)
		}
		printf "%s", s
	}'
}

# stage_status ID: the status of stage ID in the latest run ('' when absent).
stage_status() {
	sql_value "SELECT status FROM executions WHERE run_id=(SELECT max(id) FROM runs) AND stage='$1'"
}

# assert_status ID STATUS: stage ID ended as STATUS in the latest run.
assert_status() {
	_got=$(stage_status "$1") || fail "cannot query the status of stage '$1'"
	[ "$_got" = "$2" ] || fail "stage '$1': expected status '$2' in the latest run, got '${_got:-no execution}'"
}

assert_ran() {
	assert_status "$1" ran
}

assert_cached() {
	assert_status "$1" cached
}

# stage_reason ID: the reason recorded for stage ID in the latest run.
stage_reason() {
	sql_value "SELECT reason FROM executions WHERE run_id=(SELECT max(id) FROM runs) AND stage='$1'"
}

# run_status_of [RUN_ID]: the status of a run (default: the latest).
run_status_of() {
	sql_value "SELECT status FROM runs WHERE id=${1:-(SELECT max(id) FROM runs)}"
}

# count_lines FILE: lines in FILE, 0 when it does not exist.
count_lines() {
	if [ -f "$1" ]; then
		wc -l <"$1" | tr -d ' '
	else
		echo 0
	fi
}

# assert_count FILE N: FILE has N lines (a stage that appends to FILE ran N times).
assert_count() {
	_n=$(count_lines "$1")
	[ "$_n" = "$2" ] || fail "'$1': expected $2 line(s), got $_n"
}

# cache_entries: the number of published entries in .sulcus/cache.
cache_entries() {
	if [ -d .sulcus/cache ]; then
		find .sulcus/cache -mindepth 1 -maxdepth 1 | wc -l | tr -d ' '
	else
		echo 0
	fi
}

# wait_for_file PATH [TIMEOUT_S]: polls every 0.05 s until PATH exists
# (default timeout 10 s); fails the test on timeout.
wait_for_file() {
	_n=$((${2:-10} * 20))
	while [ ! -e "$1" ]; do
		[ "$_n" -gt 0 ] || fail "timed out waiting for '$1'"
		_n=$((_n - 1))
		sleep 0.05
	done
}

# proc_alive PID: true while PID is a live process (a zombie is dead: it
# waits only for its reaper, which may be a slow init in a container).
proc_alive() {
	kill -0 "$1" 2>/dev/null || return 1
	[ -r "/proc/$1/stat" ] || return 0
	_state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
	[ "$_state" != Z ] && [ -n "$_state" ]
}

# wait_for_death PID [TIMEOUT_S]: polls until PID is gone; fails on timeout.
wait_for_death() {
	_n=$((${2:-5} * 20))
	while proc_alive "$1"; do
		[ "$_n" -gt 0 ] || fail "process $1 is still alive after ${2:-5} s"
		_n=$((_n - 1))
		sleep 0.05
	done
}

# start_bg NAME CMD...: runs CMD in the background with SIGINT and SIGQUIT
# at their defaults (a non-interactive shell would ignore them in a
# background job).  Its stdout and stderr go to "$TEST_ROOT/NAME.out", its
# pid to "$TEST_ROOT/NAME.pid", and its exit status, once it ends, to
# "$TEST_ROOT/NAME.rc".  Sets BG_PID.  The test's exit kills what is left.
start_bg() {
	_name=$1
	shift
	rm -f "$TEST_ROOT/$_name.rc" "$TEST_ROOT/$_name.pid"
	if env --default-signal=INT,QUIT true 2>/dev/null; then
		set -- env --default-signal=INT,QUIT "$@"
	fi
	(
		"$@" >"$TEST_ROOT/$_name.out" 2>&1 &
		echo $! >"$TEST_ROOT/$_name.pid.tmp"
		mv "$TEST_ROOT/$_name.pid.tmp" "$TEST_ROOT/$_name.pid"
		_rc=0
		wait $! || _rc=$?
		echo "$_rc" >"$TEST_ROOT/$_name.rc"
	) 2>/dev/null &
	BG_PIDS="$BG_PIDS $!"
	wait_for_file "$TEST_ROOT/$_name.pid"
	BG_PID=$(cat "$TEST_ROOT/$_name.pid")
	BG_PIDS="$BG_PIDS $BG_PID"
}

# wait_bg NAME [TIMEOUT_S]: waits for a start_bg command to end; sets BG_RC.
wait_bg() {
	wait_for_file "$TEST_ROOT/$1.rc" "${2:-30}"
	# shellcheck disable=SC2034 # read by the tests
	BG_RC=$(cat "$TEST_ROOT/$1.rc")
}

# bg_output NAME: what a start_bg command printed.
bg_output() {
	cat "$TEST_ROOT/$1.out"
}

# skip REASON: the test cannot run here; the runner reports it as skipped
# (exit status 77), never as passed.
skip() {
	echo "SKIP: $TEST_NAME: $*" >&2
	exit 77
}

# start_slurm: a one-node Slurm cluster on localhost for this test
# (tests/slurm/cluster.sh), stopped when the test exits; exports SLURM_CONF.
# Skips the test with the reason when Slurm cannot run here.
start_slurm() {
	SLURM_DIR=$TEST_ROOT/slurm
	_rc=0
	_env=$(sh "$TESTS_DIR/slurm/cluster.sh" start "$SLURM_DIR" 2>"$TEST_ROOT/slurm.err") || _rc=$?
	if [ "$_rc" -eq 77 ]; then
		SLURM_DIR=""
		skip "$(cat "$TEST_ROOT/slurm.err")"
	fi
	[ "$_rc" -eq 0 ] || fail "tests/slurm/cluster.sh failed ($_rc): $(cat "$TEST_ROOT/slurm.err")"
	SLURM_CONF=${_env#export SLURM_CONF=}
	export SLURM_CONF
}

# slurm_jobs_submitted: how many jobs the test cluster has been given so far.
slurm_jobs_submitted() {
	scontrol show jobs -o 2>/dev/null | grep -c '^JobId=' || true
}
