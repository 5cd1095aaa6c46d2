#!/bin/sh
# t8001-gpu-build: the CUDA build (make GPU=1), on any machine.  Its
# library loads (a CUDA 13 build of 2018 Darknet had an undefined symbol),
# its code compiled with darknet.h's GPU structs agrees with the CPU build
# on weights, probabilities, heatmaps and training (tests/dncompare.c,
# through the CUDA build's CPU paths: gpu = -1), and a stage asked for a
# device that is not there fails with a message that says so.  What needs a
# GPU is t8002.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# timeout: 300

[ -n "${MKSLICES:-}" ] && [ -n "${DNCOMPARE:-}" ] || skip "MKSLICES or DNCOMPARE not set (run through make integration)"
GPU_SO=$(dirname "$SULCUS")/sulcus-darknet-gpu.so
[ -f "$GPU_SO" ] || skip "the CUDA build is not built here ($GPU_SO: make GPU=1; .ci/run builds it where nvcc is)"

# A network with what our layer fixes touch (1x1 stride-2 convolution,
# shortcut, dropout, a fully connected head), and a GAP head.
cat >small.cfg <<'CFG'
[net]
batch=4
width=32
height=32
channels=3
learning_rate=0.01
momentum=0.9
decay=0.0005
[convolutional]
batch_normalize=1
filters=8
size=3
stride=1
pad=1
activation=leaky
[convolutional]
batch_normalize=1
filters=16
size=1
stride=2
pad=0
activation=leaky
[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=leaky
[shortcut]
from=-2
activation=linear
[convolutional]
filters=16
size=1
stride=1
pad=0
activation=relu
[maxpool]
size=2
stride=2
[connected]
output=16
activation=leaky
[dropout]
probability=.5
[connected]
output=3
activation=linear
[softmax]
CFG
cat >gap.cfg <<'CFG'
[net]
batch=4
width=32
height=32
channels=3
learning_rate=0.01
[convolutional]
batch_normalize=1
filters=16
size=3
stride=2
pad=1
activation=leaky
[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=leaky
[avgpool]
[connected]
output=3
activation=linear
[softmax]
CFG

run_ok "$DNCOMPARE" --device -1 4 small.cfg gap.cfg
out=$(cat "$OUT")
assert_contains "$out" "CUDA build: cuda"
assert_contains "$out" "the two builds agree"
assert_eq 21 "$(grep -c '^ok ' "$OUT")"

# gpu = 0 where there is no device: the stage fails and says why.  (On a
# machine with a GPU, the same stage must succeed on it.)
rc=0
"$DNCOMPARE" 4 gap.cfg >probe.out 2>&1 || rc=$?
cat >wf.cfg <<CFG
name = "gpu";
stages = (
  { id = "data"; kind = "command"; command = "$MKSLICES {out} 2 2 32 1"; },
  { id = "train"; kind = "train"; inputs = ["data"];
    params = { network = "gap.cfg"; epochs = 1; batch = 4; size = 32; gpu = 0; }; }
);
CFG
if [ "$rc" -eq 77 ]; then
	run_fail_msg 1 "run 1: 1 failed" "$SULCUS" run wf.cfg
	assert_status train failed
	assert_contains "$(sql_value "SELECT reason FROM latest_executions WHERE stage = 'train'")" \
		"gpu = 0: no usable CUDA device"
else
	run_ok "$SULCUS" run wf.cfg
	assert_eq 0 "$(sql_value "SELECT CAST(value AS INTEGER) FROM metrics m JOIN latest_executions e USING (cache_key)
		WHERE e.stage = 'train' AND m.name = 'gpu'")"
fi

# SULCUS_GPU picks the device for stages that leave gpu at -1; a value that
# is not a device number is refused, naming the variable.
sed 's/ gpu = 0;//' wf.cfg >wf2.cfg
export SULCUS_GPU=first
run_fail_msg 1 "1 failed" "$SULCUS" run wf2.cfg
unset SULCUS_GPU
assert_contains "$(sql_value "SELECT reason FROM latest_executions WHERE stage = 'train'")" \
	"SULCUS_GPU='first': expected a CUDA device number"
exit 0
