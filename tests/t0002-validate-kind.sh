#!/bin/sh
# t0002-validate-kind: an unknown stage kind is bad input, with a "did you
# mean" for a near miss and none for a name far from every kind.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "kinds";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "comand"; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: stage 'b': unknown kind 'comand' (did you mean 'command'?)" "$SULCUS" run wf.cfg
assert_file_contains "$ERR" "sulcus kinds"
assert_no_workspace
run_fail_msg 2 "unknown kind 'comand'" "$SULCUS" check wf.cfg

cat >wf.cfg <<'EOF'
name = "kinds";
stages = (
  { id = "a"; kind = "xyzzyplugh"; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:3: stage 'a': unknown kind 'xyzzyplugh'" "$SULCUS" run wf.cfg
assert_file_lacks "$ERR" "did you mean"
assert_no_workspace

# A kind must be given, as a string.
cat >wf.cfg <<'EOF'
name = "kinds";
stages = (
  { id = "a"; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:3: stage 'a': missing 'kind'" "$SULCUS" run wf.cfg
assert_no_workspace
