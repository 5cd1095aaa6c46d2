#!/bin/sh
# t1004-early-cutoff: keys hash the inputs' output digests, so a stage that
# reruns with an identical output leaves its users cached.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

write_wf() {
	cat >wf.cfg <<EOF
name = "cutoff";
stages = (
  { id = "a"; kind = "command"; params = { note = "$1"; value = $2; };
    command = "echo x >> count.a; echo {params.value} > {out}/v # {params.note}"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "echo x >> count.b; cat {in.a}/v > {out}/v"; },
  { id = "c"; kind = "command"; inputs = ["b"]; command = "echo x >> count.c; cat {in.b}/v > {out}/v"; }
);
EOF
}

write_wf first 1
run_ok "$SULCUS" run -q wf.cfg

write_wf second 1
run_ok "$SULCUS" plan wf.cfg
assert_file_contains "$OUT" "input will rerun: a"
run_ok "$SULCUS" run wf.cfg
assert_ran a
assert_cached b
assert_cached c
assert_count count.a 2
assert_count count.b 1
assert_count count.c 1
reason=$(stage_reason a) || fail "query"
assert_eq 'params changed: note "first" -> "second"' "$reason" "reason of a"

# A change of a's output does reach b and c.
write_wf second 2
run_ok "$SULCUS" run wf.cfg
assert_ran a
assert_ran b
assert_ran c
reason=$(stage_reason b) || fail "query"
assert_eq "input changed: a" "$reason" "reason of b"

# Timings (timings.tsv) are outside the output's digest: a forced rerun that
# computes the same result in another time keeps its users cached, and its
# new timing reaches the metrics table.
cat >wf2.cfg <<'EOF'
name = "timings";
stages = (
  { id = "t"; kind = "command";
    command = "echo x >> count.t; echo 42 > {out}/v; printf 'seconds\t\t%s\n' $(cat count.t | wc -l) > {out}/timings.tsv"; },
  { id = "u"; kind = "command"; inputs = ["t"]; command = "echo x >> count.u; cat {in.t}/v > {out}/v"; }
);
EOF
run_ok "$SULCUS" run wf2.cfg
assert_eq 1 "$(sql_value "SELECT CAST(value AS INTEGER) FROM metrics m JOIN latest_executions e USING (cache_key)
	WHERE e.stage = 't' AND m.name = 'seconds'")" "first timing"
run_ok "$SULCUS" run --force t wf2.cfg
assert_ran t
assert_cached u
assert_count count.u 1
assert_eq 2 "$(sql_value "SELECT CAST(value AS INTEGER) FROM metrics m JOIN latest_executions e USING (cache_key)
	WHERE e.stage = 't' AND m.name = 'seconds'")" "the forced rerun's timing"
# A malformed timings.tsv fails its stage, naming the file and line.
sed -i 's/printf .seconds.t.t%s.n. \$(cat count.t | wc -l)/echo soon/' wf2.cfg
run_fail_msg 1 "timings.tsv:1: expected NAME<TAB>STEP<TAB>VALUE" "$SULCUS" run wf2.cfg
