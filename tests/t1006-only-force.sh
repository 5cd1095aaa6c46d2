#!/bin/sh
# t1006-only-force: --only ID runs ID and its ancestors and nothing else;
# --force ID runs ID even when cached (its users stay cached when its
# output does not change).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "only";
stages = (
  { id = "a"; kind = "command"; command = "echo x >> count.a; echo A > {out}/v"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "echo x >> count.b; cat {in.a}/v > {out}/v"; },
  { id = "c"; kind = "command"; inputs = ["b"]; command = "echo x >> count.c; cat {in.b}/v > {out}/v"; },
  { id = "d"; kind = "command"; command = "echo x >> count.d; echo D > {out}/v"; }
);
EOF
run_ok "$SULCUS" run --only b wf.cfg
assert_ran a
assert_ran b
sql_ok "SELECT group_concat(stage, ' ') FROM (SELECT stage FROM executions WHERE run_id=1 ORDER BY stage)"
assert_eq "a b" "$ROWS" "stages of the --only run"
assert_count count.c 0
assert_count count.d 0
sql_ok "SELECT status FROM runs WHERE id=1"
assert_eq succeeded "$ROWS" "status of the --only run"

run_ok "$SULCUS" run wf.cfg
assert_cached a
assert_cached b
assert_ran c
assert_ran d

run_ok "$SULCUS" run --force a wf.cfg
assert_ran a
assert_cached b
assert_cached c
assert_cached d
assert_count count.a 2
assert_count count.b 1
reason=$(stage_reason a) || fail "query"
assert_eq forced "$reason" "reason of a"

# Globs, and --only with --force.
run_ok "$SULCUS" run --only 'c' --force '[bc]' wf.cfg
assert_cached a
assert_ran b
assert_ran c
assert_eq "" "$(stage_status d)" "d in a run --only c"
assert_count count.b 2
assert_count count.c 2
assert_count count.d 1

# A forced rerun whose output differs (a timing, say) replaces the cache
# entry and its recorded digest, and its users rerun on the new output.
cat >wf2.cfg <<'EOF'
name = "force";
stages = (
  { id = "t"; kind = "command"; command = "date +%s%N > {out}/v"; },
  { id = "u"; kind = "command"; inputs = ["t"]; command = "echo x >> count.u; cat {in.t}/v > {out}/v"; }
);
EOF
run_ok "$SULCUS" run wf2.cfg
key=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 't'") || fail "query"
first=$(cat ".sulcus/cache/$key/out/v")
d1=$(sql_value "SELECT digest FROM outputs WHERE cache_key = '$key'") || fail "query"
run_ok "$SULCUS" run --force t wf2.cfg
assert_ran t
assert_ran u
assert_count count.u 2
second=$(cat ".sulcus/cache/$key/out/v")
[ "$first" != "$second" ] || fail "the forced rerun's output did not replace the cache entry ($first)"
d2=$(sql_value "SELECT digest FROM outputs WHERE cache_key = '$key'") || fail "query"
[ "$d1" != "$d2" ] || fail "the recorded digest is still the first run's"
ukey=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'u'") || fail "query"
assert_eq "$second" "$(cat ".sulcus/cache/$ukey/out/v")" "u's input"
assert_eq 1 "$(sql_value "SELECT count(*) FROM outputs WHERE cache_key = '$key'")" "output rows of t"
