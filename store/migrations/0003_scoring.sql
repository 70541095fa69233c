-- Scoring: the online scoring log (one row per scored customer, sampled,
-- for drift monitoring) and the batch scores of a day's clean customers.

-- Written in batches by COPY from promoflow serve; no primary key so the
-- insert path never waits on a unique index.
CREATE TABLE scoring_log (
    at          timestamptz      NOT NULL,
    model       text             NOT NULL,
    version     int              NOT NULL,
    request_id  text             NOT NULL,
    customer_id text             NOT NULL DEFAULT '',
    features    jsonb            NOT NULL,
    propensity  double precision NOT NULL,
    uplift      jsonb
);
CREATE INDEX scoring_log_model_at ON scoring_log (model, at);

-- One row per customer of a source and day and the model version that
-- scored it. Batch scoring upserts, so a re-run of a partition (an activity
-- retry) replaces its own rows and touches no other.
CREATE TABLE scores (
    model       text             NOT NULL,
    source      text             NOT NULL,
    day         date             NOT NULL,
    customer_id text             NOT NULL,
    version     int              NOT NULL,
    propensity  double precision NOT NULL,
    uplift      jsonb,
    scored_at   timestamptz      NOT NULL DEFAULT now(),
    PRIMARY KEY (model, source, day, customer_id)
);
