#!/bin/sh
# bench/plan.sh - the engine's own speed, against ninja (and make):
#
# 1. How long an up-to-date check of a 10,000-stage DAG takes: `sulcus
#    plan` against `ninja -n` and `make -q -r` on the same graph.  The
#    graph: stage i (i > 0) takes stage (i-1)/2 as its input (a binary
#    tree: 10,000 nodes, 9,999 edges); every stage writes one small file.
#    The three descriptions are generated side by side in bench/out/plan/,
#    built once, then only the no-op check is timed with hyperfine.  Peak
#    memory comes from GNU time.
# 2. How long running 3,000 trivial stages takes with -j 2 (the same tree,
#    each stage one `echo` into a file), from nothing: `sulcus run` against
#    ninja building the equal build.ninja, one run each, wall and CPU time
#    from GNU time.  The engine's CPU per stage is sulcus's CPU less
#    ninja's (which is nearly all the shells the commands run in), over
#    the stage count.  sulcus keeps every guarantee it has on real stages:
#    each output fsynced and published atomically, each execution recorded.
#
# usage: sh bench/plan.sh [N [M]]   (N stages to plan, default 10000;
#                                    M trivial stages to run, default 3000)
# BENCH_OUT=DIR puts the graphs and workspaces there (default
# bench/out/plan): on a tmpfs, the figures leave the disk out.
set -eu

N=${1:-10000}
M=${2:-3000}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SULCUS=${SULCUS:-$ROOT/sulcus}
OUT=${BENCH_OUT:-$ROOT/bench/out/plan}
mkdir -p "$OUT"
cd "$OUT"

for tool in hyperfine ninja make; do
	command -v "$tool" >/dev/null || { echo "bench/plan.sh: '$tool' not found (make deps installs it)" >&2; exit 2; }
done
[ -x "$SULCUS" ] || { echo "bench/plan.sh: build sulcus first (make)" >&2; exit 2; }

# graph N: writes wf.cfg, Makefile(.all) and build.ninja for the N-stage tree.
graph() {
	awk -v n="$1" 'BEGIN {
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
}

if [ ! -f wf.cfg ] || [ "$(cat n 2>/dev/null)" != "$N" ]; then
	rm -rf .sulcus files wf.cfg Makefile build.ninja .ninja_log .ninja_deps
	graph "$N"
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

# --- 2. running M trivial stages ------------------------------------------
mkdir -p "$OUT/run"
cd "$OUT/run"
rm -rf .sulcus files wf.cfg Makefile Makefile.all build.ninja .ninja_log .ninja_deps
graph "$M"
rm -f Makefile Makefile.all
mkdir -p files
# cpu LABEL COMMAND...: one run; prints "LABEL WALL_S CPU_S" (CPU: user + system of the process tree).
cpu() {
	_label=$1
	shift
	/usr/bin/time -f "$_label %e %U %S" "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ printf "%s %s %.3f\n", $1, $2, $3 + $4 }'
}
# Each tool starts on a file system at rest: ext4 allocates inodes slower
# for a few seconds after many were deleted (a previous run's files).
settle() { sync; sleep 6; }
settle
SUL=$(cpu sulcus "$SULCUS" run -q -j 2 wf.cfg)
settle
NIN=$(cpu ninja ninja -j 2)
"$SULCUS" plan wf.cfg | tail -n 1 | grep -q "^plan: 0 to run" || { echo "sulcus run: stages left to run" >&2; exit 1; }
echo
echo "running $M trivial stages from nothing with -j 2 (one run each):"
printf '%s\n%s\n' "$SUL" "$NIN" | awk -v m="$M" '
	{ name[NR] = $1; wall[NR] = $2; cpu[NR] = $3 }
	END {
		printf "%-12s %10s %10s %14s %10s\n", "tool", "wall s", "CPU s", "CPU ms/stage", "vs ninja"
		for (i = 1; i <= NR; i++)
			printf "%-12s %10.2f %10.2f %14.2f %9.2fx\n", name[i], wall[i], cpu[i], cpu[i] / m * 1000, wall[i] / wall[2]
		printf "engine CPU per stage (sulcus less ninja): %.2f ms\n", (cpu[1] - cpu[2]) / m * 1000
	}'
