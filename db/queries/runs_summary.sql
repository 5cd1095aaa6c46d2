-- Each run with how many stages ran, came from the cache, failed or were skipped.
SELECT r.id, r.started_at, r.status, r.workflow_name,
       sum(e.status = 'ran') AS ran, sum(e.status = 'cached') AS cached,
       sum(e.status = 'failed') AS failed, sum(e.status = 'skipped') AS skipped,
       round(sum(e.wall_s), 2) AS stage_seconds
FROM runs r LEFT JOIN executions e ON e.run_id = r.id
GROUP BY r.id ORDER BY r.id;
