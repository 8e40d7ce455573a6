-- One status vocabulary for jobs, quality runs, training runs and benchmarks
-- (lanhar_core.jobs.RUN_STATUSES): a run stopped by a cancel request is 'interrupted', as
-- training runs and benchmarks already said, no longer 'cancelled'. quality_runs is rebuilt
-- because its CHECK constraint named the old word (DuckDB cannot alter a CHECK in place);
-- nothing references it by foreign key.
UPDATE jobs SET status = 'interrupted' WHERE status = 'cancelled';

CREATE TABLE quality_runs_v2 (
    id BIGINT PRIMARY KEY DEFAULT nextval('quality_run_id_seq'),
    kind VARCHAR NOT NULL CHECK (kind IN ('flag', 'regenerate', 'factcheck', 'kl')),
    collection VARCHAR,
    dataset VARCHAR,
    backend VARCHAR,
    params JSON,
    job_id BIGINT,
    status VARCHAR NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed', 'interrupted')),
    summary JSON,
    error VARCHAR,
    started_at TIMESTAMP DEFAULT current_timestamp,
    finished_at TIMESTAMP
);

INSERT INTO quality_runs_v2
SELECT id, kind, collection, dataset, backend, params, job_id,
       CASE WHEN status = 'cancelled' THEN 'interrupted' ELSE status END,
       summary, error, started_at, finished_at
FROM quality_runs;

DROP TABLE quality_runs;
ALTER TABLE quality_runs_v2 RENAME TO quality_runs;
