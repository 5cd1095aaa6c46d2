#!/bin/sh
# t6007-crossval: subject-level k-fold cross-validation as a workflow
# pattern (split with folds, foreach over folds and seeds), the crossval
# stage's pooled figures, intervals and P(best), rank on the aggregate,
# and the errors that keep the design honest: folds that overlap, a
# missing fold, ids the pattern does not name.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 300

[ -n "${MKSLICES:-}" ] || skip "MKSLICES not set (run through make integration)"
[ -f /usr/lib/darknet/libdarknet.so ] || fail "libdarknet is not installed: make deps installs darknet"
REPO=$(cd "$TESTS_DIR/.." && pwd)

# 5 subjects per class, 4 slices each; 3 folds x 2 rounds x 2 networks.
cat >wf.cfg <<CFG
name = "cv-small";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 5 4 32 1"; },
  { id = "split_f{fold}_s{seed}"; kind = "split"; foreach = { fold = [1, 2, 3]; seed = [1, 2]; }; inputs = ["data"];
    params = { table = "split.tsv"; folds = 3; fold = "{fold}"; seed = "{seed}"; }; },
  { id = "train_{net}_f{fold}_s{seed}"; kind = "train";
    foreach = { net = ["tiny_gap", "tiny_fc"]; fold = [1, 2, 3]; seed = [1, 2]; };
    inputs = ["split_f{fold}_s{seed}", "data"];
    params = { network = "$REPO/cfg/{net}.cfg"; size = 32; epochs = 3; batch = 8; seed = "{seed}"; threads = 1; }; },
  { id = "eval_{net}_f{fold}_s{seed}"; kind = "evaluate"; foreach = { net = ["tiny_gap", "tiny_fc"]; fold = [1, 2, 3]; seed = [1, 2]; };
    inputs = ["train_{net}_f{fold}_s{seed}", "split_f{fold}_s{seed}", "data"]; params = { threads = 1; }; },
  { id = "crossval"; kind = "crossval"; inputs = ["eval_*_f*_s*"]; params = { bootstrap = 500; }; },
  { id = "eval_{net}"; kind = "evaluate"; foreach = { net = ["tiny_gap", "tiny_fc"]; };
    inputs = ["train_{net}_f1_s1", "data"]; params = { threads = 1; }; },
  { id = "rank_cv"; kind = "rank"; inputs = ["eval_tiny_gap", "eval_tiny_fc", "crossval"]; params = { top = 1; }; }
);
CFG

run_ok "$SULCUS" run wf.cfg
assert_ran crossval
assert_ran rank_cv
cv() { sql_value "SELECT $1 FROM cv_models c JOIN latest_executions e USING (cache_key) WHERE e.stage = 'crossval' ${2:+AND $2}"; }

# Two models, each over 2 rounds of 3 folds and all 15 subjects.
assert_eq 2 "$(cv 'count(*)')" "models"
assert_eq "2|3|15" "$(sql_value "SELECT DISTINCT rounds || '|' || folds || '|' || subjects FROM cv_models c JOIN latest_executions e USING (cache_key) WHERE e.stage = 'crossval'")" "rounds, folds, subjects"
# P(best) adds up to 1; every interval holds its figure; positions by loss.
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }
p=$(cv 'sum(p_best)')
above "$p" 0.999 && above 1.001 "$p" || fail "P(best) sums to $p"
assert_eq 0 "$(cv 'count(*)' "NOT (accuracy_lo <= accuracy AND accuracy <= accuracy_hi AND loss_lo <= loss AND loss <= loss_hi AND subject_accuracy_lo <= subject_accuracy AND subject_accuracy <= subject_accuracy_hi)")" "figures outside their intervals"
assert_eq "$(cv 'model' 'position = 1')" "$(cv 'model' 'loss = (SELECT min(loss) FROM cv_models c2 WHERE c2.cache_key = c.cache_key)')" "the best by loss"
assert_eq 4 "$(sql_value "SELECT count(*) FROM cv_rounds r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'crossval'")" "rounds"
assert_eq 1 "$(sql_value "SELECT count(*) FROM cv_comparisons r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'crossval' AND ci_lo <= difference AND difference <= ci_hi")" "comparison of the two"

# The pooled figure is the mean of the rounds' ...
m=$(cv 'model' 'position = 1')
r=$(sql_value "SELECT avg(subject_accuracy) FROM cv_rounds r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'crossval' AND model = '$m'")
awk -v a="$(cv 'subject_accuracy' "model = '$m'")" -v b="$r" 'BEGIN { d = a - b; exit !(d < 1e-5 && d > -1e-5) }' ||
	fail "subject accuracy $(cv 'subject_accuracy' "model = '$m'") is not the mean of the rounds' ($r)"
# ... and a round's slice accuracy is that of its three folds' predictions pooled.
n=0; right=0
for f in 1 2 3; do
	key=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'eval_${m}_f${f}_s1'")
	n=$((n + $(awk 'NR > 1' ".sulcus/cache/$key/out/predictions.tsv" | wc -l)))
	right=$((right + $(awk -F '\t' 'NR > 1 && $6 == 1' ".sulcus/cache/$key/out/predictions.tsv" | wc -l)))
done
assert_eq 60 "$n" "slices predicted in round 1 (15 subjects x 4)"
assert_eq "$(awk -v a="$right" -v b="$n" 'BEGIN { printf "%.6f", a / b }')" \
	"$(sql_value "SELECT printf('%.6f', accuracy) FROM cv_rounds r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'crossval' AND model = '$m' AND round = 1")" "pooled slice accuracy of round 1"

# rank on the aggregate: the cross-validated order, not the single split's.
assert_eq "eval_$m" "$(sql_value "SELECT model FROM rankings r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'rank_cv' AND position = 1")" "rank_cv's best"
assert_contains "$(sql_value "SELECT metric FROM rankings r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'rank_cv' AND position = 1")" "(cross-validated)"

# The study report shows both models with their intervals, and the test of
# the leader against the other.
run_ok "$SULCUS" report --spec "$REPO/workflows/report.cfg" --out rep
for net in tiny_gap tiny_fc; do
	assert_file_contains rep/index.html "<td>crossval</td><td>$net</td>"
done
assert_file_contains rep/index.html "<td>crossval</td><td>$m</td><td>"

# Folds of two different seeds in one round test subjects twice: refused.
run_fail_msg 1 "the folds overlap" "$SULCUS" run --set split_f2_s1.seed=9 --only crossval wf.cfg
run_fail_msg 1 "does not match parameter 'pattern'" "$SULCUS" run --set 'crossval.pattern=ev_{model}_f{fold}_s{seed}' --only crossval wf.cfg
run_fail_msg 2 "parameter 'pattern': expected {model} and {fold} once each" "$SULCUS" check --set 'crossval.pattern=eval_{model}' wf.cfg
exit 0
