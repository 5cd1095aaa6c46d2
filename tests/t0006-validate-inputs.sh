#!/bin/sh
# t0006-validate-inputs: an input that names no stage (with "did you
# mean"), a glob input that matches nothing, an input listed twice.
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
