-- What ran in the latest run, and why (params changed, input changed, ...).
SELECT stage, status, reason, round(wall_s, 2) AS seconds
FROM executions
WHERE run_id = (SELECT max(id) FROM runs) AND status <> 'cached'
ORDER BY id;
