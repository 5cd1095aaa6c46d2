#!/bin/sh
# tools/readme-kinds.sh [SULCUS] - writes the output of `sulcus kinds` into
# README.md between its "sulcus kinds: begin" and "end" markers, so that the
# README's reference of every kind, parameter, default and range is the
# binary's own (t3007 fails when they differ: run `make readme-kinds`).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SULCUS=${1:-$ROOT/build/sulcus}
README=$ROOT/README.md
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.kinds"' EXIT
"$SULCUS" kinds >"$tmp.kinds"
awk -v kinds="$tmp.kinds" '
	/<!-- sulcus kinds: begin -->/ { print; print "```text"; while ((getline l < kinds) > 0) print l; print "```"; skip = 1; next }
	/<!-- sulcus kinds: end -->/ { skip = 0 }
	!skip { print }' "$README" >"$tmp"
grep -q '<!-- sulcus kinds: end -->' "$tmp" || { echo "readme-kinds: no markers in $README" >&2; exit 1; }
cat "$tmp" >"$README"
