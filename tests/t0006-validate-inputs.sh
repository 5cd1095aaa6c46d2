#!/bin/sh
# t0006-validate-inputs: an input that names no stage (with "did you
# mean"), a glob input that matches nothing, an input listed twice; the
# input count a kind declares; a kind's own check, located by the engine
# at the stage or at the parameter it names.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "inputs";
stages = (
  { id = "prepare"; kind = "command"; command = "true"; },
  { id = "train"; kind = "command"; inputs = ["prepair"]; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'train': input 'prepair' names no stage (did you mean 'prepare'?)" \
	"$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "inputs";
stages = (
  { id = "prepare"; kind = "command"; command = "true"; },
  { id = "train"; kind = "command"; inputs = ["zzz"]; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'train': input 'zzz' names no stage" "$SULCUS" run wf.cfg
assert_file_lacks "$ERR" "did you mean"
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "inputs";
stages = (
  { id = "prepare"; kind = "command"; command = "true"; },
  { id = "train"; kind = "command"; inputs = ["fold_*"]; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'train': input 'fold_*' matches no stage" "$SULCUS" run wf.cfg
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "inputs";
stages = (
  { id = "prepare"; kind = "command"; command = "true"; },
  { id = "train"; kind = "command"; inputs = ["prepare", "prepare"]; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'train': input 'prepare' is listed twice" "$SULCUS" run wf.cfg
assert_no_workspace

# A kind declares how many inputs it takes (engine/kind.h, sul_input_spec):
# the engine refuses other counts, at the stage's line.
cat >wf.cfg <<'EOF'
name = "inputs";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "command"; command = "true"; },
  { id = "split"; kind = "split";
    inputs = ["a", "b"]; }
);
EOF
run_fail_msg 2 "wf.cfg:5: stage 'split': expected exactly one input (the table's stage), got 2" "$SULCUS" check wf.cfg
sed -i 's/inputs = \["a", "b"\]; //' wf.cfg
run_fail_msg 2 "wf.cfg:5: stage 'split': expected exactly one input (the table's stage), got 0" "$SULCUS" check wf.cfg
# A kind's own check: the location is the engine's, of the parameter named.
cat >wf.cfg <<'EOF'
name = "inputs";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "split"; kind = "split"; inputs = ["a"];
    params = { train = 0.5;
               val = 0.1; }; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'split': parameters 'train', 'val', 'test': expected fractions that sum to 1, got 0.75" \
	"$SULCUS" check wf.cfg
cat >wf.cfg <<'EOF'
name = "inputs";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "slices"; kind = "slices"; inputs = ["a"];
    params = {
      channels = "T1w,,FLAIR"; }; }
);
EOF
run_fail_msg 2 "wf.cfg:6: stage 'slices': parameter 'channels': expected three comma-separated column names" \
	"$SULCUS" check wf.cfg

# The kinds of its inputs, where a kind declares them: rank orders
# evaluate stages, nothing else.
cat >wf.cfg <<'EOF2'
name = "inputs";
stages = (
  { id = "metrics"; kind = "command"; command = "true"; },
  { id = "rank"; kind = "rank"; inputs = ["metrics"]; }
);
EOF2
run_fail_msg 2 "wf.cfg:4: stage 'rank': input 'metrics' is a command stage: expected one or more inputs (evaluate stages, and optionally one crossval stage)" \
	"$SULCUS" check wf.cfg
