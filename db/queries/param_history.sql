-- How a stage's parameters changed across runs (set STAGE below).
SELECT e.run_id, e.status, e.params_json, r.overrides
FROM executions e JOIN runs r ON r.id = e.run_id
WHERE e.stage = 'fit_x'
ORDER BY e.run_id;
