-- Schema version 3 held the tables of the Darknet stages (predictions,
-- rankings) until version 5: each stage kind now declares its own tables
-- (engine/kind.h, struct sul_table_spec) and the engine creates them
-- (engine/tables.h).  Kept, empty, so that the versions keep their numbers.
SELECT 1;
