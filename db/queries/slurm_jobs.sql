-- How each stage of the latest run was executed: job id, node, final state,
-- exit code, wall time and the resources it asked for (schema version 2).
SELECT e.stage, j.executor, j.job_id, j.node, j.state, j.exit_code, round(j.wall_s, 1) AS wall_s, j.resources
FROM executions e JOIN jobs j ON j.execution_id = e.id
WHERE e.run_id = (SELECT max(id) FROM runs)
ORDER BY e.id;
