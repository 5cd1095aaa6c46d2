#!/bin/sh
# bench/itk/build.sh - builds the ITK programs of bench/itk (once, and again
# when a source changed) into bench/out/itk-build; prints that folder.
# Needs libinsighttoolkit5-dev, cmake and g++ (the project itself does not).
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/bench/out/itk-build
for tool in cmake g++; do
	command -v $tool >/dev/null || { echo "bench/itk/build.sh: $tool not found (apt-get install $tool)" >&2; exit 2; }
done
[ -d /usr/lib/cmake/ITK-5.2 ] ||
	{ echo "bench/itk/build.sh: ITK not found (apt-get install libinsighttoolkit5-dev)" >&2; exit 2; }
stale=0
for src in "$ROOT"/bench/itk/*.cxx "$ROOT"/bench/itk/CMakeLists.txt; do
	exe=$B/$(basename "$src" .cxx)
	[ "$(basename "$src")" = CMakeLists.txt ] && exe=$B/Makefile
	{ [ -e "$exe" ] && [ ! "$src" -nt "$exe" ]; } || stale=1
done
if [ $stale = 1 ]; then
	echo "building bench/itk against ITK (about 20 s a program)" >&2
	mkdir -p "$B"
	{ cmake -S "$ROOT/bench/itk" -B "$B" -DCMAKE_BUILD_TYPE=Release && cmake --build "$B"; } >"$B.log" 2>&1 ||
		{ echo "bench/itk/build.sh: building failed: see $B.log" >&2; exit 1; }
fi
echo "$B"
