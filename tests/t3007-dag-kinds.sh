#!/bin/sh
# t3007-dag-kinds: `sulcus dag` prints valid Graphviz dot with a node per
# stage and an edge per input; `sulcus kinds` lists the command kind.
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
