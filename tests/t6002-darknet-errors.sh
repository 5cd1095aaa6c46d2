#!/bin/sh
# t6002-darknet-errors: bad networks and weights give clear errors, never a
# killed run: cfg mistakes, and values Darknet would crash on, are caught
# by `sulcus check` with file:line; a class count that does not match the
# data, weights of another network, and a crash inside a training step
# (made by the tests' build, engine/fault.h) each fail their stage only,
# with a message, while an independent stage still succeeds (--keep-going).
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 120

[ -n "${MKSLICES:-}" ] || skip "MKSLICES not set (run through make integration)"
[ -f /usr/lib/darknet/libdarknet.so ] || fail "libdarknet is not installed: make deps installs darknet"

head_cfg() {  # a small classifier's [net] and first layer
	printf '[net]\nbatch=4\nsubdivisions=1\nwidth=32\nheight=32\nchannels=3\nlearning_rate=0.01\n'
	printf '[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\nstride=1\npad=1\nactivation=leaky\n'
}
{ head_cfg; printf '[convolutional]\nfilter=8\nsize=3\n[avgpool]\n[connected]\noutput=3\n[softmax]\n'; } >typo.cfg
{ head_cfg; printf '[avgpool]\n[connected]\noutput=2\n[softmax]\n'; } >two.cfg
{ head_cfg; printf '[shortcut]\nfrom=-40\n[avgpool]\n[connected]\noutput=3\n[softmax]\n'; } >crash.cfg
{ head_cfg; printf '[avgpool]\n[connected]\noutput=3\n[softmax]\n'; } >good.cfg
{ printf 'batch=4\n'; head_cfg; } >early.cfg
{ head_cfg; printf '[convolutional]\nfilters=16\nsize=3\npad=1\nactivation=leaky\n[avgpool]\n[connected]\noutput=3\n[softmax]\n'; } >other.cfg

stage() {  # stage ID CFG [EXTRA PARAMS]
	printf '  { id = "%s"; kind = "train"; inputs = ["data"]; params = { network = "%s"; epochs = 1; batch = 4; size = 32; %s }; },\n' "$1" "$2" "${3:-}"
}

# Mistakes in the cfg: `check` names the file and line, nothing runs.
for c in typo:"typo.cfg:16: [convolutional]: unknown key 'filter' (did you mean 'filters'?)" \
	early:"early.cfg:1: 'batch=4' before the first section (expected [net])" \
	crash:"crash.cfg:16: [shortcut]: from=-40: layer -39 is not an earlier layer"; do
	name=${c%%:*}
	msg=${c#*:}
	{ echo 'name = "e"; stages = ('; echo '  { id = "data"; kind = "command"; command = "true"; },'; stage t "$name.cfg"; echo ');'; } | sed 'x;${s/,$//;p;x;};1d' >wf.cfg
	run_fail_msg 2 "$msg" "$SULCUS" check wf.cfg
	assert_contains "$(cat "$ERR")" "stage 't': parameter 'network'"
done
assert_no_workspace

{
	echo 'name = "e"; stages = ('
	echo "  { id = \"data\"; kind = \"command\"; command = \"$MKSLICES {out} 2 2 32 1\"; },"
	stage two two.cfg
	stage good good.cfg
	echo '  { id = "wrong"; kind = "train"; inputs = ["data", "good"]; params = { network = "other.cfg"; epochs = 1; batch = 4; size = 32; pretrained_from = "good"; }; }'
	echo ');'
} >wf.cfg
run_fail_msg 1 "run 1: 2 failed, 0 skipped" "$SULCUS" run --keep-going wf.cfg
assert_ran data
assert_ran good
assert_status two failed
assert_status wrong failed
reason=$(sql_value "SELECT reason FROM latest_executions WHERE stage = 'two'")
assert_contains "$reason" "two.cfg: the network has 2 outputs, but the data has 3 classes"
# Weights of another network are refused before Darknet misreads them.
reason=$(sql_value "SELECT reason FROM latest_executions WHERE stage = 'wrong'")
assert_contains "$reason" "but the weights of this network take"

# A crash inside a training step, where Darknet's would be (SIGSEGV; under
# AddressSanitizer its report and exit status 1): the stage fails with what
# happened, the independent stage still runs, the run is recorded.
: "${SULCUS_FAULTS:=$(dirname "$SULCUS")/sulcus-faults}"
{
	echo 'name = "e"; stages = ('
	echo "  { id = \"data\"; kind = \"command\"; command = \"$MKSLICES {out} 2 2 32 1\"; },"
	stage crash good.cfg "seed = 7;"
	echo '  { id = "other"; kind = "command"; command = "echo ok > {out}/v"; }'
	echo ');'
} >wf.cfg
for sig in SEGV ABRT; do
	run_fail_msg 1 "1 failed, 0 skipped" env SULCUS_CRASH_AT="train-step:1:$sig" "$SULCUS_FAULTS" run --keep-going wf.cfg
	assert_status crash failed
	assert_status other ran
	reason=$(sql_value "SELECT reason FROM latest_executions WHERE stage = 'crash'")
	assert_contains "$reason" "before reporting a result"
	assert_eq "$(sql_value "SELECT status FROM runs ORDER BY id DESC LIMIT 1")" failed
	rm -rf .sulcus
done
exit 0
