#!/bin/sh
# t5001-slurm-run: stages run as Slurm jobs on a real local cluster give the
# same keys and outputs as the local executor; job ids, nodes, states and the
# requested resources are recorded; a second run submits nothing.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# waits: yes

start_slurm

cat >wf.cfg <<'CFG'
name = "slurm-run";
executor = "slurm";
resources = { cpus = 1; mem = "100M"; time = 10; };
stages = (
  { id = "a"; kind = "command";
    command = "echo hello > {out}/a.txt && printf 'm\t\t1.5\n' > {out}/metrics.tsv"; },
  { id = "b"; kind = "command"; inputs = ["a"];
    command = "cat {in.a}/a.txt > {out}/b.txt && echo b >> {out}/b.txt"; },
  { id = "c"; kind = "command"; inputs = ["a"]; resources = { cpus = 2; mem = "200M"; };
    command = "tr a-z A-Z < {in.a}/a.txt > {out}/c.txt"; },
  { id = "d"; kind = "command"; inputs = ["b", "c"];
    command = "cat {in.b}/b.txt {in.c}/c.txt > {out}/d.txt"; }
);
CFG

run_ok "$SULCUS" run wf.cfg
for s in a b c d; do assert_ran "$s"; done

# One job per stage, recorded with its id, node and final state.
sql_ok "SELECT count(*), count(DISTINCT job_id), min(state), max(state), max(exit_code) FROM jobs WHERE executor = 'slurm'"
assert_eq "4,4,COMPLETED,COMPLETED,0" "$ROWS" "slurm jobs"
node=$(sql_value "SELECT DISTINCT node FROM jobs") || fail "query"
assert_eq "$(hostname -s)" "$node" "node"
res=$(sql_value "SELECT j.resources FROM jobs j JOIN executions e ON e.id = j.execution_id WHERE e.stage = 'c'") || fail "query"
assert_eq '{"cpus": 2, "mem": "200M", "time": "10"}' "$res" "requested resources of c"
jid=$(sql_value "SELECT j.job_id FROM jobs j JOIN executions e ON e.id = j.execution_id WHERE e.stage = 'c'") || fail "query"
scontrol show job -o "$jid" >"$TEST_ROOT/job" || fail "scontrol show job $jid"
assert_file_contains "$TEST_ROOT/job" "NumCPUs=2"
assert_file_contains "$TEST_ROOT/job" "TimeLimit=00:10:00"
assert_file_contains "$TEST_ROOT/job" "mem=200M"
assert_file_contains .sulcus/cache/"$(sql_value "SELECT cache_key FROM executions WHERE stage = 'd'")"/out/d.txt "HELLO"
sql_ok "SELECT value FROM metrics m JOIN executions e USING (cache_key) WHERE e.stage = 'a'"
assert_eq "1.5" "$ROWS" "metric of a"
assert_eq "slurm" "$(sql_value "SELECT executor FROM runs")" "runs.executor"

# The same workflow on the local executor: same keys, same output digests.
run_ok "$SULCUS" run --executor local --workdir "$TEST_ROOT/local" wf.cfg
q="SELECT e.stage, e.cache_key, o.digest FROM executions e JOIN outputs o USING (cache_key) WHERE e.run_id = 1 ORDER BY e.stage"
slurm_rows=$("$SULCUS" query --csv "$q") || fail "query"
local_rows=$("$SULCUS" query --csv --workdir "$TEST_ROOT/local" "$q") || fail "query"
assert_eq "$local_rows" "$slurm_rows" "keys and output digests, slurm vs local"

# Up to date: everything cached, and no job submitted.
before=$(slurm_jobs_submitted)
run_ok "$SULCUS" run wf.cfg
for s in a b c d; do assert_cached "$s"; done
assert_eq "$before" "$(slurm_jobs_submitted)" "jobs submitted by a cached run"
exit 0
