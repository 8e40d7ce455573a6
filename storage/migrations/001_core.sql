-- Datasets, recordings, windows, the activity vocabulary and long-running jobs.
-- Window signals live in a FLOAT[] column (not a sibling Parquet file): see the measurements
-- in the docstring of storage/datasets.py.
CREATE SEQUENCE recording_id_seq START 1;
CREATE SEQUENCE window_id_seq START 1;
CREATE SEQUENCE job_id_seq START 1;

-- content_hash covers the source files, the reader options and the preprocessing settings:
-- re-ingesting with the same hash is a no-op.
CREATE TABLE datasets (
    name VARCHAR PRIMARY KEY,
    reader VARCHAR NOT NULL,
    title VARCHAR,
    placement VARCHAR,
    native_rate_hz DOUBLE,
    rate_hz DOUBLE NOT NULL,
    window_samples INTEGER NOT NULL,
    stride_samples INTEGER NOT NULL,
    content_hash VARCHAR NOT NULL,
    source_path VARCHAR,
    attribution VARCHAR,
    license VARCHAR,
    conversions VARCHAR,
    params JSON,
    ingested_at TIMESTAMP DEFAULT current_timestamp
);

-- n_samples/duration_s are at the analysis rate (rate_hz); native_* describe the source.
CREATE TABLE recordings (
    id BIGINT PRIMARY KEY DEFAULT nextval('recording_id_seq'),
    dataset VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    session VARCHAR,
    device VARCHAR,
    placement VARCHAR,
    native_rate_hz DOUBLE NOT NULL,
    native_n_samples BIGINT NOT NULL,
    rate_hz DOUBLE NOT NULL,
    n_samples BIGINT NOT NULL,
    duration_s DOUBLE NOT NULL,
    source_file VARCHAR,
    meta JSON,
    UNIQUE (dataset, key)
);

-- The whole resampled recording, row-major (n_samples x 6) flattened, for the viewer:
-- windows alone miss the unlabeled stretches and transitions between activities.
CREATE TABLE recording_signals (
    recording_id BIGINT PRIMARY KEY,
    signals FLOAT[] NOT NULL
);

-- Runs of constant (segment, label, native label) at the analysis rate: the activity bands
-- of the viewer and the gaps (segment changes) of the recording. end_sample is exclusive.
CREATE TABLE recording_runs (
    recording_id BIGINT NOT NULL,
    segment INTEGER NOT NULL,
    start_sample INTEGER NOT NULL,
    end_sample INTEGER NOT NULL,
    label VARCHAR,
    native_label VARCHAR
);

-- signals: length x 6 row-major float32 in canonical units (acc m/s^2 with gravity, gyro rad/s).
CREATE TABLE windows (
    id BIGINT PRIMARY KEY DEFAULT nextval('window_id_seq'),
    dataset VARCHAR NOT NULL,
    recording_id BIGINT NOT NULL,
    start_sample INTEGER NOT NULL,
    length INTEGER NOT NULL,
    rate_hz DOUBLE NOT NULL,
    subject VARCHAR NOT NULL,
    placement VARCHAR,
    label VARCHAR,
    native_label VARCHAR,
    signals FLOAT[] NOT NULL
);

CREATE TABLE activities (
    name VARCHAR PRIMARY KEY,
    category VARCHAR,
    display VARCHAR NOT NULL,
    builtin BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE label_map (
    dataset VARCHAR NOT NULL,
    native_label VARCHAR NOT NULL,
    activity VARCHAR NOT NULL,
    PRIMARY KEY (dataset, native_label)
);

CREATE TABLE jobs (
    id BIGINT PRIMARY KEY DEFAULT nextval('job_id_seq'),
    kind VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    params JSON,
    done BIGINT NOT NULL DEFAULT 0,
    total BIGINT,
    message VARCHAR,
    error VARCHAR,
    pid INTEGER,
    cancel_requested BOOLEAN NOT NULL DEFAULT false,
    started_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp,
    finished_at TIMESTAMP
);
