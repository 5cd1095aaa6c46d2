#!/bin/sh
# t3006-gc: `sulcus gc --keep 1` removes the cache entries the last run did
# not use and keeps those it used; afterwards an older version of the
# workflow runs again.  --dry-run removes nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "gc";
params = { v = 1; };
stages = (
  { id = "a"; kind = "command"; command = "echo x >> count.a; echo {params.v} > {out}/v"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "echo x >> count.b; cat {in.a}/v > {out}/v"; },
  { id = "s"; kind = "command"; command = "echo x >> count.s; echo s > {out}/v"; }
);
EOF
run_ok "$SULCUS" run -q wf.cfg
run_ok "$SULCUS" run -q --set params.v=2 wf.cfg
assert_eq 5 "$(cache_entries)" "cache entries before gc"
old_a=$(sql_value "SELECT cache_key FROM executions WHERE run_id=1 AND stage='a'") || fail "query"
new_a=$(sql_value "SELECT cache_key FROM executions WHERE run_id=2 AND stage='a'") || fail "query"
key_s=$(sql_value "SELECT cache_key FROM executions WHERE run_id=2 AND stage='s'") || fail "query"

run_ok "$SULCUS" gc --keep 1 --dry-run
assert_file_contains "$OUT" "gc: would remove 2 cache entries"
assert_eq 5 "$(cache_entries)" "cache entries after gc --dry-run"

run_ok "$SULCUS" gc --keep 1
assert_file_contains "$OUT" "gc: removed 2 cache entries"
assert_file_contains "$OUT" "kept 3 used by the last 1 run"
assert_eq 3 "$(cache_entries)" "cache entries after gc"
[ ! -e ".sulcus/cache/$old_a" ] || fail "gc kept an entry only run 1 used"
[ -d ".sulcus/cache/$new_a" ] || fail "gc removed an entry the last run used"
[ -d ".sulcus/cache/$key_s" ] || fail "gc removed an entry the last run used (cached in it)"
sql_ok "SELECT count(*) FROM outputs WHERE cache_key='$old_a'"
assert_eq 0 "$ROWS" "outputs rows of a removed entry"
assert_eq "" "$(ls .sulcus/tmp)" "leftovers in .sulcus/tmp"

# The last version is still cached; the older one runs again.
run_ok "$SULCUS" run -q --set params.v=2 wf.cfg
for id in a b s; do
	assert_cached $id
done
run_ok "$SULCUS" plan wf.cfg
assert_file_contains "$OUT" "plan: 2 to run, 1 cached"
run_ok "$SULCUS" run -q wf.cfg
assert_ran a
assert_ran b
assert_cached s
assert_count count.a 3
[ -d ".sulcus/cache/$old_a" ] || fail "the rerun did not publish the old entry again"

# --keep 0 keeps nothing.
run_ok "$SULCUS" gc --keep 0
assert_eq 0 "$(cache_entries)" "cache entries after gc --keep 0"
run_fail_msg 2 "gc: --keep: expected a number of runs, got 'x'" "$SULCUS" gc --keep x

# A failing read of the keep-set (or any database step) stops gc before it
# removes what a recent run used: for each step of a gc, made to fail in
# turn (engine/fault.h), gc exits 0 having removed only what it should, or
# exits 3 (an error of sulcus) having removed less.
: "${SULCUS_FAULTS:=$(dirname "$SULCUS")/sulcus-faults}"
run_ok "$SULCUS" run -q --set params.v=3 wf.cfg
run_ok "$SULCUS" run -q --set params.v=4 wf.cfg
keep=$(sql "SELECT DISTINCT cache_key FROM executions WHERE run_id = (SELECT max(id) FROM runs)") || fail "query"
rm -f "$TEST_ROOT/trace"
cp -a .sulcus "$TEST_ROOT/saved"
run_ok env SULCUS_FAULT_TRACE="$TEST_ROOT/trace" "$SULCUS_FAULTS" gc --keep 1 --dry-run
steps=$(grep -c '^call sqlite$' "$TEST_ROOT/trace")
[ "$steps" -gt 3 ] || fail "gc makes only $steps database steps"
i=1
while [ "$i" -le "$steps" ]; do
	rm -rf .sulcus
	cp -a "$TEST_ROOT/saved" .sulcus
	run_status env SULCUS_FAIL_AT="sqlite:$i" "$SULCUS_FAULTS" gc --keep 1
	case $STATUS in
	0 | 3) ;;
	*) show_output; fail "gc with database step $i failing: exit status $STATUS" ;;
	esac
	for k in $keep; do
		[ -d ".sulcus/cache/$k" ] || fail "gc with database step $i failing removed $k, which the last run used"
	done
	i=$((i + 1))
done
