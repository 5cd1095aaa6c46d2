#!/bin/sh
# t3001-query-formats: `sulcus query` prints an aligned table (numbers to
# the right, NULL empty), --csv (RFC 4180 quoting) and --json (typed
# values, null), numbers by one round-trip rule in all three; bad SQL and
# a missing database are bad input.
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

run_fail_msg 2 "no database at '$TEST_DIR/.sulcus/sulcus.db'" "$SULCUS" query "SELECT 1"
assert_no_workspace

cat >wf.cfg <<'EOF'
name = "q";
stages = (
  { id = "a"; kind = "command"; command = "echo a > {out}/v"; },
  { id = "bb"; kind = "command"; inputs = ["a"]; command = "cat {in.a}/v > {out}/v"; }
);
EOF
run_ok "$SULCUS" run -q wf.cfg

run_ok "$SULCUS" query "SELECT stage, status, 10 * id AS n FROM executions ORDER BY stage"
assert_eq "stage  status  n
-----  ------  --
a      ran     10
bb     ran     20" "$(cat "$OUT")" "table output"

run_ok "$SULCUS" query --csv "SELECT stage, status, 10 * id AS n FROM executions ORDER BY stage"
assert_eq "stage,status,n
a,ran,10
bb,ran,20" "$(cat "$OUT")" "csv output"

run_ok "$SULCUS" query --json "SELECT stage, status, 10 * id AS n FROM executions ORDER BY stage"
assert_eq '[
  {"stage": "a", "status": "ran", "n": 10},
  {"stage": "bb", "status": "ran", "n": 20}
]' "$(cat "$OUT")" "json output"

q="SELECT 'a' AS s, 1 AS n, NULL AS z, 0.5 AS f, 'x,\"y\"' AS q UNION ALL SELECT 'bbbbbb', 123, 'zz', 2.25, 'plain'"
run_ok "$SULCUS" query "$q"
assert_eq 's       n    z   f     q
------  ---  --  ----  -----
a         1       0.5  x,"y"
bbbbbb  123  zz  2.25  plain' "$(cat "$OUT")" "table with NULL, floats, text"
run_ok "$SULCUS" query --csv "$q"
assert_eq 's,n,z,f,q
a,1,,0.5,"x,""y"""
bbbbbb,123,zz,2.25,plain' "$(cat "$OUT")" "csv with NULL, floats, quoting"
run_ok "$SULCUS" query --json "$q"
assert_eq '[
  {"s": "a", "n": 1, "z": null, "f": 0.5, "q": "x,\"y\""},
  {"s": "bbbbbb", "n": 123, "z": "zz", "f": 2.25, "q": "plain"}
]' "$(cat "$OUT")" "json with NULL, floats, quoting"

# One number rule in every format (engine/query.h): the shortest text that
# reads back as the same double, whole reals kept real.
q="SELECT 0.1 + 0.2 AS sum, 1 / 3.0 AS third, 2.0 AS whole, 1e20 AS big, 0.1 AS tenth"
run_ok "$SULCUS" query --csv "$q"
assert_eq 'sum,third,whole,big,tenth
0.30000000000000004,0.3333333333333333,2.0,1e+20,0.1' "$(cat "$OUT")" "csv numbers"
run_ok "$SULCUS" query --json "$q"
assert_eq '[
  {"sum": 0.30000000000000004, "third": 0.3333333333333333, "whole": 2.0, "big": 1e+20, "tenth": 0.1}
]' "$(cat "$OUT")" "json numbers"
run_ok "$SULCUS" query "$q"
assert_eq 'sum                  third               whole  big    tenth
-------------------  ------------------  -----  -----  -----
0.30000000000000004  0.3333333333333333    2.0  1e+20    0.1' "$(cat "$OUT")" "table numbers"

run_ok "$SULCUS" query --json "SELECT 1 AS x WHERE 0"
assert_eq "[]" "$(cat "$OUT")" "empty json"
run_ok "$SULCUS" query --csv "SELECT 1 AS x WHERE 0"
assert_eq "x" "$(cat "$OUT")" "empty csv"

# Several statements; the examples' views and the schema are there to query.
run_ok "$SULCUS" query --csv "SELECT count(*) AS runs FROM runs; SELECT count(*) AS latest FROM latest_executions"
assert_eq "runs
1
latest
2" "$(cat "$OUT")" "two statements"

run_fail_msg 2 "query: no such table: nope" "$SULCUS" query "SELECT * FROM nope"
run_fail_msg 2 "query: expected one SQL argument" "$SULCUS" query
run_fail_msg 2 "unknown option" "$SULCUS" query --xml "SELECT 1"

# Parameters: -p NAME=VALUE binds :NAME (a number as a number, the rest as
# text); a parameter the SQL uses must be given, and one given must be used.
run_ok "$SULCUS" query --csv -p x=3 -p s=a:b --param half=0.5 "SELECT :x + 1 AS n, typeof(:x) AS t, :s AS s, :half * 2 AS h"
assert_eq "n,t,s,h
4,integer,a:b,1.0" "$(cat "$OUT")" "bound parameters"
run_ok "$SULCUS" query --csv -p id=1 "SELECT count(*) AS n FROM runs WHERE id = :id"
assert_eq "n
1" "$(cat "$OUT")" "a parameter in a WHERE clause"
run_fail_msg 2 "query: the SQL uses :stage: give it with --param stage=VALUE" "$SULCUS" query "SELECT :stage"
run_fail_msg 2 "query: parameter 'y' is not used by the SQL" "$SULCUS" query -p y=1 "SELECT 1"
run_fail_msg 2 "--param: expected NAME=VALUE, got 'y'" "$SULCUS" query -p y "SELECT 1"
run_fail_msg 2 "query: the SQL uses a '?' parameter, which --param cannot name" "$SULCUS" query "SELECT ?"
