#!/bin/sh
# t1008-empty-output: a stage that writes nothing publishes an empty entry
# and is cached next time; an empty folder listed in files is a valid
# input whose later contents change the key.  (Empty folders are where
# hashing sees zero entries: this pins that edge under `make asan`.)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

mkdir emptydir
cat >wf.cfg <<'EOF'
name = "empty";
stages = (
  { id = "nothing"; kind = "command"; command = "echo x >> count.nothing"; },
  { id = "user"; kind = "command"; inputs = ["nothing"]; command = "ls -A {in.nothing} > {out}/listing"; },
  { id = "dir"; kind = "command"; files = ["emptydir"]; command = "echo x >> count.dir; ls -A emptydir > {out}/listing"; }
);
EOF
run_ok "$SULCUS" run wf.cfg
assert_ran nothing
assert_ran user
assert_ran dir
key=$(sql_value "SELECT cache_key FROM executions WHERE stage='nothing'") || fail "query"
[ -d ".sulcus/cache/$key/out" ] || fail "no published (empty) output folder for 'nothing'"
assert_eq "" "$(ls -A ".sulcus/cache/$key/out")" "output of 'nothing'"
sql_ok "SELECT files || ' ' || bytes FROM outputs WHERE cache_key='$key'"
assert_eq "0 0" "$ROWS" "outputs row of an empty entry"

run_ok "$SULCUS" run wf.cfg
assert_cached nothing
assert_cached user
assert_cached dir
assert_count count.nothing 1

echo data >emptydir/f
run_ok "$SULCUS" run wf.cfg
assert_ran dir
assert_cached nothing
assert_count count.dir 2
