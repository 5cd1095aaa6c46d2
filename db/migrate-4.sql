-- Schema version 4 held the tables of the cam stages (heatmaps,
-- heatmap_lobes, heatmap_tests) until version 5: each stage kind now
-- declares its own tables (engine/kind.h, struct sul_table_spec) and the
-- engine creates them (engine/tables.h).  Kept, empty, so that the versions
-- keep their numbers.
SELECT 1;
