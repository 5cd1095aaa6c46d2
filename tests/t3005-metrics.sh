#!/bin/sh
# t3005-metrics: metrics.tsv lands in the metrics table keyed by cache key,
# so a cached stage's metrics are found through its execution's key; a
# malformed metrics.tsv, or a table file its kind does not declare, fails
# the stage, naming the file and line.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "metrics";
stages = (
  { id = "train"; kind = "command";
    command = "printf 'loss\\t1\\t0.5\\nloss\\t2\\t0.25\\nacc\\t\\t0.75\\n' > {out}/metrics.tsv"; }
);
EOF
run_ok "$SULCUS" run -q wf.cfg
run_ok "$SULCUS" run -q wf.cfg
assert_cached train

q="SELECT e.run_id, m.name, m.step, m.value FROM executions e JOIN metrics m ON m.cache_key = e.cache_key
   WHERE e.stage = 'train' ORDER BY e.run_id, m.name, m.step"
sql_ok "$q"
assert_eq "1,acc,,0.75
1,loss,1,0.5
1,loss,2,0.25
2,acc,,0.75
2,loss,1,0.5
2,loss,2,0.25" "$ROWS" "metrics of both runs"
sql_ok "SELECT count(*) FROM metrics"
assert_eq 3 "$ROWS" "metric rows (one set per cache entry)"
sql_ok "SELECT typeof(step) FROM metrics WHERE name='acc'"
assert_eq null "$ROWS" "step of a single value"

# A malformed second line, and the message that names it.
for case in "loss 2 0.25|metrics.tsv:2: expected NAME<TAB>STEP<TAB>VALUE (STEP may be empty), got 'loss 2 0.25'" \
	"loss\\tx\\t0.5|metrics.tsv:2: step: expected an integer, got 'x'" \
	"loss\\t1\\tlots|metrics.tsv:2: value: expected a finite number, got 'lots'" \
	"loss\\t1\\tinf|metrics.tsv:2: value: expected a finite number, got 'inf'" \
	"loss\\t1\\tnan|metrics.tsv:2: value: expected a finite number, got 'nan'" \
	"\\t1\\t0.5|metrics.tsv:2: expected NAME<TAB>STEP<TAB>VALUE"; do
	bad=${case%%|*}
	msg=${case#*|}
	rm -rf .sulcus
	cat >bad.cfg <<EOF
name = "metrics";
stages = (
  { id = "train"; kind = "command"; command = "printf 'ok\\\\t1\\\\t1\\\\n$bad\\\\n' > {out}/metrics.tsv"; },
  { id = "user"; kind = "command"; inputs = ["train"]; command = "true"; }
);
EOF
	run_fail_msg 1 "$msg" "$SULCUS" run bad.cfg
	assert_file_contains "$ERR" "FAILED   train"
	assert_status train failed
	assert_status user skipped
	reason=$(stage_reason train) || fail "query"
	assert_contains "$reason" "$msg" "reason of train ($bad)"
	assert_eq 0 "$(cache_entries)" "cache entries after a malformed metrics.tsv ($bad)"
	sql_ok "SELECT count(*) FROM metrics"
	assert_eq 0 "$ROWS" "metric rows after a malformed metrics.tsv ($bad)"
done

# Table rows go the same way: a tables/NAME.tsv that its kind does not
# declare fails the stage, before anything is published (the command kind
# declares no table).
rm -rf .sulcus
cat >tables.cfg <<'EOF2'
name = "tables";
stages = (
  { id = "rows"; kind = "command"; command = "mkdir {out}/tables && printf 'x\\n1\\n' > {out}/tables/foo.tsv"; }
);
EOF2
run_fail_msg 1 "tables/foo.tsv: kind 'command' declares no table 'foo' (it declares: none)" "$SULCUS" run tables.cfg
assert_status rows failed
assert_eq 0 "$(cache_entries)" "cache entries after an undeclared table"
