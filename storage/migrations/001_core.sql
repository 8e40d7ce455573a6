-- Datasets, recordings, windows, the activity vocabulary and long-running jobs.
CREATE SEQUENCE recording_id_seq START 1;
CREATE SEQUENCE window_id_seq START 1;
CREATE SEQUENCE job_id_seq START 1;

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
    attribution VARCHAR,
    license VARCHAR,
    params JSON,
    ingested_at TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE recordings (
    id BIGINT PRIMARY KEY DEFAULT nextval('recording_id_seq'),
    dataset VARCHAR NOT NULL,
    key VARCHAR NOT NULL,
    subject VARCHAR NOT NULL,
    session VARCHAR,
    device VARCHAR,
    placement VARCHAR,
    native_rate_hz DOUBLE NOT NULL,
    n_samples BIGINT NOT NULL,
    duration_s DOUBLE NOT NULL,
    source_file VARCHAR,
    meta JSON,
    UNIQUE (dataset, key)
);

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
CREATE INDEX windows_dataset_idx ON windows (dataset);

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
