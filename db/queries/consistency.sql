-- consistency.sql - how consistent the heatmaps are in template space
-- (group_maps stages): mean pairwise Spearman correlation across the
-- subjects of a group, across methods and across networks within a
-- subject, for the workflow run last.
--   sulcus query -f db/queries/consistency.sql
WITH wf AS (SELECT workflow_name AS name FROM runs ORDER BY id DESC LIMIT 1),
     latest AS (
       SELECT e.* FROM executions e JOIN runs r ON r.id = e.run_id JOIN wf ON r.workflow_name = wf.name
       WHERE e.id = (SELECT max(x.id) FROM executions x JOIN runs rx ON rx.id = x.run_id
                     WHERE x.stage = e.stage AND rx.workflow_name = wf.name))
SELECT c.across, coalesce(nullif(c.cam, ''), c.pair) AS model, coalesce(nullif(c.method, ''), c.pair) AS method,
       c.group_name, round(c.spearman, 2) AS spearman, c.pairs
FROM latest e JOIN map_consistency c ON c.cache_key = e.cache_key
WHERE e.kind = 'group_maps'
ORDER BY e.stage, CASE c.across WHEN 'subjects' THEN 1 WHEN 'methods' THEN 2 ELSE 3 END, model, method,
         CASE c.group_name WHEN 'RRMS' THEN 1 WHEN 'SPMS' THEN 2 WHEN 'HC' THEN 3 ELSE 4 END;
