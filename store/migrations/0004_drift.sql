-- Drift history: one check per model and monitored day (a re-run of the
-- day replaces it), with its per-feature results. MonitorDrift counts
-- consecutive breached checks from here to decide on a rollback.

CREATE TABLE drift_checks (
    model         text             NOT NULL,
    day           date             NOT NULL,
    version       int              NOT NULL,
    rows          bigint           NOT NULL,
    drifted_share double precision NOT NULL,
    dataset_drift boolean          NOT NULL,
    -- realised performance of the production version on the day's labelled
    -- rows; NULL until labels arrive
    realised      jsonb,
    -- checks over their rollback limit: [{"check", "value", "limit"}]
    breaches      jsonb            NOT NULL DEFAULT '[]',
    breached      boolean          NOT NULL,
    workflow_id   text             NOT NULL DEFAULT '',
    checked_at    timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (model, day)
);

CREATE TABLE drift_features (
    model     text             NOT NULL,
    day       date             NOT NULL,
    feature   text             NOT NULL,
    kind      text             NOT NULL CHECK (kind IN ('numeric', 'categorical', 'score')),
    psi       double precision NOT NULL,
    ks_stat   double precision,
    ks_p      double precision,
    js        double precision NOT NULL,
    severity  text             NOT NULL CHECK (severity IN ('ok', 'warn', 'act')),
    drifted   boolean          NOT NULL,
    -- bins: edges or levels with reference and current counts
    detail    jsonb            NOT NULL DEFAULT '{}',
    PRIMARY KEY (model, day, feature),
    FOREIGN KEY (model, day) REFERENCES drift_checks (model, day) ON DELETE CASCADE
);
