#!/bin/sh
# tools/darknet-gpu.sh - a CUDA build of Debian's own Darknet, for `make GPU=1`.
#
# Debian's darknet binary package is CPU-only; its source package is the
# same Darknet (git 61c9d02e).  This fetches that source with the ordinary
# apt client, without touching the machine's apt configuration: a private
# deb-src list made from the machine's configured Debian sources, a private
# lists folder, passed with -o.  Then it applies Debian's patches
# (debian/patches/series) and ours (patches/darknet/*.patch, in order) and
# builds libdarknet-cuda.so with Darknet's own Makefile, CUDA on, cuDNN and
# OpenCV off.
#
# usage: sh tools/darknet-gpu.sh OUTDIR
#   OUTDIR/darknet-src/        the patched source (kept: the fetch runs once)
#   OUTDIR/libdarknet-cuda.so  the library
# Environment: CUDA (default /usr/local/cuda), CUDA_ARCH (nvcc -gencode
# flags; default sm_80 and sm_90), JOBS (default: the number of cores).
set -eu

OUT=${1:?usage: tools/darknet-gpu.sh OUTDIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CUDA=${CUDA:-/usr/local/cuda}
CUDA_ARCH=${CUDA_ARCH:-"-gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90"}
JOBS=${JOBS:-$(nproc)}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SRC=$OUT/darknet-src

die() { echo "tools/darknet-gpu.sh: $*" >&2; exit 1; }

[ -x "$CUDA/bin/nvcc" ] || die "no CUDA compiler at $CUDA/bin/nvcc (set CUDA=/path/to/cuda)"

# The patches applied are part of what the source is: a change to one
# re-creates the tree.
PATCHES=$(ls "$ROOT"/patches/darknet/*.patch 2>/dev/null || true)
STAMP=$( { echo "$CUDA_ARCH"; for p in $PATCHES; do cat "$p"; done; } | sha256sum | cut -c1-16)

if [ ! -f "$SRC/.sulcus-$STAMP" ] && ! ls "$OUT"/fetch/darknet_*.dsc >/dev/null 2>&1; then
	rm -rf "$OUT/fetch"
	mkdir -p "$OUT/fetch/lists/partial" "$OUT/fetch/parts" "$OUT/fetch/cache/archives/partial"
	: >"$OUT/fetch/sources.list"
	# deb-src twins of the machine's own Debian sources (deb822 and one-line).
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && sed 's/^Types:.*$/Types: deb-src/' "$f" >"$OUT/fetch/parts/$(basename "$f")"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && sed -n 's/^deb \(.*\)$/deb-src \1/p' "$f" >>"$OUT/fetch/sources.list"
	done
	# Private lists and cache folders: no root needed, nothing of the
	# machine's apt state touched.
	APT="-o Dir::Etc::SourceList=$OUT/fetch/sources.list -o Dir::Etc::SourceParts=$OUT/fetch/parts \
	     -o Dir::State::Lists=$OUT/fetch/lists -o Dir::Cache=$OUT/fetch/cache -o APT::Sandbox::User=$(id -un)"
	echo "darknet-gpu: fetching Debian's darknet source package"
	# shellcheck disable=SC2086
	apt-get $APT -qq update || die "apt-get update with a deb-src list failed (is Debian's archive reachable?)"
	# shellcheck disable=SC2086
	(cd "$OUT/fetch" && apt-get $APT -qq source --download-only darknet) ||
		die "apt-get source darknet failed"
fi
if [ ! -f "$SRC/.sulcus-$STAMP" ]; then
	rm -rf "$SRC"
	mkdir -p "$SRC"
	tar -xJf "$OUT"/fetch/darknet_*.orig.tar.* -C "$SRC" --strip-components=1
	tar -xJf "$OUT"/fetch/darknet_*.debian.tar.* -C "$SRC"
	for p in $(grep -v '^#' "$SRC/debian/patches/series"); do
		patch -d "$SRC" -p1 -s -N <"$SRC/debian/patches/$p" || die "Debian's patch $p does not apply"
	done
	for p in $PATCHES; do
		patch -d "$SRC" -p1 -s -N <"$p" || die "$p does not apply"
	done
	touch "$SRC/.sulcus-$STAMP"
fi

# Darknet's Makefile, with our output folder, no OpenCV, no executable.
# Variables on the command line replace the Makefile's own.  CC: implicit
# declarations are errors in C (CUDA 13 dropped functions that Darknet
# calls: the compiler only warned, and dlopen() failed).
# LDFLAGS: the CUDA runtime libraries only (not the driver's libcuda, which
# a build machine without a GPU lacks), found through an rpath.
mkdir -p "$OUT/darknet-obj"
echo "darknet-gpu: building $OUT/libdarknet-cuda.so"
make -s -C "$SRC" -j"$JOBS" --no-print-directory GPU=1 CUDNN=0 OPENCV=0 OPENMP=0 \
	CC="gcc -Werror=implicit-function-declaration" \
	NVCC="$CUDA/bin/nvcc" ARCH="$CUDA_ARCH" OBJDIR="$OUT/darknet-obj/" SLIB="$OUT/libdarknet-cuda.so" \
	COMMON="-Iinclude/ -Isrc/ -DGPU -I$CUDA/include/" \
	CFLAGS="-Wall -Wno-unused-result -Wno-unknown-pragmas -Wfatal-errors -fPIC -Ofast -DGPU" \
	LDFLAGS="-lm -pthread -L$CUDA/lib64 -Wl,-rpath,$CUDA/lib64 -Wl,-soname,libdarknet-cuda.so -lcudart -lcublas -lcurand -lstdc++" \
	"$OUT/libdarknet-cuda.so"
