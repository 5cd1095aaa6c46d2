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

# check also looks for what the run will read: a stage's files and its
# path parameters (the run itself fails only that stage, t1007).
cat >paths.cfg <<'EOF2'
name = "paths";
stages = (
  { id = "f"; kind = "command"; files = ["data.txt"]; command = "cat data.txt > {out}/v"; },
  { id = "in"; kind = "ingest";
    params = { bids = "no_bids"; }; }
);
EOF2
run_fail_msg 2 "paths.cfg:3: stage 'f': files: no file or folder 'data.txt' in $TEST_DIR" "$SULCUS" check paths.cfg
echo 1 >data.txt
run_fail_msg 2 "paths.cfg:5: stage 'in': parameter 'bids': no file or folder 'no_bids' in $TEST_DIR" \
	"$SULCUS" check paths.cfg
mkdir no_bids
run_ok "$SULCUS" check paths.cfg
assert_no_workspace

# The workflows that ship (the files with a stage list; the others are
# parameters and stage lists they include) are valid as they are.
REPO=$(cd "$TESTS_DIR/.." && pwd)
n=0
for f in "$REPO"/workflows/*.cfg; do
	grep -q '^stages = (' "$f" || continue
	run_ok "$SULCUS" check "$f"
	n=$((n + 1))
done
[ "$n" -ge 4 ] || fail "only $n workflows found in $REPO/workflows"
run_ok "$SULCUS" check "$REPO/workflows/ms_study_cv.cfg"
assert_contains "$(cat "$OUT")" "workflow 'ms_study_cv' is valid: 198 stages"
