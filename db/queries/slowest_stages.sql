-- The stages that took longest, with CPU time and peak memory.
SELECT stage, run_id, round(wall_s, 2) AS wall_s, round(cpu_s, 2) AS cpu_s, max_rss_kb
FROM executions WHERE status = 'ran'
ORDER BY wall_s DESC LIMIT 10;
