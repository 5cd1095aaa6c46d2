#!/bin/sh
# t0007-validate-cycle: a cycle in the inputs is bad input; the message
# lists the stages on it in data-flow order.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "cycle";
stages = (
  { id = "a"; kind = "command"; inputs = ["b"]; command = "true"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "true"; },
  { id = "c"; kind = "command"; command = "true"; }
);
EOF
run_fail_msg 2 "cycle in stage inputs: a -> b -> a" "$SULCUS" run wf.cfg
assert_file_contains "$ERR" "wf.cfg:3:"
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "cycle";
stages = (
  { id = "start"; kind = "command"; command = "true"; },
  { id = "a"; kind = "command"; inputs = ["start", "c"]; command = "true"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "true"; },
  { id = "c"; kind = "command"; inputs = ["b"]; command = "true"; }
);
EOF
run_fail_msg 2 "cycle in stage inputs: a -> b -> c -> a" "$SULCUS" run wf.cfg
assert_file_lacks "$ERR" "start"
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "cycle";
stages = (
  { id = "self"; kind = "command"; inputs = ["self"]; command = "true"; }
);
EOF
run_fail_msg 2 "wf.cfg:3: cycle in stage inputs: self -> self" "$SULCUS" run wf.cfg
assert_no_workspace
