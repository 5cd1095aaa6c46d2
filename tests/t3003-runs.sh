#!/bin/sh
# t3003-runs: `sulcus runs` lists every run with its status, counts of
# ran/cached/failed/skipped stages and its overrides.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "listing";
stages = (
  { id = "a"; kind = "command"; params = { x = 1; }; command = "echo {params.x} > {out}/v"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "test -e ok && cat {in.a}/v > {out}/v"; },
  { id = "c"; kind = "command"; command = "echo c > {out}/v"; }
);
EOF
run_fail_msg 1 "1 failed" "$SULCUS" run -q wf.cfg
touch ok
run_ok "$SULCUS" run -q wf.cfg
run_ok "$SULCUS" run -q --set a.x=2 wf.cfg

run_ok "$SULCUS" runs --csv
assert_eq "run,started,seconds,status,workflow,ran,cached,failed,skipped,overrides" "$(sed -n 1p "$OUT")" "runs header"
assert_eq "3" "$(sed 1d "$OUT" | wc -l | tr -d ' ')" "rows of 'sulcus runs'"
# run, status, workflow, ran, cached, failed, skipped, overrides
cols=$(sed 1d "$OUT" | cut -d, -f1,4,5,6,7,8,9 | tr '\n' ' ')
assert_eq "1,failed,listing,2,0,1,0 2,succeeded,listing,1,2,0,0 3,succeeded,listing,2,1,0,0 " "$cols" "runs"
assert_eq '"[""a.x=2""]"' "$(sed -n 4p "$OUT" | cut -d, -f10-)" "overrides of run 3"
assert_eq "" "$(sed -n 3p "$OUT" | cut -d, -f10-)" "overrides of run 2"

run_ok "$SULCUS" runs
assert_eq "run" "$(awk 'NR == 1 { print $1 }' "$OUT")" "table header"
assert_eq "1 failed listing" "$(awk 'NR == 3 { print $1, $4, $5 }' "$OUT")" "table row of run 1"
assert_file_contains "$OUT" '["a.x=2"]'

run_ok "$SULCUS" runs --json
assert_file_contains "$OUT" '"run": 3'
assert_file_contains "$OUT" '"status": "succeeded"'
run_fail_msg 2 "runs: unexpected argument 'x'" "$SULCUS" runs x
