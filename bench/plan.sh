#!/bin/sh
# bench/plan.sh - how long an up-to-date check of a 10,000-stage DAG takes:
# `sulcus plan` against `ninja -n` and `make -q -r` on the same graph.
#
# The graph: stage i (i > 0) takes stage (i-1)/2 as its input (a binary
# tree: 10,000 nodes, 9,999 edges); every stage writes one small file.
# The three descriptions are generated side by side in bench/out/plan/,
# built once (sulcus's first run executes 10,000 stages: a few minutes
# on 2 cores), then only the no-op check is timed with hyperfine.
# Peak memory comes from GNU time.
#
# usage: sh bench/plan.sh [N]      (N stages, default 10000)
set -eu

N=${1:-10000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SULCUS=${SULCUS:-$ROOT/sulcus}
OUT=$ROOT/bench/out/plan
mkdir -p "$OUT"
cd "$OUT"

for tool in hyperfine ninja make; do
	command -v "$tool" >/dev/null || { echo "bench/plan.sh: '$tool' not found (make deps installs it)" >&2; exit 2; }
done
[ -x "$SULCUS" ] || { echo "bench/plan.sh: build sulcus first (make)" >&2; exit 2; }

if [ ! -f wf.cfg ] || [ "$(cat n 2>/dev/null)" != "$N" ]; then
	rm -rf .sulcus files wf.cfg Makefile build.ninja .ninja_log .ninja_deps
	awk -v n="$N" 'BEGIN {
		print "name = \"bench\";\nstages = (" > "wf.cfg"
		print "all: files/s" (n - 1) > "Makefile"
		print "rule w\n  command = echo $v > $out\n" > "build.ninja"
		for (i = 0; i < n; i++) {
			dep = i ? sprintf("s%d", int((i - 1) / 2)) : ""
			printf "  { id = \"s%d\"; kind = \"command\"; %scommand = \"echo %d > {out}/f\"; }%s\n", \
				i, dep == "" ? "" : "inputs = [\"" dep "\"]; ", i, i < n - 1 ? "," : "" > "wf.cfg"
			printf "files/s%d:%s\n\t@echo %d > $@\n", i, dep == "" ? "" : " files/" dep, i > "Makefile"
			printf "build files/s%d: w%s\n  v = %d\n", i, dep == "" ? "" : " | files/" dep, i > "build.ninja"
		}
		print ");" > "wf.cfg"
		# make and ninja build every target by default, like sulcus runs every stage.
		printf "all:" > "Makefile.all"
		for (i = 0; i < n; i++) printf " files/s%d", i > "Makefile.all"
		print "" > "Makefile.all"
	}'
	{ cat Makefile.all; grep -v '^all:' Makefile; } > Makefile.tmp && mv Makefile.tmp Makefile && rm Makefile.all
	mkdir -p files
	echo "$N" > n
	echo "building the $N-stage graph once with each tool..." >&2
	"$SULCUS" run -q -j "$(nproc)" wf.cfg
	ninja -j "$(nproc)" >/dev/null
	touch -d '1 minute ago' files/* 2>/dev/null || true
	make -s -j "$(nproc)" >/dev/null
fi

# Sanity: each tool agrees that nothing is left to do.
"$SULCUS" plan wf.cfg | tail -n 1 | grep -q "^plan: 0 to run" || { echo "sulcus plan: not up to date" >&2; exit 1; }
[ "$(ninja -n | wc -l)" -le 1 ] || { echo "ninja -n: not up to date" >&2; exit 1; }
make -q -r || { echo "make -q: not up to date" >&2; exit 1; }

hyperfine -N --warmup 3 --runs 20 --style basic --export-csv times.csv \
	-n "sulcus plan" "$SULCUS plan wf.cfg" \
	-n "ninja -n" "ninja -n" \
	-n "make -q -r" "make -q -r" >/dev/null

mem() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n 1; }
MEM_SULCUS=$(mem "$SULCUS" plan wf.cfg)
MEM_NINJA=$(mem ninja -n)
MEM_MAKE=$(mem make -q -r)

echo
echo "up-to-date check of a $N-stage DAG ($(nproc) cores, $(uname -m)):"
awk -F, -v m1="$MEM_SULCUS" -v m2="$MEM_NINJA" -v m3="$MEM_MAKE" '
	NR == 1 { next }
	{ name[NR] = $1; med[NR] = $4; min[NR] = $7; if ($1 == "ninja -n") base = $4 }
	END {
		mem["sulcus plan"] = m1; mem["ninja -n"] = m2; mem["make -q -r"] = m3
		printf "%-12s %10s %10s %10s %12s\n", "tool", "median ms", "min ms", "vs ninja", "peak KiB"
		for (i = 2; i <= NR; i++)
			printf "%-12s %10.1f %10.1f %9.2fx %12s\n", name[i], med[i] * 1000, min[i] * 1000, med[i] / base, mem[name[i]]
	}' times.csv
