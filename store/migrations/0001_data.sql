-- Data plane: files ingested per (source, day), their raw rows, the cleaned
-- rows, the quarantine and the per-day cleaning runs and data-quality summary.
-- Tables are created unqualified: they live in the connection's search_path.

CREATE TABLE ingested_files (
    source      text        NOT NULL,
    day         date        NOT NULL,
    file        text        NOT NULL,
    sha256      text        NOT NULL,
    bytes       bigint      NOT NULL CHECK (bytes >= 0),
    rows        bigint      NOT NULL CHECK (rows >= 0),
    header      text[]      NOT NULL,
    duration_ms bigint      NOT NULL,
    ingested_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, day, file)
);

-- One row per data record of an ingested file; line is the physical line on
-- which the record starts, so a (source, day, file, line) is written once.
CREATE TABLE raw_rows (
    source text   NOT NULL,
    day    date   NOT NULL,
    file   text   NOT NULL,
    line   int    NOT NULL,
    fields text[] NOT NULL,
    PRIMARY KEY (source, day, file, line)
);

-- Rows that passed every cleaning rule; fields follow clean_runs.header.
CREATE TABLE clean_rows (
    source      text   NOT NULL,
    day         date   NOT NULL,
    file        text   NOT NULL,
    line        int    NOT NULL,
    customer_id text   NOT NULL,
    fields      text[] NOT NULL,
    PRIMARY KEY (source, day, file, line)
);

-- Rows a cleaning rule rejected: the first rule that caught the row, the
-- column concerned (empty for whole-row rules) and the raw line.
CREATE TABLE quarantine (
    source text NOT NULL,
    day    date NOT NULL,
    file   text NOT NULL,
    line   int  NOT NULL,
    rule   text NOT NULL CHECK (rule IN ('type', 'nan', 'required', 'range', 'level', 'duplicate', 'scalper')),
    col    text NOT NULL,
    detail text NOT NULL,
    raw    text NOT NULL,
    PRIMARY KEY (source, day, file, line)
);
CREATE INDEX quarantine_rule ON quarantine (source, day, rule);

-- The last cleaning run of a day. inputs_sha256 digests the checksums of the
-- files cleaned and config_sha256 the rules, so an identical re-run is a no-op.
CREATE TABLE clean_runs (
    source        text        NOT NULL,
    day           date        NOT NULL,
    rows_in       bigint      NOT NULL,
    clean         bigint      NOT NULL,
    quarantined   bigint      NOT NULL,
    header        text[]      NOT NULL,
    inputs_sha256 text        NOT NULL,
    config_sha256 text        NOT NULL,
    duration_ms   bigint      NOT NULL,
    cleaned_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, day),
    CONSTRAINT clean_runs_rows_balance CHECK (rows_in = clean + quarantined)
);

CREATE TABLE dq_summary (
    source  text  NOT NULL,
    day     date  NOT NULL,
    summary jsonb NOT NULL,
    PRIMARY KEY (source, day)
);
