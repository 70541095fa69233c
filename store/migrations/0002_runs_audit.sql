-- Pipeline runs and the audit log of every change to a model's aliases.

CREATE TABLE runs (
    workflow_id text        NOT NULL,
    run_id      text        NOT NULL,
    model       text        NOT NULL,
    day         date        NOT NULL,
    status      text        NOT NULL,
    steps       jsonb       NOT NULL DEFAULT '[]',
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    PRIMARY KEY (workflow_id, run_id)
);
CREATE INDEX runs_model_started ON runs (model, started_at DESC);

-- move_id is the caller's idempotency key: recording the same move twice
-- (an activity retry) keeps one entry.
CREATE TABLE audit_log (
    id           bigserial   PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text        NOT NULL,
    action       text        NOT NULL,
    model        text        NOT NULL,
    alias        text        NOT NULL DEFAULT '',
    from_version int,
    to_version   int,
    reason       text        NOT NULL DEFAULT '',
    workflow_id  text        NOT NULL DEFAULT '',
    move_id      text        NOT NULL UNIQUE,
    detail       jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_model_at ON audit_log (model, at);
