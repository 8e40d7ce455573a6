-- Evaluation: one row per benchmark invocation and one per (protocol, pair, method, variant, seed) result.
CREATE TABLE benchmarks (
    id VARCHAR PRIMARY KEY,
    protocol VARCHAR NOT NULL,
    params JSON NOT NULL,
    code_version VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    wall_s DOUBLE NOT NULL DEFAULT 0,
    error VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp,
    finished_at TIMESTAMP
);

CREATE SEQUENCE eval_result_id_seq START 1;

CREATE TABLE eval_results (
    id BIGINT PRIMARY KEY DEFAULT nextval('eval_result_id_seq'),
    benchmark_id VARCHAR NOT NULL,
    protocol VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    variant VARCHAR NOT NULL,
    seed INTEGER NOT NULL,
    metrics JSON NOT NULL,
    config JSON NOT NULL,
    wall_s DOUBLE NOT NULL,
    code_version VARCHAR NOT NULL,
    created_at TIMESTAMP DEFAULT current_timestamp
);
