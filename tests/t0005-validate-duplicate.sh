#!/bin/sh
# t0005-validate-duplicate: two stages with one id: the message names the
# line of each.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "dup";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "command"; command = "true"; },

  { id = "a"; kind = "command"; command = "false"; }
);
EOF
run_fail_msg 2 "wf.cfg:6: duplicate stage id 'a' (first defined at wf.cfg:3)" "$SULCUS" run wf.cfg
assert_no_workspace

# A foreach expansion that yields an id already taken.
cat >wf.cfg <<'EOF'
name = "dup";
stages = (
  { id = "x_2"; kind = "command"; command = "true"; },
  { id = "x_{v}"; kind = "command"; foreach = { v = [1, 2]; }; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:4: duplicate stage id 'x_2' (first defined at wf.cfg:3)" "$SULCUS" run wf.cfg
assert_no_workspace
