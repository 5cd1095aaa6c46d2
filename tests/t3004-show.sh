#!/bin/sh
# t3004-show: `sulcus show STAGE` prints a stage's latest provenance:
# params, cache key, output folder, artifacts (by folder when there are
# many), metrics and its log's last lines (--log: all); a name close to a
# recorded stage gets "did you mean".
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "show";
stages = (
  { id = "train"; kind = "command"; params = { lr = 0.5; epochs = 2; };
    command = "printf 'loss\\t1\\t0.5\\nloss\\t2\\t0.25\\n' > {out}/metrics.tsv; echo model > {out}/model.bin"; },
  { id = "eval"; kind = "command"; inputs = ["train"]; command = "cat {in.train}/model.bin > {out}/r"; }
);
EOF
run_ok "$SULCUS" run -q wf.cfg
key=$(sql_value "SELECT cache_key FROM executions WHERE stage='train'") || fail "query"

run_ok "$SULCUS" show train
show=$(cat "$OUT")
assert_contains "$show" "stage:      train (kind command, version 1)"
assert_contains "$show" "run:        1 (wf.cfg)"
assert_contains "$show" "status:     ran: new stage"
assert_contains "$show" "cache key:  $key"
assert_contains "$show" "output:     $TEST_DIR/.sulcus/cache/$key/out"
assert_not_contains "$show" "(not in the cache)"
assert_contains "$show" 'params:     {"epochs": 2, "lr": 0.5}'
assert_contains "$show" "log:        $TEST_DIR/.sulcus/logs/1/train.log"
# artifacts: path, bytes, sha256
sum=$(sha256sum ".sulcus/cache/$key/out/model.bin" | cut -d' ' -f1)
assert_eq "model.bin 6 $sum" "$(awk '$1 == "model.bin"' "$OUT" | tr -s ' ')" "artifact line of model.bin"
assert_eq "metrics.tsv 23" "$(awk '$1 == "metrics.tsv" { print $1, $2 }' "$OUT")" "artifact line of metrics.tsv"
# metrics: name, n, first_step, last_step, last_value
assert_eq "loss 2 1 2 0.25" "$(awk '$1 == "loss"' "$OUT" | tr -s ' ')" "metrics line"

# The inputs section of a user names its input and its digest.
run_ok "$SULCUS" show eval
digest=$(sql_value "SELECT digest FROM outputs WHERE cache_key='$key'") || fail "query"
assert_eq "train $digest" "$(awk '$1 == "train"' "$OUT" | tr -s ' ')" "input line of eval"

# The latest execution: cached, same key and metrics.
run_ok "$SULCUS" run -q wf.cfg
run_ok "$SULCUS" show train
assert_file_contains "$OUT" "run:        2 (wf.cfg)"
assert_file_contains "$OUT" "status:     cached"
assert_file_contains "$OUT" "cache key:  $key"
assert_eq "loss 2 1 2 0.25" "$(awk '$1 == "loss"' "$OUT" | tr -s ' ')" "metrics line of the cached stage"
run_ok "$SULCUS" show --run 1 train
assert_file_contains "$OUT" "run:        1 (wf.cfg)"

run_fail_msg 2 "show: no recorded execution of stage 'nope'" "$SULCUS" show nope

# A name close to a recorded stage: did you mean.
run_fail_msg 2 "show: no recorded execution of stage 'trian' (did you mean 'train'?)" "$SULCUS" show trian

# The log's last lines (all with --log), and many artifacts by folder.
cat >many.cfg <<'EOF2'
name = "show";
stages = (
  { id = "many"; kind = "command";
    command = "mkdir -p {out}/png; for i in $(seq 1 30); do echo $i > {out}/png/s$i.png; echo line $i; done; echo top > {out}/top.txt"; }
);
EOF2
run_ok "$SULCUS" run -q many.cfg
run_ok "$SULCUS" show many
assert_file_contains "$OUT" "log (last 10 lines; --log for all):"
assert_file_contains "$OUT" "line 30"
assert_file_lacks "$OUT" "line 20"
assert_file_contains "$OUT" "artifacts, by folder"
assert_eq "png/ 30 $(sql_value "SELECT sum(bytes) FROM artifacts a JOIN latest_executions e USING (cache_key) WHERE e.stage = 'many' AND a.path LIKE 'png/%'")" \
	"$(awk '$1 == "png/"' "$OUT" | tr -s ' ')" "folder line of png/"
assert_eq "./ 1 4" "$(awk '$1 == "./"' "$OUT" | tr -s ' ')" "folder line of the top level"
run_ok "$SULCUS" show --log many
assert_file_contains "$OUT" "line 1"
assert_file_contains "$OUT" "line 20"

# A stage of the workflow that never ran says so.
sed -i 's/^);$/  , { id = "later"; kind = "command"; command = "true"; }\n);/' many.cfg
run_fail_msg 2 "show: stage 'later' is in many.cfg but has not run yet" "$SULCUS" show later
