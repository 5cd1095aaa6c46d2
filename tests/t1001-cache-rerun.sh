#!/bin/sh
# t1001-cache-rerun: the first run runs every stage; the second finds every
# stage cached and executes none of them again (each command appends to a
# counter file outside the cache).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "rerun";
stages = (
  { id = "a"; kind = "command"; command = "echo x >> count.a; echo A > {out}/v"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "echo x >> count.b; cat {in.a}/v > {out}/v; echo B >> {out}/v"; },
  { id = "c"; kind = "command"; command = "echo x >> count.c; echo C > {out}/v"; }
);
EOF
run_ok "$SULCUS" run wf.cfg
for id in a b c; do
	assert_ran $id
	assert_count count.$id 1
done
assert_file_contains "$ERR" "run 1: 3 ran, 0 cached, 0 failed, 0 skipped"
sql_ok "SELECT status FROM runs WHERE id=1"
assert_eq succeeded "$ROWS" "status of run 1"
key_b=$(sql "SELECT cache_key FROM executions WHERE run_id=1 AND stage='b'") || fail "query"
[ -f ".sulcus/cache/$key_b/out/v" ] || fail "no published output for b"
assert_eq "A B" "$(tr '\n' ' ' <".sulcus/cache/$key_b/out/v" | sed 's/ $//')" "output of b"

run_ok "$SULCUS" run wf.cfg
for id in a b c; do
	assert_cached $id
	assert_count count.$id 1
done
assert_file_contains "$ERR" "run 2: 0 ran, 3 cached, 0 failed, 0 skipped"
assert_file_lacks "$ERR" "cached   a"
sql_ok "SELECT cache_key FROM executions WHERE run_id=2 AND stage='b'"
assert_eq "$key_b" "$ROWS" "cache key of b in run 2"

# -v also prints the cached stages.
run_ok "$SULCUS" run -v wf.cfg
assert_file_contains "$ERR" "cached   a"
assert_file_contains "$ERR" "cached   b"
for id in a b c; do
	assert_count count.$id 1
done

# -q prints nothing when all is well.
run_ok "$SULCUS" run -q wf.cfg
assert_eq "" "$(cat "$ERR" "$OUT")" "output of run -q"

# plan lists them too, and runs nothing.
run_ok "$SULCUS" plan wf.cfg
assert_file_contains "$OUT" "plan: 0 to run, 3 cached (3 stages)"
sql_ok "SELECT count(*) FROM runs"
assert_eq 4 "$ROWS" "runs after plan"
