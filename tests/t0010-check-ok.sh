#!/bin/sh
# t0010-check-ok: `sulcus check` on a valid workflow says so, exits 0 and
# creates nothing; -q prints nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "fine";
stages = (
  { id = "a"; kind = "command"; command = "echo a > {out}/a"; },
  { id = "b_{n}"; kind = "command"; foreach = { n = [1, 2]; }; inputs = ["a"];
    command = "cat {in.a}/a > {out}/b"; }
);
EOF
run_ok "$SULCUS" check wf.cfg
assert_eq "wf.cfg: workflow 'fine' is valid: 3 stages" "$(cat "$OUT")" "check output"
assert_eq "" "$(cat "$ERR")" "check stderr"
assert_no_workspace

run_ok "$SULCUS" check -q wf.cfg
assert_eq "" "$(cat "$OUT")" "check -q output"
assert_no_workspace

# plan and dag on a valid workflow write nothing either.
run_ok "$SULCUS" plan wf.cfg
run_ok "$SULCUS" dag wf.cfg
assert_no_workspace
[ ! -e a ] || fail "check/plan ran a command"
