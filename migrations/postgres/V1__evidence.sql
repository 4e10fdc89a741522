-- The shared store (issue 18): every vantage's sealed evidence, as its own SQLite
-- holds it, one row per (vantage, id). Each table mirrors the SQLite table of the
-- same name (src/store/schema.rs) column for column, with `vantage` added: the
-- name of the vantage that wrote the row (`[daemon] vantage`). Ids are the
-- vantage's own SQLite row ids, so each vantage's hash chain (`seals`, id = the
-- seal number) is verifiable on its own, exactly as `slawatch verify` walks it in
-- SQLite. A migration is never edited once released: append V2, V3, ...

CREATE TABLE vantages (
    name            TEXT PRIMARY KEY,
    -- When this vantage first and last shipped (ms since the epoch, UTC).
    first_shipped   BIGINT NOT NULL,
    last_shipped    BIGINT NOT NULL,
    -- The highest seal number shipped, and its chain value (lower-case hex).
    last_seal       BIGINT NOT NULL DEFAULT 0,
    last_chain      TEXT
);

CREATE TABLE probes (
    vantage TEXT NOT NULL,
    id      BIGINT NOT NULL,
    name    TEXT NOT NULL,
    kind    TEXT NOT NULL,
    PRIMARY KEY (vantage, id),
    UNIQUE (vantage, name)
);

CREATE TABLE seals (
    vantage  TEXT NOT NULL,
    id       BIGINT NOT NULL,
    tbl      TEXT NOT NULL,
    row_id   BIGINT NOT NULL,
    row_hash TEXT NOT NULL,
    chain    TEXT NOT NULL,
    probe    TEXT NOT NULL,
    at       BIGINT NOT NULL,
    PRIMARY KEY (vantage, id)
);
CREATE INDEX seals_by_row ON seals (vantage, tbl, row_id);

CREATE TABLE runs (
    vantage    TEXT NOT NULL,
    id         BIGINT NOT NULL,
    probe_id   BIGINT NOT NULL,
    status     TEXT NOT NULL,
    class      TEXT,
    first_at   BIGINT NOT NULL,
    last_at    BIGINT NOT NULL,
    count      BIGINT NOT NULL,
    lat_min_ms BIGINT,
    lat_sum_ms BIGINT NOT NULL DEFAULT 0,
    lat_max_ms BIGINT,
    PRIMARY KEY (vantage, id)
);
CREATE INDEX runs_by_probe ON runs (vantage, probe_id, last_at);

CREATE TABLE failures (
    vantage        TEXT NOT NULL,
    id             BIGINT NOT NULL,
    probe_id       BIGINT NOT NULL,
    at             BIGINT NOT NULL,
    class          TEXT NOT NULL,
    detail         TEXT NOT NULL,
    resolve_ms     BIGINT,
    connect_ms     BIGINT,
    tls_ms         BIGINT,
    first_byte_ms  BIGINT,
    login_ms       BIGINT,
    total_ms       BIGINT,
    cert_not_after BIGINT,
    PRIMARY KEY (vantage, id)
);
CREATE INDEX failures_by_probe ON failures (vantage, probe_id, at);

CREATE TABLE outages (
    vantage             TEXT NOT NULL,
    id                  BIGINT NOT NULL,
    probe_id            BIGINT NOT NULL,
    start               BIGINT NOT NULL,
    "end"               BIGINT,
    last_failure        BIGINT NOT NULL,
    last_success_before BIGINT,
    class               TEXT NOT NULL,
    detail              TEXT NOT NULL,
    failed_checks       BIGINT NOT NULL,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE coverage (
    vantage      TEXT NOT NULL,
    id           BIGINT NOT NULL,
    -- The vantage named in the row itself (the SQLite column), kept as written.
    row_vantage  TEXT NOT NULL,
    start        BIGINT NOT NULL,
    "end"        BIGINT NOT NULL,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE maintenance (
    vantage      TEXT NOT NULL,
    id           BIGINT NOT NULL,
    scope        TEXT NOT NULL,
    start        BIGINT NOT NULL,
    "end"        BIGINT NOT NULL,
    announced_at BIGINT,
    note         TEXT,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE incidents (
    vantage    TEXT NOT NULL,
    id         BIGINT NOT NULL,
    probe      TEXT,
    contract   TEXT,
    start      BIGINT NOT NULL,
    "end"      BIGINT NOT NULL,
    source     TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    cause      TEXT,
    supersedes BIGINT,
    withdrawn  BIGINT NOT NULL DEFAULT 0,
    reason     TEXT,
    tz         TEXT,
    open       BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE incident_attachments (
    vantage  TEXT NOT NULL,
    id       BIGINT NOT NULL,
    incident BIGINT NOT NULL,
    name     TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    size     BIGINT NOT NULL,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE prunes (
    vantage      TEXT NOT NULL,
    id           BIGINT NOT NULL,
    at           BIGINT NOT NULL,
    before       BIGINT NOT NULL,
    up_to_seal   BIGINT NOT NULL,
    retention_ms BIGINT NOT NULL,
    runs         BIGINT NOT NULL,
    failures     BIGINT NOT NULL,
    checks       BIGINT NOT NULL,
    digest       TEXT NOT NULL,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE goodwill (
    vantage        TEXT NOT NULL,
    id             BIGINT NOT NULL,
    scope          TEXT NOT NULL,
    event          TEXT NOT NULL,
    date           TEXT NOT NULL,
    at             BIGINT NOT NULL,
    announced      TEXT,
    extension_days BIGINT,
    amount         TEXT,
    upgrade        TEXT,
    source         TEXT,
    note           TEXT,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE members (
    vantage         TEXT NOT NULL,
    id              BIGINT NOT NULL,
    member          TEXT NOT NULL,
    service         TEXT NOT NULL,
    name            TEXT NOT NULL,
    email           TEXT,
    address         TEXT,
    provider        TEXT,
    plan            TEXT NOT NULL,
    fee             TEXT,
    fee_period      TEXT,
    customer_type   TEXT,
    service_start   TEXT,
    lang            TEXT,
    customer_code   TEXT,
    contract_number TEXT,
    supersedes      BIGINT,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE alerts (
    vantage   TEXT NOT NULL,
    id        BIGINT NOT NULL,
    channel   TEXT NOT NULL,
    key       TEXT NOT NULL,
    event     TEXT NOT NULL,
    raised_at BIGINT NOT NULL,
    subject   TEXT,
    body      TEXT NOT NULL,
    html      TEXT,
    PRIMARY KEY (vantage, id)
);

CREATE TABLE alert_attempts (
    vantage TEXT NOT NULL,
    id      BIGINT NOT NULL,
    alert   BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    error   TEXT,
    took_ms BIGINT,
    PRIMARY KEY (vantage, id)
);

-- The daemon's chain checkpoints (src/checkpoint.rs), one per line it appended:
-- the chain head left the vantage's database at `at`.
CREATE TABLE checkpoints (
    vantage TEXT NOT NULL,
    at      BIGINT NOT NULL,
    event   TEXT NOT NULL,
    seal    BIGINT NOT NULL,
    chain   TEXT NOT NULL,
    line    TEXT NOT NULL,
    PRIMARY KEY (vantage, at, seal, event)
);

-- Append-only, as in SQLite: a sealed row is never changed or deleted; an open
-- outage may be closed once (its second seal ships with it). Someone who drops
-- these triggers is still caught by `slawatch verify --shared`.
CREATE FUNCTION slawatch_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'outages' AND OLD."end" IS NULL
       AND NEW.probe_id = OLD.probe_id AND NEW.start = OLD.start THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'evidence is append-only: % of a sealed % row is refused', TG_OP, TG_TABLE_NAME;
END;
$$;

CREATE TRIGGER seals_append_only BEFORE UPDATE OR DELETE ON seals
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER runs_append_only BEFORE UPDATE OR DELETE ON runs
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER failures_append_only BEFORE UPDATE OR DELETE ON failures
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER outages_append_only BEFORE UPDATE OR DELETE ON outages
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER coverage_append_only BEFORE UPDATE OR DELETE ON coverage
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER maintenance_append_only BEFORE UPDATE OR DELETE ON maintenance
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER incidents_append_only BEFORE UPDATE OR DELETE ON incidents
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER incident_attachments_append_only BEFORE UPDATE OR DELETE ON incident_attachments
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER prunes_append_only BEFORE UPDATE OR DELETE ON prunes
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER goodwill_append_only BEFORE UPDATE OR DELETE ON goodwill
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER members_append_only BEFORE UPDATE OR DELETE ON members
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER alerts_append_only BEFORE UPDATE OR DELETE ON alerts
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER alert_attempts_append_only BEFORE UPDATE OR DELETE ON alert_attempts
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
CREATE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION slawatch_append_only();
