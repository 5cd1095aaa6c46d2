#!/bin/sh
# run-integration.sh [PATTERN...] - runs the integration tests.
#
# Runs every tests/tNNNN-*.sh (or those whose name matches one of the
# shell patterns given, e.g. `t2*` or `kill`) one at a time with `sh`, each
# under `timeout 120`, against $SULCUS (default: build/sulcus under the
# current folder).  Prints PASS/FAIL per test, the output of each failed
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

for t in "$TESTS_DIR"/t[0-9][0-9][0-9][0-9]-*.sh; do
	[ -f "$t" ] || continue
	name=$(basename "$t" .sh)
	selected "$name" "$@" || continue
	rc=0
	# A test may ask for more time with a line "# timeout: SECONDS".
	limit=$(sed -n 's/^# timeout: \([0-9][0-9]*\)$/\1/p' "$t" | head -n 1)
	limit=${limit:-$TIMEOUT_S}
	start=$(date +%s)
	timeout "$limit" sh "$t" >"$log" 2>&1 || rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq 0 ]; then
		passed=$((passed + 1))
		echo "PASS $name ($secs s)"
	elif [ "$rc" -eq 77 ]; then
		skipped=$((skipped + 1))
		echo "SKIP $name: $(tail -n 1 "$log" | sed 's/^SKIP: [^:]*: //')"
	else
		failed=$((failed + 1))
		failed_names="$failed_names $name"
		echo "FAIL $name"
		sed 's/^/    /' "$log"
		if [ "$rc" -eq 124 ]; then
			echo "    (timed out after $limit s)"
		else
			echo "    (exit status $rc)"
		fi
	fi
done

if [ $((passed + failed + skipped)) -eq 0 ]; then
	echo "run-integration.sh: no test matches: $*" >&2
fi
[ "$failed" -eq 0 ] || echo "failed:$failed_names"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
