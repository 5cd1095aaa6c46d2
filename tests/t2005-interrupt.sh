#!/bin/sh
# t2005-interrupt: SIGINT, SIGTERM or SIGHUP to `sulcus run` stops the running
# stages and ends the run: exit status 128+N, run 'interrupted', the
# running stage 'failed' with a reason saying it was interrupted, its users
# skipped; no process of the stage is left, and a later run completes.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "interrupt";
stages = (
  { id = "first"; kind = "command"; command = "echo x >> count.first; echo 1 > {out}/v"; },
  { id = "block"; kind = "command"; inputs = ["first"];
    command = "echo x >> count.block; echo $$ > pid.block; touch started; i=0; while [ ! -e go ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done; test -e go || exit 1; cat {in.first}/v > {out}/v"; },
  { id = "after"; kind = "command"; inputs = ["block"]; command = "echo x >> count.after; cat {in.block}/v > {out}/v"; }
);
EOF

for sig in INT TERM HUP; do
	rm -rf .sulcus started go pid.block count.*
	case $sig in
	INT) want=130 ;;
	TERM) want=143 ;;
	HUP) want=129 ;;
	esac
	start_bg engine "$SULCUS" run -j 1 wf.cfg
	wait_for_file started
	kill -s "$sig" "$BG_PID"
	wait_bg engine
	output=$(bg_output engine)
	[ "$BG_RC" = "$want" ] || fail "SIG$sig: expected exit status $want, got $BG_RC; output:
$output"
	assert_contains "$output" "SIG$sig: stopping running stages" "output after SIG$sig"
	assert_contains "$output" "sulcus: run 1 interrupted" "output after SIG$sig"
	wait_for_death "$(cat pid.block)" 5

	sql_ok "SELECT status FROM runs WHERE id=1"
	assert_eq interrupted "$ROWS" "status of the run after SIG$sig"
	assert_ran first
	assert_status block failed
	assert_status after skipped
	reason=$(stage_reason block) || fail "query"
	assert_contains "$reason" "interrupted" "reason of block after SIG$sig"
	key=$(sql_value "SELECT cache_key FROM executions WHERE run_id=1 AND stage='block'") || fail "query"
	[ ! -e ".sulcus/cache/$key" ] || fail "SIG$sig: the interrupted stage was published"

	touch go
	run_ok "$SULCUS" run wf.cfg
	assert_cached first
	assert_ran block
	assert_ran after
	assert_count count.first 1
	sql_ok "SELECT status FROM runs WHERE id=1"
	assert_eq interrupted "$ROWS" "status of the interrupted run after a rerun"
done
