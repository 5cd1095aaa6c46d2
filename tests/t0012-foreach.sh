#!/bin/sh
# t0012-foreach: foreach expands a stage template over the product of its
# lists (first variable slowest); ids without the variable get "_VALUE"
# appended; inputs follow the expansion (inputs = ["x_{v}"]); glob inputs
# (inputs = ["b_*"]) stand for every match.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "fe";
stages = (
  { id = "x_{v}"; kind = "command"; foreach = { v = ["p", "q"]; };
    command = "echo {v} > {out}/v"; },
  { id = "y_{v}"; kind = "command"; foreach = { v = ["p", "q"]; }; inputs = ["x_{v}"];
    command = "cat {in.x_{v}}/v > {out}/v"; },
  { id = "grid"; kind = "command"; foreach = { k = [1, 2]; w = ["a", "b"]; };
    params = { k = "{k}"; }; command = "echo {params.k}{w} > {out}/v"; },
  { id = "b_{n}"; kind = "command"; foreach = { n = [1, 2, 3]; }; command = "echo {n} > {out}/v"; },
  { id = "all"; kind = "command"; inputs = ["b_*"];
    command = "cat {in.b_1}/v {in.b_2}/v {in.b_3}/v > {out}/v"; }
);
EOF
run_ok "$SULCUS" check wf.cfg
assert_contains "$(cat "$OUT")" "valid: 12 stages"

run_ok "$SULCUS" dag wf.cfg
dag=$(cat "$OUT")
for id in x_p x_q y_p y_q grid_1_a grid_1_b grid_2_a grid_2_b b_1 b_2 b_3 all; do
	assert_contains "$dag" "\"$id\" [label=" "dag nodes"
done
assert_not_contains "$dag" '"x_{v}"' "dag nodes"
for edge in '"x_p" -> "y_p"' '"x_q" -> "y_q"' '"b_1" -> "all"' '"b_2" -> "all"' '"b_3" -> "all"'; do
	assert_contains "$dag" "$edge" "dag edges"
done
assert_not_contains "$dag" '"x_p" -> "y_q"' "dag edges"
assert_not_contains "$dag" '"x_q" -> "y_p"' "dag edges"

# The expansion order is the file's, first variable slowest.
run_ok "$SULCUS" plan wf.cfg
ids=$(awk '$1 == "run" { print $2 }' "$OUT" | grep grid | tr '\n' ' ')
assert_eq "grid_1_a grid_1_b grid_2_a grid_2_b " "$ids" "order of grid stages in the plan"
assert_contains "$(cat "$OUT")" "plan: 12 to run, 0 cached (12 stages)"

run_ok "$SULCUS" run -q wf.cfg
for id in x_p y_q grid_2_b all; do
	assert_ran "$id"
done
sql_ok "SELECT params_json FROM executions WHERE stage='grid_2_a'"
assert_eq '"{""k"": 2}"' "$ROWS" "a foreach value keeps its type in a parameter"
key=$(sql "SELECT cache_key FROM executions WHERE stage='y_q'") || fail "query"
assert_eq "q" "$(cat ".sulcus/cache/$key/out/v")" "y_q read x_q"
key=$(sql "SELECT cache_key FROM executions WHERE stage='all'") || fail "query"
assert_eq "1 2 3" "$(tr '\n' ' ' <".sulcus/cache/$key/out/v" | sed 's/ $//')" "all read b_*"
key=$(sql "SELECT cache_key FROM executions WHERE stage='grid_2_b'") || fail "query"
assert_eq "2b" "$(cat ".sulcus/cache/$key/out/v")" "grid_2_b output"

# Loop variable names that are placeholders are reserved.
cat >wf.cfg <<'EOF'
name = "fe";
stages = (
  { id = "x"; kind = "command"; foreach = { out = [1]; }; command = "true"; }
);
EOF
rm -rf .sulcus
run_fail_msg 2 "wf.cfg:3: stage 'x': 'foreach': 'out' is a reserved placeholder name" "$SULCUS" run wf.cfg
assert_no_workspace
