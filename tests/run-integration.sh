#!/bin/sh
# run-integration.sh [PATTERN...] - runs the integration tests.
#
# Runs every tests/tNNNN-*.sh (or those whose name matches one of the
# shell patterns given, e.g. `t2*` or `kill`) one at a time with `sh`, each
# under `timeout 120`, against $SULCUS (default: build/sulcus under the
# current folder); those marked "# waits: yes" run beside the others.  Prints PASS/FAIL per test, the output of each failed
# test, and last exactly one line "N passed, N failed, N skipped", which CI
# parses.  A test that exits 77 could not run here (Slurm missing, say): it is
# reported as skipped with its reason, never as passed.  Exits 1 when a test
# failed or none matched.

TESTS_DIR=$(dirname "$0")
: "${SULCUS:=$(pwd)/build/sulcus}"
case $SULCUS in
/*) ;;
*) SULCUS=$(pwd)/$SULCUS ;;
esac
export SULCUS

TIMEOUT_S=120
passed=0
failed=0
skipped=0
failed_names=""
log=$(mktemp "${TMPDIR:-/tmp}/sulcus-integration.XXXXXX") || exit 2
trap 'rm -f "$log"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

selected() {
	[ $# -eq 1 ] && return 0
	_name=$1
	shift
	for _pat in "$@"; do
		# shellcheck disable=SC2254 # the argument is a pattern on purpose
		case $_name in
		$_pat | $_pat.sh | *$_pat*) return 0 ;;
		esac
	done
	return 1
}

# run_test FILE LOG: runs one test, prints its result (and a failed test's
# output); returns 0 (passed), 1 (failed) or 77 (skipped).
run_test() {
	_name=$(basename "$1" .sh)
	_rc=0
	# A test may ask for more time with a line "# timeout: SECONDS".
	_limit=$(sed -n 's/^# timeout: \([0-9][0-9]*\)$/\1/p' "$1" | head -n 1)
	_limit=${_limit:-$TIMEOUT_S}
	_start=$(date +%s)
	timeout "$_limit" sh "$1" >"$2" 2>&1 || _rc=$?
	_secs=$(($(date +%s) - _start))
	if [ "$_rc" -eq 0 ]; then
		echo "PASS $_name ($_secs s)"
		return 0
	elif [ "$_rc" -eq 77 ]; then
		echo "SKIP $_name: $(tail -n 1 "$2" | sed 's/^SKIP: [^:]*: //')"
		return 77
	fi
	echo "FAIL $_name"
	sed 's/^/    /' "$2"
	if [ "$_rc" -eq 124 ]; then
		echo "    (timed out after $_limit s)"
	else
		echo "    (exit status $_rc)"
	fi
	return 1
}

count() {  # count RC NAME
	case $1 in
	0) passed=$((passed + 1)) ;;
	77) skipped=$((skipped + 1)) ;;
	*) failed=$((failed + 1)); failed_names="$failed_names $2" ;;
	esac
}

# Tests with a line "# waits: yes" spend their time waiting on a clock
# (Slurm's time limits), not computing: they run one after another in the
# background, beside the others, and are reported at the end.
waiting=""
others=""
for t in "$TESTS_DIR"/t[0-9][0-9][0-9][0-9]-*.sh; do
	[ -f "$t" ] || continue
	selected "$(basename "$t" .sh)" "$@" || continue
	if grep -q '^# waits: yes$' "$t"; then
		waiting="$waiting $t"
	else
		others="$others $t"
	fi
done
bgpid=""
if [ -n "$waiting" ]; then
	bgout=$(mktemp "${TMPDIR:-/tmp}/sulcus-integration.XXXXXX") || exit 2
	trap 'rm -f "$log" "$bgout" "$bgout".*; [ -z "$bgpid" ] || kill "$bgpid" 2>/dev/null' EXIT
	(
		for t in $waiting; do
			rc=0
			run_test "$t" "$bgout.log" >>"$bgout.text" || rc=$?
			echo "$rc $(basename "$t" .sh)" >>"$bgout.rc"
		done
	) &
	bgpid=$!
fi
for t in $others; do
	rc=0
	run_test "$t" "$log" || rc=$?
	count "$rc" "$(basename "$t" .sh)"
done
if [ -n "$bgpid" ]; then
	wait "$bgpid"
	bgpid=""
	cat "$bgout.text"
	while read -r rc name; do
		count "$rc" "$name"
	done <"$bgout.rc"
fi

if [ $((passed + failed + skipped)) -eq 0 ]; then
	echo "run-integration.sh: no test matches: $*" >&2
fi
[ "$failed" -eq 0 ] || echo "failed:$failed_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
