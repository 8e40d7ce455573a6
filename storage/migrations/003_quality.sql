-- Quality control of interpretations: runs, outlier/contradiction flags, re-generation
-- iterations and candidates, fact-check contradictions, relative-KL tables. Append-only:
-- every run keeps its own rows, so a later run never erases why something was flagged.
CREATE SEQUENCE quality_run_id_seq START 1;
CREATE SEQUENCE quality_candidate_id_seq START 1;

CREATE TABLE quality_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('quality_run_id_seq'),
    kind VARCHAR NOT NULL CHECK (kind IN ('flag', 'regenerate', 'factcheck', 'kl')),
    collection VARCHAR,
    dataset VARCHAR,
    backend VARCHAR,
    params JSON,
    job_id BIGINT,
    status VARCHAR NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed', 'cancelled')),
    summary JSON,
    error VARCHAR,
    started_at TIMESTAMP DEFAULT current_timestamp,
    finished_at TIMESTAMP
);

-- One row per flagged interpretation per iteration (iteration 0 for a flag-only run).
-- grp is the activity (or '(all)' for unlabeled data); rank is 1 for the farthest outlier of
-- its group and NULL for a text flagged only because the fact checker contradicts it.
CREATE TABLE quality_flags (
    run_id BIGINT NOT NULL,
    iteration INTEGER NOT NULL,
    interpretation_id BIGINT NOT NULL,
    window_id BIGINT,
    grp VARCHAR NOT NULL,
    cluster INTEGER NOT NULL,
    distance DOUBLE NOT NULL,
    cluster_mean_distance DOUBLE,
    rank INTEGER,
    reason VARCHAR NOT NULL CHECK (reason IN ('outlier', 'contradiction', 'both')),
    n_contradictions INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (run_id, iteration, interpretation_id)
);

CREATE TABLE quality_iterations (
    run_id BIGINT NOT NULL,
    iteration INTEGER NOT NULL,
    n_items INTEGER NOT NULL,
    n_flagged INTEGER NOT NULL,
    n_regenerated INTEGER NOT NULL,
    n_accepted INTEGER NOT NULL,
    n_rejected INTEGER NOT NULL,
    n_unchanged INTEGER NOT NULL,
    n_invalid INTEGER NOT NULL,
    n_failed INTEGER NOT NULL,
    n_locked INTEGER NOT NULL,
    mean_distance_before DOUBLE NOT NULL,
    mean_distance_after DOUBLE NOT NULL,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, iteration)
);

-- Every candidate a backend wrote for a flagged interpretation, kept whatever the decision.
-- Accepted ones also exist as interpretation versions (new_interpretation_id); the others
-- live only here, so they never become current.
CREATE TABLE quality_candidates (
    id BIGINT PRIMARY KEY DEFAULT nextval('quality_candidate_id_seq'),
    run_id BIGINT NOT NULL,
    iteration INTEGER NOT NULL,
    interpretation_id BIGINT NOT NULL,
    window_id BIGINT,
    text VARCHAR NOT NULL,
    decision VARCHAR NOT NULL CHECK (decision IN ('accepted', 'rejected', 'unchanged', 'invalid', 'failed')),
    distance_before DOUBLE,
    distance_after DOUBLE,
    contradictions_before INTEGER,
    contradictions_after INTEGER,
    error VARCHAR,
    new_interpretation_id BIGINT,
    created_at TIMESTAMP DEFAULT current_timestamp
);

-- One row per contradiction between a claim of an interpretation and its window's features.
CREATE TABLE quality_fact_checks (
    run_id BIGINT NOT NULL,
    interpretation_id BIGINT NOT NULL,
    window_id BIGINT,
    claim VARCHAR NOT NULL,
    feature VARCHAR NOT NULL,
    claimed_value DOUBLE,
    measured_value DOUBLE NOT NULL,
    rule VARCHAR NOT NULL,
    severity VARCHAR NOT NULL CHECK (severity IN ('minor', 'major'))
);
CREATE INDEX quality_fact_checks_interp_idx ON quality_fact_checks (interpretation_id);

-- variant: 'current' (the texts current when the run ran) or 'before_run:<id>' (the texts as
-- they were before re-generation run <id>), so one run can hold a before/after pair.
CREATE TABLE quality_kl (
    run_id BIGINT NOT NULL,
    variant VARCHAR NOT NULL DEFAULT 'current',
    dataset_a VARCHAR NOT NULL,
    dataset_b VARCHAR NOT NULL,
    repr VARCHAR NOT NULL,
    collection VARCHAR,
    estimator VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    same_kl DOUBLE NOT NULL,
    different_kl DOUBLE NOT NULL,
    relative_kl DOUBLE NOT NULL,
    n_a INTEGER NOT NULL,
    n_b INTEGER NOT NULL,
    PRIMARY KEY (run_id, variant, label)
);
