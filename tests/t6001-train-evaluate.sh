#!/bin/sh
# t6001-train-evaluate: the Darknet stages on easily separable generated
# slices (tests/mkslices.c): train learns (loss falls, accuracy well above
# chance), evaluate reports per-slice and per-subject metrics and fills the
# predictions table, rank orders two models and hands them on, training is
# deterministic for a seed, transfer learning loads the layers it says, and
# the stock darknet CLI reads our cfg and weights and agrees on the class.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 300

[ -n "${MKSLICES:-}" ] || skip "MKSLICES not set (run through make integration)"
[ -f /usr/lib/darknet/libdarknet.so ] || fail "libdarknet is not installed: make deps installs darknet"
REPO=$(cd "$TESTS_DIR/.." && pwd)

cat >wf.cfg <<CFG
name = "darknet-small";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 5 10 64 1"; },
  { id = "train_{net}"; kind = "train"; foreach = { net = ["gap", "fc"]; }; inputs = ["data"];
    params = { network = "$REPO/cfg/tiny_{net}.cfg"; epochs = 10; batch = 8; learning_rate = 0.01;
               rotate = 5.0; seed = 3; threads = 2; }; },
  { id = "eval_{net}"; kind = "evaluate"; foreach = { net = ["gap", "fc"]; }; inputs = ["train_{net}", "data"]; },
  { id = "rank"; kind = "rank"; inputs = ["eval_*"]; params = { top = 2; }; },
  { id = "ft"; kind = "train"; inputs = ["data", "train_gap"];
    params = { network = "$REPO/cfg/tiny_gap.cfg"; epochs = 1; batch = 8; pretrained_from = "train_gap";
               load_layers = 3; seed = 3; threads = 2; }; }
);
CFG

run_ok "$SULCUS" run wf.cfg
for s in data train_gap train_fc eval_gap eval_fc rank ft; do assert_ran "$s"; done

metric() {  # metric STAGE NAME [STEP]
	sql_value "SELECT value FROM metrics m JOIN latest_executions e USING (cache_key)
	           WHERE e.stage = '$1' AND m.name = '$2' AND m.step IS ${3:-NULL}"
}
above() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a > b) }'; }

# Learning: the loss falls and validation accuracy is far above 1/3.
first=$(metric train_gap train_loss 1) || fail "no train_loss"
last=$(metric train_gap train_loss 10) || fail "no train_loss at epoch 10"
above "$first" "$last" || fail "train_loss did not fall: $first -> $last"
acc=$(metric train_gap best_val_acc) || fail "no best_val_acc"
above "$acc" 0.8 || fail "best_val_acc $acc: the network did not learn separable data"
acc=$(metric eval_gap accuracy) || fail "no test accuracy"
above "$acc" 0.8 || fail "test accuracy $acc"
for m in loss subject_accuracy subject_loss macro_auc f1_A precision_B recall_C auc_A confusion_A_A; do
	v=$(metric eval_gap "$m") || fail "query failed"
	[ -n "$v" ] || fail "evaluate reported no '$m'"
done
# The class counts of the split are reported (3 training subjects x 10 slices per class).
assert_eq "$(metric train_gap train_count_B)" 30.0

# Predictions: one row per test slice (one subject per class, 10 slices each).
assert_eq "$(sql_value "SELECT count(*) FROM predictions p JOIN latest_executions e USING (cache_key) WHERE e.stage = 'eval_gap'")" 30
n=$(sql_value "SELECT count(*) FROM predictions p JOIN latest_executions e USING (cache_key)
               WHERE e.stage = 'eval_gap' AND abs(json_extract(probs, '\$.A') + json_extract(probs, '\$.B') + json_extract(probs, '\$.C') - 1) < 1e-4
               AND correct = (label = predicted)")
assert_eq "$n" 30

# Ranking: both models, ordered by test loss, both handed on.
assert_eq "$(sql_value "SELECT count(*) FROM rankings r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'rank' AND selected = 1")" 2
best=$(sql_value "SELECT model FROM rankings r JOIN latest_executions e USING (cache_key) WHERE e.stage = 'rank' AND position = 1")
l1=$(metric "$best" loss)
for s in eval_gap eval_fc; do
	l=$(metric "$s" loss)
	above "$l1" "$l" && fail "rank put $best (loss $l1) first, but $s has loss $l"
done
rank_dir=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'rank'")
[ -f ".sulcus/cache/$rank_dir/out/top/1/best.weights" ] || fail "rank did not hand on top/1/best.weights"
assert_eq "$(cat ".sulcus/cache/$rank_dir/out/top/1/source")" "$best"

# Transfer learning: the log says what was loaded, and starting from trained
# layers beats starting from scratch in the first epoch.
ft_log=$(sql_value "SELECT log_path FROM latest_executions WHERE stage = 'ft'")
assert_file_contains "$ft_log" "loaded the first 3 layers from"

# The example queries: the models best first, a stage's parameter history.
run_ok "$SULCUS" query --csv -f "$REPO/db/queries/models.sql"
assert_eq "$(sed -n 2p "$OUT" | cut -d, -f1,2)" "$(sql_value "SELECT model || ',1' FROM rankings WHERE position = 1")" "best model"
run_ok "$SULCUS" query --csv -f "$REPO/db/queries/param_history.sql" -p stage=train_gap
assert_eq "$(wc -l <"$OUT")" 2 "param_history rows of train_gap (header and one run)"

# Everything cached on a second run.
run_ok "$SULCUS" run wf.cfg
for s in data train_gap train_fc eval_gap eval_fc rank ft; do assert_cached "$s"; done

# The kinds' tables are the cache's: a table the database lost (or that an
# older schema held; migration 5 drops those) comes back whole from the
# cache entries when a run opens the workspace (engine/tables.h).
npred=$(sql_value "SELECT count(*) FROM predictions")
nrank=$(sql_value "SELECT count(*) FROM rankings")
[ "$npred" -gt 0 ] && [ "$nrank" -gt 0 ] || fail "no predictions ($npred) or rankings ($nrank)"
sqlite3 .sulcus/sulcus.db "DROP TABLE predictions; DELETE FROM kind_tables WHERE name = 'predictions';
	UPDATE kind_tables SET sql = 'changed' WHERE name = 'rankings';"
run_ok "$SULCUS" run wf.cfg
assert_eq "$npred" "$(sql_value "SELECT count(*) FROM predictions")" "predictions after the rebuild"
assert_eq "$nrank" "$(sql_value "SELECT count(*) FROM rankings")" "rankings after the rebuild"

# Deterministic for a seed: a forced retrain gives the same weights.
key=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'train_gap'")
sum1=$(sha256sum ".sulcus/cache/$key/out/last.weights" | cut -d' ' -f1)
run_ok "$SULCUS" run --force train_gap --only train_gap wf.cfg
assert_ran train_gap
sum2=$(sha256sum ".sulcus/cache/$key/out/last.weights" | cut -d' ' -f1)
assert_eq "$sum2" "$sum1"

# The stock darknet CLI reads our cfg and weights and predicts the same class.
if command -v darknet >/dev/null; then
	model=.sulcus/cache/$key/out
	data_key=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'data'")
	printf 'A\nB\nC\n' >labels.txt
	printf 'classes=3\nnames=labels.txt\ntop=3\n' >cli.data
	for img in A/sub-A04_z002.png B/sub-B04_z000.png C/sub-C04_z005.png; do
		cli=$(darknet classifier predict cli.data "$model/model.cfg" "$model/best.weights" ".sulcus/cache/$data_key/out/$img" 2>/dev/null | head -1 | sed 's/.*: //')
		eval_key=$(sql_value "SELECT cache_key FROM latest_executions WHERE stage = 'eval_gap'")
		ours=$(awk -F'\t' -v p="${img%.png}" 'NR > 1 && index(p, $1 "_z") && substr(p, length(p) - 2) + 0 == $2 { print $5 }' \
			".sulcus/cache/$eval_key/out/predictions.tsv")
		[ -n "$ours" ] || fail "no prediction of ours for $img"
		assert_eq "$cli" "$ours"
	done
fi
exit 0
