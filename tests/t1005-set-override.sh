#!/bin/sh
# t1005-set-override: --set ID.NAME=VALUE and --set params.NAME=VALUE
# change what runs like an edit of the file would, and are recorded in
# runs.overrides.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "set";
params = { g = 1; };
stages = (
  { id = "a"; kind = "command"; params = { x = 1; }; command = "echo x >> count.a; echo {params.x} > {out}/v"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "echo x >> count.b; cat {in.a}/v > {out}/v"; },
  { id = "g"; kind = "command"; command = "echo x >> count.g; echo {params.g} > {out}/v"; },
  { id = "r"; kind = "command"; params = { k = "{params.g}"; }; command = "echo {params.k} > {out}/v"; },
  { id = "h_{n}"; kind = "command"; foreach = { n = [1, 2]; }; params = { y = 0; };
    command = "echo {n}{params.y} > {out}/v"; }
);
EOF
run_ok "$SULCUS" run -q wf.cfg
sql_ok "SELECT overrides FROM runs WHERE id=1"
assert_eq "[]" "$ROWS" "overrides of a run without --set"

run_ok "$SULCUS" run --set a.x=2 wf.cfg
assert_ran a
assert_ran b
assert_cached g
assert_cached h_1
reason=$(stage_reason a) || fail "query"
assert_eq "params changed: x 1 -> 2" "$reason" "reason of a"
sql_ok "SELECT overrides FROM runs WHERE id=(SELECT max(id) FROM runs)"
assert_eq '"[""a.x=2""]"' "$ROWS" "runs.overrides"
sql_ok "SELECT json_extract(overrides, '\$[0]') FROM runs WHERE id=(SELECT max(id) FROM runs)"
assert_eq "a.x=2" "$ROWS" "runs.overrides[0]"
sql_ok "SELECT params_json FROM executions WHERE run_id=(SELECT max(id) FROM runs) AND stage='a'"
assert_eq '"{""x"": 2}"' "$ROWS" "recorded params of a"
key=$(sql "SELECT cache_key FROM executions WHERE run_id=(SELECT max(id) FROM runs) AND stage='b'") || fail "query"
assert_eq 2 "$(cat ".sulcus/cache/$key/out/v")" "b's output"

# The same override again: all cached.  Without it: the old entries.
run_ok "$SULCUS" run --set a.x=2 wf.cfg
assert_cached a
assert_cached b
run_ok "$SULCUS" run wf.cfg
assert_cached a
assert_cached b
assert_count count.a 2

# A workflow parameter: only the stage that uses it reruns.
run_ok "$SULCUS" run --set params.g=5 wf.cfg
assert_ran g
assert_cached a
assert_cached b
reason=$(stage_reason g) || fail "query"
assert_eq "params changed: g 1 -> 5" "$reason" "reason of g"
key=$(sql "SELECT cache_key FROM executions WHERE run_id=(SELECT max(id) FROM runs) AND stage='g'") || fail "query"
assert_eq 5 "$(cat ".sulcus/cache/$key/out/v")" "g's output"
# A stage parameter that refers to it takes the overridden value too.
assert_ran r
key=$(sql "SELECT cache_key FROM executions WHERE run_id=(SELECT max(id) FROM runs) AND stage='r'") || fail "query"
assert_eq 5 "$(cat ".sulcus/cache/$key/out/v")" "r's output (k = \"{params.g}\")"
sql_ok "SELECT overrides FROM runs WHERE id=(SELECT max(id) FROM runs)"
assert_eq '"[""params.g=5""]"' "$ROWS" "runs.overrides"

# A glob target sets every match; several --set are recorded in order.
run_ok "$SULCUS" run --set 'h_*.y=7' --set a.x=3 wf.cfg
assert_ran h_1
assert_ran h_2
assert_ran a
assert_cached g
key=$(sql "SELECT cache_key FROM executions WHERE run_id=(SELECT max(id) FROM runs) AND stage='h_2'") || fail "query"
assert_eq 27 "$(cat ".sulcus/cache/$key/out/v")" "h_2's output"
sql_ok "SELECT overrides FROM runs WHERE id=(SELECT max(id) FROM runs)"
assert_eq '"[""h_*.y=7"", ""a.x=3""]"' "$ROWS" "runs.overrides"
