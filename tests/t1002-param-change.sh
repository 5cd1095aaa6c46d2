#!/bin/sh
# t1002-param-change: changing a parameter reruns that stage and its
# descendants; siblings and their descendants stay cached.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

write_wf() {
	cat >wf.cfg <<EOF
name = "params";
stages = (
  { id = "a"; kind = "command"; params = { x = $1; }; command = "echo x >> count.a; echo {params.x} > {out}/v"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "echo x >> count.b; cat {in.a}/v > {out}/v"; },
  { id = "c"; kind = "command"; params = { y = 1; }; command = "echo x >> count.c; echo {params.y} > {out}/v"; },
  { id = "d"; kind = "command"; inputs = ["c"]; command = "echo x >> count.d; cat {in.c}/v > {out}/v"; }
);
EOF
}

write_wf 1
run_ok "$SULCUS" run -q wf.cfg
for id in a b c d; do
	assert_ran $id
done

write_wf 2
run_ok "$SULCUS" run wf.cfg
assert_ran a
assert_ran b
assert_cached c
assert_cached d
assert_count count.a 2
assert_count count.b 2
assert_count count.c 1
assert_count count.d 1
reason=$(stage_reason a) || fail "query"
assert_eq "params changed: x 1 -> 2" "$reason" "reason of a"
reason=$(stage_reason b) || fail "query"
assert_eq "input changed: a" "$reason" "reason of b"
key=$(sql "SELECT cache_key FROM executions WHERE run_id=2 AND stage='b'") || fail "query"
assert_eq 2 "$(cat ".sulcus/cache/$key/out/v")" "b's output after the change"

# Back to the old value: both entries are still in the cache.
write_wf 1
run_ok "$SULCUS" run wf.cfg
for id in a b c d; do
	assert_cached $id
done
assert_count count.a 2
