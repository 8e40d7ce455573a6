-- The review decision log: what each reviewer decided, as one row per decision (a bulk
-- action is one decision) with the status changes it made, so undo and redo work from the
-- store across reloads, sessions and machines. A decision is 'done', 'undone' (on the
-- reviewer's redo stack, ordered by undo_seq) or 'dropped' (undone, then superseded by a new
-- decision, so it can no longer be redone). The status changes themselves are ordinary rows
-- of interpretation_reviews; this log only says which rows belong together.
CREATE SEQUENCE review_decision_id_seq START 1;
CREATE SEQUENCE review_undo_seq START 1;

CREATE TABLE review_decisions (
    id BIGINT PRIMARY KEY DEFAULT nextval('review_decision_id_seq'),
    reviewer VARCHAR NOT NULL,
    collection VARCHAR NOT NULL,
    action VARCHAR NOT NULL,
    description VARCHAR NOT NULL,
    state VARCHAR NOT NULL DEFAULT 'done' CHECK (state IN ('done', 'undone', 'dropped')),
    undo_seq BIGINT,
    created_at TIMESTAMP DEFAULT current_timestamp
);

CREATE TABLE review_decision_changes (
    decision_id BIGINT NOT NULL,
    interpretation_id BIGINT NOT NULL,
    undo_status VARCHAR NOT NULL CHECK (undo_status IN ('unreviewed', 'accepted', 'rejected')),
    redo_status VARCHAR NOT NULL CHECK (redo_status IN ('unreviewed', 'accepted', 'rejected'))
);
CREATE INDEX review_decision_changes_idx ON review_decision_changes (decision_id);
