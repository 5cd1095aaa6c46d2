-- The last value of every metric of every stage in the latest run, whether the
-- stage ran or came from the cache (metrics are keyed by cache key).
SELECT e.stage, m.name, m.step, m.value
FROM executions e
JOIN metrics m ON m.cache_key = e.cache_key
WHERE e.run_id = (SELECT max(id) FROM runs)
  AND (m.step IS NULL OR m.step = (SELECT max(step) FROM metrics x
                                   WHERE x.cache_key = m.cache_key AND x.name = m.name))
ORDER BY e.stage, m.name;
