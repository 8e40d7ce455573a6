-- Training runs (stage 1, stage 2, ...), their per-epoch metrics and artifacts, and the
-- text-embedding cache keyed by (encoder version, text hash).
CREATE SEQUENCE training_run_id_seq START 1;

CREATE TABLE training_runs (
    id BIGINT PRIMARY KEY DEFAULT nextval('training_run_id_seq'),
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    config JSON NOT NULL,
    seed INTEGER NOT NULL,
    data_selection JSON NOT NULL,
    code_version VARCHAR NOT NULL,
    parent_run_id BIGINT,
    pid INTEGER,
    epochs_done INTEGER NOT NULL DEFAULT 0,
    steps_done BIGINT NOT NULL DEFAULT 0,
    wall_s DOUBLE NOT NULL DEFAULT 0,
    error VARCHAR,
    summary JSON,
    started_at TIMESTAMP DEFAULT current_timestamp,
    finished_at TIMESTAMP
);

CREATE TABLE training_epochs (
    run_id BIGINT NOT NULL,
    epoch INTEGER NOT NULL,
    step BIGINT NOT NULL,
    losses JSON NOT NULL,
    val_metrics JSON NOT NULL,
    wall_s DOUBLE NOT NULL,
    recorded_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, epoch)
);

CREATE TABLE training_artifacts (
    run_id BIGINT NOT NULL,
    name VARCHAR NOT NULL,
    path VARCHAR NOT NULL,
    size_bytes BIGINT,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, name)
);

CREATE TABLE embedding_cache (
    encoder_version VARCHAR NOT NULL,
    text_sha256 VARCHAR NOT NULL,
    vector FLOAT[] NOT NULL,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (encoder_version, text_sha256)
);
