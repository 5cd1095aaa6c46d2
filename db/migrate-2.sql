-- Schema version 2: how each executed stage was run.
--
-- One row per execution handed to an executor: this machine's child
-- processes ('local') or a Slurm cluster ('slurm').  For Slurm, job_id is the
-- Slurm job id, node the compute node, state Slurm's final JobState
-- (COMPLETED, FAILED, TIMEOUT, OUT_OF_MEMORY, CANCELLED, NODE_FAIL, ...).

CREATE TABLE jobs (
  execution_id INTEGER PRIMARY KEY REFERENCES executions(id) ON DELETE CASCADE,
  executor     TEXT NOT NULL,       -- 'local' or 'slurm'
  job_id       TEXT NOT NULL,       -- process id (local) or Slurm job id
  node         TEXT,                -- host that ran the stage
  state        TEXT,                -- final state, NULL while in flight
  exit_code    INTEGER,             -- the stage process's exit status
  signal       INTEGER,             -- the signal that ended it, or 0
  wall_s       REAL,                -- as the executor measured it
  resources    TEXT NOT NULL,       -- JSON: what was requested (cpus, mem, time, gpus, partition, account, sbatch)
  submitted_at TEXT NOT NULL
);
CREATE INDEX jobs_by_job_id ON jobs (executor, job_id);
