#!/bin/sh
# t3008-diff: `sulcus diff` compares two runs stage by stage (parameters,
# inputs whose outputs changed, final metrics side by side, stages only one
# run has), and `sulcus runs -m STAGE:METRIC` is an experiments table, one
# column per metric, sortable.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF2'
name = "diff";
stages = (
  { id = "fit"; kind = "command"; params = { x = 1; lr = 0.5; };
    command = "printf 'loss\\t1\\t0.9\\nloss\\t2\\t{params.x}\\nacc\\t\\t0.5\\n' > {out}/metrics.tsv"; },
  { id = "use"; kind = "command"; inputs = ["fit"]; command = "cp {in.fit}/metrics.tsv {out}/"; }
);
EOF2
run_fail_msg 2 "no database" "$SULCUS" diff
run_ok "$SULCUS" run -q wf.cfg
run_fail_msg 2 "diff: the database holds fewer than two runs" "$SULCUS" diff
sed -i 's/lr = 0.5;/lr = 0.5; seed = 7;/' wf.cfg
run_ok "$SULCUS" run -q --set fit.x=3 wf.cfg

# The last two runs by default; a metric's final value is its last step.
run_ok "$SULCUS" diff --csv
assert_eq "stage,what,name,run_a,run_b,change
fit,param,seed,-,7,added
fit,param,x,1,3,+2
fit,metric,acc,0.5,0.5,=
fit,metric,loss,1.0,3.0,+2
use,input,fit,$(sql_value "SELECT substr(json_extract(inputs_json, '\$.fit'), 1, 12) FROM executions WHERE run_id = 1 AND stage = 'use'"),$(sql_value "SELECT substr(json_extract(inputs_json, '\$.fit'), 1, 12) FROM executions WHERE run_id = 2 AND stage = 'use'"),output changed
use,metric,acc,0.5,0.5,=
use,metric,loss,1.0,3.0,+2" "$(cat "$OUT")" "diff of runs 1 and 2"

# --stage, explicit runs, and a stage only one run has.
sed -i 's/^);$/  , { id = "new"; kind = "command"; command = "true"; }\n);/' wf.cfg
sed -i 's/"cp {in.fit}\/metrics.tsv {out}\/"; },$/"cp {in.fit}\/metrics.tsv {out}\/"; }/' wf.cfg
run_ok "$SULCUS" run -q wf.cfg
run_ok "$SULCUS" diff --csv --stage 'n*' 1 3
assert_eq "stage,what,name,run_a,run_b,change
new,stage,,-,ran,only in run b" "$(cat "$OUT")" "a stage only in run b"
run_ok "$SULCUS" diff --csv --stage fit 2
assert_file_contains "$OUT" "fit,param,x,3,1,-2"  # run 3 has no --set
run_ok "$SULCUS" diff --csv --stage fit 2 1
assert_file_contains "$OUT" "fit,param,seed,7,-,removed"
run_fail_msg 2 "diff: no run 9" "$SULCUS" diff 9 1
run_fail_msg 2 "diff: expected a run id, got 'x'" "$SULCUS" diff x

# The experiments table: a column per metric, sorted by one of them.
run_ok "$SULCUS" runs --csv -m fit:loss -m fit:acc --sort=-fit:loss
assert_eq "3.0 1.0 1.0" "$(awk -F, 'NR > 1 { printf "%s%s", sep, $(NF - 1); sep = " " }' "$OUT")" "fit:loss, descending"
assert_eq "run" "$(head -1 "$OUT" | cut -d, -f1)" "first column"
assert_eq "fit:acc" "$(head -1 "$OUT" | awk -F, '{ print $NF }')" "last column"
run_fail_msg 2 "runs: --sort 'nope': expected run or one of the --metric columns" "$SULCUS" runs --sort nope
run_fail_msg 2 "--metric: expected STAGE:NAME, got 'loss'" "$SULCUS" runs -m loss
