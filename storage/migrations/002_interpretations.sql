-- Interpretations (append-only versions), the exact prompts behind them, reviews, and the
-- LLM reply cache. Nothing here is ever updated in place: a new version, a new review row
-- or a new cache row is appended instead, so every text stays traceable to its prompt.
CREATE SEQUENCE prompt_id_seq START 1;
CREATE SEQUENCE interpretation_id_seq START 1;
CREATE SEQUENCE review_id_seq START 1;

CREATE TABLE prompts (
    id BIGINT PRIMARY KEY DEFAULT nextval('prompt_id_seq'),
    template VARCHAR NOT NULL,
    version VARCHAR NOT NULL,
    messages JSON NOT NULL,
    cache_key VARCHAR NOT NULL UNIQUE,
    created_at TIMESTAMP DEFAULT current_timestamp
);

-- target_key is 'window:<window_id>' or 'label:<label>:<desc_index>': one string per target
-- so that version chains, the current view and resumption all group on a single column.
CREATE TABLE interpretations (
    id BIGINT PRIMARY KEY DEFAULT nextval('interpretation_id_seq'),
    collection VARCHAR NOT NULL,
    target_kind VARCHAR NOT NULL CHECK (target_kind IN ('window', 'label')),
    target_key VARCHAR NOT NULL,
    window_id BIGINT,
    label VARCHAR,
    desc_index INTEGER,
    version INTEGER NOT NULL,
    parent_id BIGINT,
    prompt_id BIGINT,
    backend VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    params JSON,
    text VARCHAR NOT NULL,
    fields JSON,
    valid BOOLEAN NOT NULL,
    invalid_reason VARCHAR,
    origin VARCHAR NOT NULL CHECK (origin IN ('generated', 'regenerated', 'edited')),
    from_cache BOOLEAN NOT NULL DEFAULT false,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd DOUBLE NOT NULL DEFAULT 0,
    latency_s DOUBLE NOT NULL DEFAULT 0,
    created_at TIMESTAMP DEFAULT current_timestamp,
    UNIQUE (collection, target_key, version)
);
CREATE INDEX interpretations_collection_idx ON interpretations (collection);

-- Review decisions are rows, not columns of the interpretation: the newest row per
-- interpretation is its status, so decisions can be undone without losing the trail.
CREATE TABLE interpretation_reviews (
    id BIGINT PRIMARY KEY DEFAULT nextval('review_id_seq'),
    interpretation_id BIGINT NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('unreviewed', 'accepted', 'rejected')),
    reviewer VARCHAR,
    note VARCHAR,
    created_at TIMESTAMP DEFAULT current_timestamp
);

-- Identical prompt + backend + model + parameters is answered from here, never paid twice.
CREATE TABLE llm_cache (
    cache_key VARCHAR NOT NULL,
    backend VARCHAR NOT NULL,
    model VARCHAR NOT NULL,
    params_hash VARCHAR NOT NULL,
    text VARCHAR NOT NULL,
    prompt_tokens INTEGER NOT NULL DEFAULT 0,
    completion_tokens INTEGER NOT NULL DEFAULT 0,
    cost_usd DOUBLE NOT NULL DEFAULT 0,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (cache_key, backend, model, params_hash)
);

CREATE VIEW interpretation_status AS
SELECT i.*,
       coalesce(r.status, 'unreviewed') AS review_status,
       r.reviewer AS reviewer,
       r.note AS review_note,
       r.created_at AS reviewed_at
FROM interpretations i
LEFT JOIN (
    SELECT *, row_number() OVER (PARTITION BY interpretation_id ORDER BY id DESC) AS rn
    FROM interpretation_reviews
) r ON r.interpretation_id = i.id AND r.rn = 1;

-- The current version per (collection, target): the reviewer's accepted (or edited, which is
-- accepted on creation) version if any, else the newest valid one not rejected, else the
-- newest one not rejected, else the newest. Automatic runs only append versions, so they can
-- never displace an accepted one.
CREATE VIEW current_interpretations AS
SELECT * EXCLUDE (rank_in_target)
FROM (
    SELECT s.*,
           row_number() OVER (
               PARTITION BY collection, target_key
               ORDER BY (review_status = 'accepted') DESC,
                        (valid AND review_status <> 'rejected') DESC,
                        (review_status <> 'rejected') DESC,
                        version DESC
           ) AS rank_in_target
    FROM interpretation_status s
)
WHERE rank_in_target = 1;
