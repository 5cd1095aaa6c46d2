#!/bin/sh
# t3007-dag-kinds: `sulcus dag` prints valid Graphviz dot with a node per
# stage and an edge per input, or draws the graph as SVG itself (--svg);
# `sulcus kinds` lists the command kind, and README.md carries its output.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

cat >wf.cfg <<'EOF'
name = "my \"graph\"";
stages = (
  { id = "a"; kind = "command"; command = "true"; },
  { id = "b"; kind = "command"; inputs = ["a"]; command = "true"; },
  { id = "c"; kind = "command"; inputs = ["a", "b"]; command = "true"; },
  { id = "lonely"; kind = "command"; command = "true"; }
);
EOF
run_ok "$SULCUS" dag wf.cfg
assert_eq 'digraph "my \"graph\"" {' "$(sed -n 1p "$OUT")" "first line of dag"
assert_eq "}" "$(tail -n 1 "$OUT")" "last line of dag"
edges=$(grep -- '->' "$OUT" | sed 's/^ *//' | sort | tr '\n' ' ')
assert_eq '"a" -> "b"; "a" -> "c"; "b" -> "c"; ' "$edges" "edges"
for id in a b c lonely; do
	assert_file_contains "$OUT" "\"$id\" [label=\"$id\\n(command)\"];"
done
# Braces balance and every statement ends with ';'.
assert_eq 1 "$(grep -c '{' "$OUT")" "opening braces"
assert_eq 0 "$(sed '1d;$d' "$OUT" | grep -vc ';$')" "statements without ';'"
if command -v dot >/dev/null 2>&1; then
	dot -Tcanon "$OUT" >/dev/null 2>"$ERR" || fail "dot rejects the output: $(cat "$ERR")"
fi
assert_no_workspace

# --svg draws it without Graphviz: a box per stage (its id as title), an
# arrow per input; c, two steps from a, sits in the third column.
run_ok "$SULCUS" dag --svg wf.cfg
assert_eq "<svg" "$(head -c 4 "$OUT")" "start of the svg"
assert_eq "</svg>" "$(tail -n 1 "$OUT" | tail -c 7)" "end of the svg"
assert_eq 3 "$(grep -o '<line ' "$OUT" | wc -l)" "arrows"
for id in a b c lonely; do
	assert_file_contains "$OUT" "<title>$id</title>"
done
xs=$(grep -o '<title>[a-z]*</title><rect x="[0-9.]*"' "$OUT" | sed 's/<title>\([a-z]*\)<\/title><rect x="\([0-9.]*\)"/\1=\2/' | sort | tr '\n' ' ')
ax=$(echo "$xs" | sed 's/.*a=\([0-9.]*\).*/\1/'); bx=$(echo "$xs" | sed 's/.*b=\([0-9.]*\).*/\1/')
cx=$(echo "$xs" | sed 's/.*c=\([0-9.]*\).*/\1/')
awk -v a="$ax" -v b="$bx" -v c="$cx" 'BEGIN { exit !(a < b && b < c) }' || fail "columns of a, b, c: $xs"
if command -v xmllint >/dev/null 2>&1; then
	xmllint --noout "$OUT" 2>"$ERR" || fail "the svg is not well-formed: $(cat "$ERR")"
fi

run_ok "$SULCUS" kinds
assert_contains "$(cat "$OUT")" "command (version 1)"
assert_contains "$(cat "$OUT")" "command (string, required)"
run_ok "$SULCUS" kinds command
assert_contains "$(cat "$OUT")" "command (version 1)"

# README.md's reference of the kinds is what `sulcus kinds` prints (make
# readme-kinds writes it).
REPO=$(cd "$TESTS_DIR/.." && pwd)
run_ok "$SULCUS" kinds
awk '/<!-- sulcus kinds: begin -->/ { on = 1; next } /<!-- sulcus kinds: end -->/ { on = 0 } on' "$REPO/README.md" |
	sed '1d;$d' >readme-kinds.txt
diff readme-kinds.txt "$OUT" >kinds.diff || fail "README.md's kinds reference differs from \`sulcus kinds\` (make readme-kinds): $(head -20 kinds.diff)"
