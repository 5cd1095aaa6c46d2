#!/bin/sh
# bench/ref_darknet_cli.sh - training and inference throughput (images/s) of
# the stock Darknet CLI (/usr/bin/darknet: Debian's static CPU build, no BLAS,
# no OpenMP), as a reference for our own trainer.
#
# usage: sh bench/ref_darknet_cli.sh CFG SIZE BATCH ITERS WORKDIR
#
# How: in WORKDIR it writes 30 SIZExSIZE RGB PNGs (10 per class, python3
# stdlib only: zlib + struct), labels.txt (rrms, spms, hc), the lists and
# ref.data, and net.cfg: a copy of CFG whose [net] section is rewritten to
# batch=BATCH, subdivisions=1, max_batches=ITERS, width=height=SIZE,
# channels=3, random=0 (everything else, augmentation included, is kept).
# It runs from inside WORKDIR with relative paths, because the CLI takes an
# image's label from any label name that is a substring of its path (strstr
# on the whole path): a WORKDIR named e.g. /tmp/hc would otherwise label every
# image "hc". Then:
#   train: `darknet classifier train ref.data net.cfg` runs exactly ITERS
#     batches of BATCH. After each batch it prints "i, epoch: loss, avg,
#     rate, S seconds, n images" where S is the wall time of train_network
#     alone (forward + backward + update; the wait for the loader thread is
#     printed apart as "Loaded: ..."). images/s = BATCH / median(S), skipping
#     the first batches (the first is 2-5 times slower: buffers are
#     touched for the first time).
#   infer: `darknet classifier test` is the CLI's batched inference in one
#     process (network_predict_data on BATCH images at a time, with the
#     weights the training run saved). It prints "S seconds, n images, t
#     total" per batch, S measured with clock(): process CPU time, which
#     equals wall time here since this build computes on one thread (checked:
#     within 1% of a wall-clock difference of two runs). images/s = BATCH /
#     median(S), skipping the first batch. `predict` would be one image per
#     process and `valid` one image at a time (batch 1): neither is used.
# Wall times of the whole runs (start-up, parsing, saving weights included)
# go to stderr for reference; stdout has exactly two lines:
#   darknet-cli train images/s: X
#   darknet-cli infer images/s: X
#
# Caveats:
# - The CLI samples training images uniformly with replacement, always
#   flips with p = 0.5 and applies the cfg's scale/rotation/HSV jitter
#   (resnet18.cfg: min_crop/max_crop, angle, hue...); that loading runs in
#   other threads, concurrently with training: on a 2-core machine it takes
#   CPU from nothing else (compute is single-threaded) but does cost memory
#   bandwidth. Inference loads with a plain resize (no augmentation).
# - It saves weights to backup/<cfgname>_<epoch>.weights every time the
#   number of images seen crosses a multiple of the train list's length (a
#   weights file per batch with a short list), so train.list has
#   ITERS*BATCH+1 lines cycling over the 30 images: no epoch ever completes.
#   backup/net.weights is written at the end (and backup/net.backup at every
#   1000th batch); `test` then loads it (a never-trained network has zero
#   batchnorm rolling variances and infers inf/NaN).
# - The CLI exits 0 on most failures (a missing file prints "Couldn't open
#   file" and calls exit(0)): success is judged from its output, not its
#   status.
# - The images are noise around a per-class intensity: throughput does not
#   depend on the content (no early exits), only on SIZE, BATCH and the cfg.
# - Paths in the lists must stay under 256 bytes (fixed buffers): they are
#   short relative paths here.
set -eu

ME=bench/ref_darknet_cli.sh
die() { echo "$ME: $*" >&2; exit 2; }

[ $# -eq 5 ] || { echo "usage: sh $ME CFG SIZE BATCH ITERS WORKDIR" >&2; exit 2; }
CFG=$1 SIZE=$2 BATCH=$3 ITERS=$4 WORKDIR=$5

for v in "SIZE=$SIZE" "BATCH=$BATCH" "ITERS=$ITERS"; do
	case ${v#*=} in
	'' | *[!0-9]* | 0*) die "${v%%=*} must be a positive integer (got '${v#*=}')" ;;
	esac
done
if [ "$SIZE" -lt 8 ] || [ "$SIZE" -gt 4096 ]; then die "SIZE must be between 8 and 4096"; fi

DARKNET=${DARKNET:-darknet}
command -v "$DARKNET" >/dev/null 2>&1 ||
	die "'$DARKNET' not found: install Debian's darknet package (apt-get install darknet) or set DARKNET=/path/to/darknet"
DARKNET=$(command -v "$DARKNET")
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found (apt-get install python3)"
if [ ! -f "$CFG" ] || [ ! -r "$CFG" ]; then die "cannot read cfg '$CFG'"; fi

mkdir -p "$WORKDIR" || die "cannot create '$WORKDIR'"
CFG_ABS=$(cd "$(dirname "$CFG")" && pwd)/$(basename "$CFG")
cd "$WORKDIR"

# net.cfg: CFG with the [net] keys that decide what is run replaced. Darknet
# strips all blanks from a cfg line and skips lines starting with # or ;.
awk -v batch="$BATCH" -v iters="$ITERS" -v size="$SIZE" '
	{ t = $0; gsub(/[ \t\r]/, "", t) }
	t == "" || t ~ /^[#;]/ { print; next }
	t ~ /^\[/ {
		if (!sections++) {
			if (t != "[net]" && t != "[network]") { bad = 1; exit }
			innet = 1
			print "[net]"
			print "batch=" batch; print "subdivisions=1"; print "max_batches=" iters
			print "width=" size; print "height=" size; print "channels=3"; print "random=0"
			next
		}
		innet = 0
	}
	innet {
		k = t; sub(/=.*/, "", k)
		if (k ~ /^(batch|subdivisions|max_batches|width|height|channels|random)$/) next
	}
	{ print }
	END { if (bad || !sections) exit 1 }
' "$CFG_ABS" >net.cfg || die "$CFG: the first section must be [net] or [network]"

mkdir -p img backup
rm -f backup/net.weights backup/net.backup backup/net_*.weights

# Dataset, lists, data file. The label check mirrors Darknet's fill_truth.
"$PYTHON" - "$SIZE" "$BATCH" "$ITERS" <<'PY' || die "could not write the dataset in $WORKDIR"
import random, struct, sys, zlib

size, batch, iters = (int(a) for a in sys.argv[1:4])
labels = ["rrms", "spms", "hc"]
per_class = 10

def chunk(tag, data):
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

def write_png(path, rgb):
    row = 3 * size
    raw = b"".join(b"\x00" + rgb[y * row:(y + 1) * row] for y in range(size))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 1)))
        f.write(chunk(b"IEND", b""))

rng = random.Random(12345)
paths = []
for c, name in enumerate(labels):
    table = bytes(min(255, v // 2 + 48 * c) for v in range(256))
    for i in range(per_class):
        path = "img/%s_%03d.png" % (name, i)
        write_png(path, rng.randbytes(3 * size * size).translate(table))
        paths.append(path)
for p in paths:
    hits = [l for l in labels if l in p]
    assert len(hits) == 1, (p, hits)

def write_list(name, n):
    with open(name, "w") as f:
        f.writelines(paths[i % len(paths)] + "\n" for i in range(n))

write_list("train.list", iters * batch + 1)   # never completes an epoch
write_list("test.list", (iters + 1) * batch)  # `test` predicts all but the last batch
with open("labels.txt", "w") as f:
    f.write("\n".join(labels) + "\n")
with open("ref.data", "w") as f:
    f.write("classes=3\ntrain=train.list\nvalid=test.list\ntest=test.list\n"
            "labels=labels.txt\nbackup=backup\ntop=1\n")
PY

# run LOG CMD...: stdout to LOG, stderr to LOG.err (apart: the CLI's stderr
# lines would otherwise land in the middle of its block-buffered stdout),
# wall seconds on stdout.
run() {
	log=$1
	shift
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f %e -o "$log.time" "$@" >"$log" 2>"$log.err" || die "'$*' failed (exit $?), see $WORKDIR/$log.err"
		tail -n 1 "$log.time"
	else
		t0=$(date +%s.%N)
		"$@" >"$log" 2>"$log.err" || die "'$*' failed (exit $?), see $WORKDIR/$log.err"
		t1=$(date +%s.%N)
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f\n", b - a }'
	fi
}

# median of the numbers on stdin after skipping the first SKIP
median() {
	tail -n +"$(($1 + 1))" | sort -n | awk '{ v[NR] = $1 } END {
		if (!NR) exit 1
		if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

check_log() {
	if cat "$1" "$1.err" | grep -q "Couldn't open file\|Too many or too few labels\|Type not recognized"; then
		cat "$1" "$1.err" | grep -m 3 "Couldn't open file\|Too many or too few labels\|Type not recognized" >&2
		die "darknet failed, see $WORKDIR/$1 and $1.err"
	fi
}

# --- training ---
wall=$(run train.log "$DARKNET" classifier train ref.data net.cfg -nogpu)
check_log train.log
awk -F', ' '/^[0-9]+, [0-9.]+: .* seconds, [0-9]+ images$/ { sub(/ seconds$/, "", $5); print $5 }' \
	train.log >train.times
n=$(wc -l <train.times)
[ "$n" -eq "$ITERS" ] || die "expected $ITERS training iterations, darknet printed $n (see $WORKDIR/train.log)"
[ -s backup/net.weights ] || die "darknet saved no backup/net.weights (see $WORKDIR/train.log)"
if [ "$ITERS" -ge 9 ]; then skip=3; elif [ "$ITERS" -ge 2 ]; then skip=1; else skip=0; fi
t_train=$(median "$skip" <train.times)
t_load=$(sed -n 's/^Loaded: \([0-9.]*\) seconds$/\1/p' train.log | median "$skip")
echo "$ME: train: $ITERS batches of $BATCH at ${SIZE}x$SIZE, median ${t_train} s/batch over the last $((ITERS - skip)) (median loader wait ${t_load} s); whole run ${wall} s wall" >&2

# --- inference ---
wall=$(run test.log "$DARKNET" classifier test ref.data net.cfg backup/net.weights -nogpu)
check_log test.log
sed -n 's/^\([0-9.]*\) seconds, [0-9]* images, [0-9]* total$/\1/p' test.log.err >test.times
n=$(wc -l <test.times)
[ "$n" -eq "$ITERS" ] || die "expected $ITERS inference batches, darknet printed $n (see $WORKDIR/test.log)"
if [ "$ITERS" -ge 2 ]; then skip=1; else skip=0; fi
t_infer=$(median "$skip" <test.times)
echo "$ME: infer: $ITERS batches of $BATCH, median ${t_infer} s/batch (CPU time) over the last $((ITERS - skip)); whole run ${wall} s wall" >&2

awk -v b="$BATCH" -v t="$t_train" 'BEGIN { printf "darknet-cli train images/s: %.2f\n", b / t }'
awk -v b="$BATCH" -v t="$t_infer" 'BEGIN { printf "darknet-cli infer images/s: %.2f\n", b / t }'
