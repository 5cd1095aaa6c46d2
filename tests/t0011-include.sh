#!/bin/sh
# t0011-include: @include of a shared params file resolves relative to the
# workflow's folder (not the current one), and its values reach commands;
# an error inside the included file names that file.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

mkdir -p project/conf elsewhere
cat >project/shared.cfg <<'EOF'
params = { lr = 0.25; epochs = 4; };
EOF
cat >project/wf.cfg <<'EOF'
name = "inc";
@include "shared.cfg"
stages = (
  { id = "train"; kind = "command"; params = { e = "{params.epochs}"; };
    command = "echo {params.lr} {params.e} > {out}/v"; }
);
EOF
# A decoy next to the current folder must not be the one read.
printf 'params = { lr = 9.0; epochs = 9; };\n' >shared.cfg

run_ok "$SULCUS" check project/wf.cfg
run_ok "$SULCUS" run -q project/wf.cfg
assert_eq "0.25 4" "$(cat .sulcus/cache/*/out/v)" "output using included params"
sql_ok "SELECT params_json FROM executions WHERE stage='train'"
assert_eq '"{""e"": 4, ""lr"": 0.25}"' "$ROWS" "recorded params"

# From yet another folder, with --workdir.
(cd elsewhere && run_ok "$SULCUS" plan --workdir ../.sulcus ../project/wf.cfg) || exit 1

# An include that is not there.
cat >project/wf2.cfg <<'EOF'
name = "inc";
@include "nothere.cfg"
stages = ();
EOF
run_fail_msg 2 "project/wf2.cfg:2:" "$SULCUS" check project/wf2.cfg

# An error inside the included file names it.
cat >project/conf/stages.cfg <<'EOF'
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "comand"; command = "true"; }
);
EOF
cat >project/wf3.cfg <<'EOF'
name = "inc";
@include "conf/stages.cfg"
EOF
run_fail_msg 2 "stages.cfg:3: stage 'b': unknown kind 'comand' (did you mean 'command'?)" \
	"$SULCUS" check project/wf3.cfg

# The missing include, by name, where it was looked for, and why.
run_fail_msg 2 "project/wf2.cfg:2: cannot open include file 'nothere.cfg' (read as '$TEST_DIR/project/nothere.cfg': No such file or directory)" \
	"$SULCUS" check project/wf2.cfg

# An absolute @include (libconfig 1.5 would put the workflow's folder in front of it).
cat >project/wf4.cfg <<EOF
name = "inc";
@include "$TEST_DIR/project/shared.cfg"
stages = (
  { id = "train"; kind = "command"; command = "echo {params.lr} > {out}/v"; }
);
EOF
run_ok "$SULCUS" check project/wf4.cfg
(cd elsewhere && run_ok "$SULCUS" plan --workdir ../.sulcus ../project/wf4.cfg) || exit 1

# Nesting deeper than libconfig's parser goes: not "memory exhausted".
awk 'BEGIN { printf "name = \"deep\";\nstages = ();\nx = "; for (i = 0; i < 20000; i++) printf "("; print "" }' \
	>project/deep.cfg
run_fail_msg 2 "project/deep.cfg:3: groups, lists and arrays nested too deeply for libconfig" \
	"$SULCUS" check project/deep.cfg
