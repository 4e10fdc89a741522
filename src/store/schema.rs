//! The schema, as numbered migrations applied in order; `PRAGMA user_version` is
//! the number applied. A migration is never edited once released: change the
//! schema by appending one.

/// Migration `i + 1` is `MIGRATIONS[i]`.
pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    "
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE probes (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        kind       TEXT NOT NULL
    ) STRICT;

    -- Consecutive checks of one probe with the same status and class (up, up+slow,
    -- unknown): one row, updated in place. Latencies are the checks' totals in ms.
    CREATE TABLE runs (
        id         INTEGER PRIMARY KEY,
        probe_id   INTEGER NOT NULL REFERENCES probes(id),
        status     TEXT NOT NULL,
        class      TEXT,
        first_at   INTEGER NOT NULL,
        last_at    INTEGER NOT NULL,
        count      INTEGER NOT NULL,
        lat_min_ms INTEGER,
        lat_sum_ms INTEGER NOT NULL DEFAULT 0,
        lat_max_ms INTEGER
    ) STRICT;
    CREATE INDEX runs_by_probe ON runs(probe_id, last_at);

    -- Every failed (down) check, as evidence: its class, detail and phases.
    CREATE TABLE failures (
        id             INTEGER PRIMARY KEY,
        probe_id       INTEGER NOT NULL REFERENCES probes(id),
        at             INTEGER NOT NULL,
        class          TEXT NOT NULL,
        detail         TEXT NOT NULL,
        resolve_ms     INTEGER,
        connect_ms     INTEGER,
        tls_ms         INTEGER,
        first_byte_ms  INTEGER,
        login_ms       INTEGER,
        total_ms       INTEGER,
        cert_not_after INTEGER
    ) STRICT;
    CREATE INDEX failures_by_probe ON failures(probe_id, at);

    -- Confirmed outages (outage.rs). end IS NULL while open.
    CREATE TABLE outages (
        id                  INTEGER PRIMARY KEY,
        probe_id            INTEGER NOT NULL REFERENCES probes(id),
        start               INTEGER NOT NULL,
        end                 INTEGER,
        last_failure        INTEGER NOT NULL,
        last_success_before INTEGER,
        class               TEXT NOT NULL,
        detail              TEXT NOT NULL,
        failed_checks       INTEGER NOT NULL,
        UNIQUE (probe_id, start)
    ) STRICT;

    -- When the daemon was running and probing (heartbeats extend the last segment).
    CREATE TABLE coverage (
        id      INTEGER PRIMARY KEY,
        vantage TEXT NOT NULL,
        start   INTEGER NOT NULL,
        end     INTEGER NOT NULL
    ) STRICT;

    -- Maintenance windows announced by providers (copied from the configuration).
    CREATE TABLE maintenance (
        id           INTEGER PRIMARY KEY,
        scope        TEXT NOT NULL,
        start        INTEGER NOT NULL,
        end          INTEGER NOT NULL,
        announced_at INTEGER,
        note         TEXT,
        UNIQUE (scope, start, end)
    ) STRICT;

    -- Evidence entered by hand: outages before monitoring began, or read from the
    -- provider's status page. Reports mark them with their source.
    CREATE TABLE incidents (
        id         INTEGER PRIMARY KEY,
        probe      TEXT,
        contract   TEXT,
        start      INTEGER NOT NULL,
        end        INTEGER NOT NULL,
        source     TEXT NOT NULL,
        note       TEXT NOT NULL DEFAULT '',
        created_at INTEGER NOT NULL
    ) STRICT;
    ",
    // 2: the hash chain over the checks (seal.rs) and triggers that keep sealed
    // rows as they were written. Rows already stored are sealed by the migration
    // itself (`seal::seal_legacy`, in the same transaction).
    "
    -- One seal per row of runs or failures, in chain order; ids have no gap.
    -- row_hash = SHA-256(canonical line), chain = SHA-256(previous chain || row_hash).
    CREATE TABLE seals (
        id       INTEGER PRIMARY KEY,
        tbl      TEXT NOT NULL CHECK (tbl IN ('runs', 'failures')),
        row_id   INTEGER NOT NULL,
        row_hash TEXT NOT NULL,
        chain    TEXT NOT NULL,
        -- Where the row was, to name it if it goes missing (not part of the hash).
        probe    TEXT NOT NULL,
        at       INTEGER NOT NULL,
        UNIQUE (tbl, row_id)
    ) STRICT;

    CREATE TRIGGER failures_append_only_update BEFORE UPDATE ON failures
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a failed check cannot be changed');
    END;
    CREATE TRIGGER failures_append_only_delete BEFORE DELETE ON failures
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'failures' AND s.row_id = OLD.id
                 AND s.id > coalesce((SELECT CAST(value AS INTEGER) FROM meta
                                      WHERE key = 'chain_checkpoint_seal'), 0))
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed failed check cannot be deleted (retention prunes it)');
    END;
    CREATE TRIGGER runs_append_only_update BEFORE UPDATE ON runs
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'runs' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed run cannot be changed');
    END;
    CREATE TRIGGER runs_append_only_delete BEFORE DELETE ON runs
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'runs' AND s.row_id = OLD.id
                 AND s.id > coalesce((SELECT CAST(value AS INTEGER) FROM meta
                                      WHERE key = 'chain_checkpoint_seal'), 0))
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed run cannot be deleted (retention prunes it)');
    END;
    CREATE TRIGGER seals_append_only_update BEFORE UPDATE ON seals
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a seal cannot be changed');
    END;
    CREATE TRIGGER seals_append_only_delete BEFORE DELETE ON seals
    WHEN OLD.id > coalesce((SELECT CAST(value AS INTEGER) FROM meta
                            WHERE key = 'chain_checkpoint_seal'), 0)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a seal cannot be deleted (retention prunes it)');
    END;
    -- The canonical lines name the probe: a rename would change every hash.
    CREATE TRIGGER probes_keep_their_name BEFORE UPDATE OF name ON probes
    WHEN NEW.name IS NOT OLD.name
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a probe cannot be renamed');
    END;
    -- The retention checkpoint only moves forward and is never removed.
    CREATE TRIGGER checkpoint_moves_forward BEFORE UPDATE ON meta
    WHEN OLD.key = 'chain_checkpoint_seal'
         AND CAST(NEW.value AS INTEGER) < CAST(OLD.value AS INTEGER)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: the chain checkpoint cannot move back');
    END;
    CREATE TRIGGER checkpoint_stays BEFORE DELETE ON meta
    WHEN OLD.key IN ('chain_checkpoint_seal', 'chain_checkpoint_hash')
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: the chain checkpoint cannot be removed');
    END;
    ",
    // 3: everything a report reads is sealed (outages, coverage, incidents,
    // maintenance; goodwill's table comes with issue 12 and is already allowed in
    // `seals.tbl`), retention is a sealed event (`prunes`) instead of a checkpoint
    // in `meta`, and seals are never deleted. `seals` is rebuilt to widen its CHECK
    // and to allow one row several seals (an outage is sealed open, then closed).
    // Rows already stored are sealed by the migration (`seal::seal_legacy_v3`).
    "
    DROP TRIGGER failures_append_only_delete;
    DROP TRIGGER runs_append_only_update;
    DROP TRIGGER runs_append_only_delete;
    DROP TRIGGER seals_append_only_update;
    DROP TRIGGER seals_append_only_delete;

    -- tbl names the table; probe and at say where the row was, to name it if it
    -- goes missing (not part of the hash): a probe, a vantage (coverage), a scope
    -- (maintenance), a probe or contract (incidents), '' (prunes).
    CREATE TABLE seals_v3 (
        id       INTEGER PRIMARY KEY,
        tbl      TEXT NOT NULL CHECK (tbl IN ('runs', 'failures', 'outages', 'coverage',
                                             'incidents', 'maintenance', 'prunes',
                                             'goodwill')),
        row_id   INTEGER NOT NULL,
        row_hash TEXT NOT NULL,
        chain    TEXT NOT NULL,
        probe    TEXT NOT NULL,
        at       INTEGER NOT NULL
    ) STRICT;
    INSERT INTO seals_v3 (id, tbl, row_id, row_hash, chain, probe, at)
        SELECT id, tbl, row_id, row_hash, chain, probe, at FROM seals;
    DROP TABLE seals;
    ALTER TABLE seals_v3 RENAME TO seals;
    CREATE INDEX seals_by_row ON seals(tbl, row_id);

    -- Retention as evidence: one row per prune that deleted something, sealed.
    -- Rows of runs and failures sealed at or before up_to_seal whose seal instant
    -- is before `before` were deleted (their seals stay); digest = SHA-256 over
    -- their row hashes (32 raw bytes each) in seal order.
    CREATE TABLE prunes (
        id           INTEGER PRIMARY KEY,
        at           INTEGER NOT NULL,
        before       INTEGER NOT NULL,
        up_to_seal   INTEGER NOT NULL,
        retention_ms INTEGER NOT NULL,
        runs         INTEGER NOT NULL,
        failures     INTEGER NOT NULL,
        checks       INTEGER NOT NULL,
        digest       TEXT NOT NULL
    ) STRICT;

    CREATE TRIGGER failures_append_only_delete BEFORE DELETE ON failures
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'failures' AND s.row_id = OLD.id)
     AND NOT EXISTS (SELECT 1 FROM seals s JOIN prunes p ON s.id <= p.up_to_seal AND s.at < p.before
                     WHERE s.tbl = 'failures' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed failed check cannot be deleted (retention prunes it)');
    END;
    CREATE TRIGGER runs_append_only_update BEFORE UPDATE ON runs
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'runs' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed run cannot be changed');
    END;
    CREATE TRIGGER runs_append_only_delete BEFORE DELETE ON runs
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'runs' AND s.row_id = OLD.id)
     AND NOT EXISTS (SELECT 1 FROM seals s JOIN prunes p ON s.id <= p.up_to_seal AND s.at < p.before
                     WHERE s.tbl = 'runs' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed run cannot be deleted (retention prunes it)');
    END;
    CREATE TRIGGER seals_append_only_update BEFORE UPDATE ON seals
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a seal cannot be changed');
    END;
    CREATE TRIGGER seals_append_only_delete BEFORE DELETE ON seals
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a seal cannot be deleted');
    END;
    -- An outage is written open, then closed once: only an open one may change,
    -- and never its probe or start.
    CREATE TRIGGER outages_append_only_update BEFORE UPDATE ON outages
    WHEN OLD.end IS NOT NULL OR NEW.probe_id IS NOT OLD.probe_id OR NEW.start IS NOT OLD.start
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a closed outage cannot be changed');
    END;
    CREATE TRIGGER outages_append_only_delete BEFORE DELETE ON outages
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: an outage cannot be deleted');
    END;
    CREATE TRIGGER coverage_append_only_update BEFORE UPDATE ON coverage
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'coverage' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed coverage segment cannot be changed');
    END;
    CREATE TRIGGER coverage_append_only_delete BEFORE DELETE ON coverage
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a coverage segment cannot be deleted');
    END;
    CREATE TRIGGER incidents_append_only_update BEFORE UPDATE ON incidents
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: an incident cannot be changed');
    END;
    CREATE TRIGGER incidents_append_only_delete BEFORE DELETE ON incidents
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: an incident cannot be deleted');
    END;
    CREATE TRIGGER maintenance_append_only_update BEFORE UPDATE ON maintenance
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a maintenance window cannot be changed');
    END;
    CREATE TRIGGER maintenance_append_only_delete BEFORE DELETE ON maintenance
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a maintenance window cannot be deleted');
    END;
    CREATE TRIGGER prunes_append_only_update BEFORE UPDATE ON prunes
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a prune event cannot be changed');
    END;
    CREATE TRIGGER prunes_append_only_delete BEFORE DELETE ON prunes
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a prune event cannot be deleted');
    END;
    ",
    // 4: incidents that a person can correct without erasing (issue 12). A record is
    // never changed: an amendment or a withdrawal is a new record naming the one it
    // supersedes (at most once: the unique index), with its reason. `open` = no end
    // known yet (`end` then holds `start`). Attachments are files kept as evidence:
    // their name, SHA-256 and size, sealed in their incident's canonical line.
    "
    ALTER TABLE incidents ADD COLUMN cause TEXT;
    ALTER TABLE incidents ADD COLUMN supersedes INTEGER REFERENCES incidents(id);
    ALTER TABLE incidents ADD COLUMN withdrawn INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE incidents ADD COLUMN reason TEXT;
    ALTER TABLE incidents ADD COLUMN tz TEXT;
    ALTER TABLE incidents ADD COLUMN open INTEGER NOT NULL DEFAULT 0;
    CREATE UNIQUE INDEX incidents_superseded_once ON incidents(supersedes)
        WHERE supersedes IS NOT NULL;

    CREATE TABLE incident_attachments (
        id       INTEGER PRIMARY KEY,
        incident INTEGER NOT NULL REFERENCES incidents(id),
        name     TEXT NOT NULL,
        sha256   TEXT NOT NULL,
        size     INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX incident_attachments_by_incident ON incident_attachments(incident, id);
    CREATE TRIGGER incident_attachments_append_only_update BEFORE UPDATE ON incident_attachments
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: an attachment cannot be changed');
    END;
    CREATE TRIGGER incident_attachments_append_only_delete BEFORE DELETE ON incident_attachments
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: an attachment cannot be deleted');
    END;
    ",
    // 5 (issue 12, compare): goodwill offers, sealed. Kept in its own constant so a
    // merge that adds another migration only moves this line.
    GOODWILL_MIGRATION,
    // 6 (issue 13): an association's members, sealed; see `MEMBERS_MIGRATION`.
    MEMBERS_MIGRATION,
    // 7 (issue 17): the alert queue, sealed; see `ALERTS_MIGRATION`.
    ALERTS_MIGRATION,
    // 8 (issue 15): the runs index covers what reports read; see `RUNS_COVERING_MIGRATION`.
    RUNS_COVERING_MIGRATION,
];

/// A report reads every column of a probe's runs over a span (the check spans and
/// the evidence digest's lines, `Reader::spans_and_evidence`). `runs_by_probe
/// (probe_id, last_at)` found them, then SQLite looked each one up in the table:
/// most of a year of reports' reading. This index holds every column after the
/// same two, so those reads never touch the table; it replaces `runs_by_probe`,
/// whose every use it serves (its first two columns are the same), so the writer
/// still updates one index per run. `IF (NOT) EXISTS`: a database made to look
/// older by setting `user_version` back keeps its indexes.
pub(super) const RUNS_COVERING_MIGRATION: &str = "
    CREATE INDEX IF NOT EXISTS runs_covering ON runs(
        probe_id, last_at, first_at, status, class, count, lat_min_ms, lat_sum_ms, lat_max_ms
    );
    DROP INDEX IF EXISTS runs_by_probe;
    ";

/// The goodwill offers of the configuration (`[[goodwill]]`), copied once each, one
/// row per contract or plan named (`scope` = `contract:ID` or `plan:ID`), sealed as
/// inserted and append-only. `at` is the event's date at 00:00 UTC, in ms (it names
/// the row when it goes missing). Absent values are NULL; `amount` is the decimal text.
pub(super) const GOODWILL_MIGRATION: &str = "
    CREATE TABLE goodwill (
        id             INTEGER PRIMARY KEY,
        scope          TEXT NOT NULL,
        event          TEXT NOT NULL,
        date           TEXT NOT NULL,
        at             INTEGER NOT NULL,
        announced      TEXT,
        extension_days INTEGER,
        amount         TEXT,
        upgrade        TEXT,
        source         TEXT,
        note           TEXT
    ) STRICT;
    CREATE INDEX goodwill_by_scope ON goodwill(scope, date);
    CREATE TRIGGER goodwill_append_only_update BEFORE UPDATE ON goodwill
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a goodwill offer cannot be changed');
    END;
    CREATE TRIGGER goodwill_append_only_delete BEFORE DELETE ON goodwill
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a goodwill offer cannot be deleted');
    END;
    ";

/// The SQL that rebuilds `seals` so its `tbl` CHECK allows `$tables` (a quoted,
/// comma-separated SQL list), through the temporary table `$tmp`: rows are copied
/// with their ids, the index and append-only triggers of `seals` are created again,
/// and so are the triggers of `failures`, `runs` and `coverage` that read `seals`,
/// exactly as they were; the migration drops those triggers first (they name
/// `seals`, which is dropped and renamed under them). Migrations 6 and 7
/// use it; migration 3's rebuild predates the coverage trigger and stays written out.
/// A macro, not a function: migrations are `&'static str` constants (`concat!`).
macro_rules! rebuild_seals {
    ($tmp:literal, $tables:literal) => {
        concat!(
            "    CREATE TABLE ",
            $tmp,
            " (
        id       INTEGER PRIMARY KEY,
        tbl      TEXT NOT NULL CHECK (tbl IN (",
            $tables,
            ")),
        row_id   INTEGER NOT NULL,
        row_hash TEXT NOT NULL,
        chain    TEXT NOT NULL,
        probe    TEXT NOT NULL,
        at       INTEGER NOT NULL
    ) STRICT;
    INSERT INTO ",
            $tmp,
            " (id, tbl, row_id, row_hash, chain, probe, at)
        SELECT id, tbl, row_id, row_hash, chain, probe, at FROM seals;
    DROP TABLE seals;
    ALTER TABLE ",
            $tmp,
            " RENAME TO seals;
    CREATE INDEX seals_by_row ON seals(tbl, row_id);

    CREATE TRIGGER seals_append_only_update BEFORE UPDATE ON seals
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a seal cannot be changed');
    END;
    CREATE TRIGGER seals_append_only_delete BEFORE DELETE ON seals
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a seal cannot be deleted');
    END;
    CREATE TRIGGER failures_append_only_delete BEFORE DELETE ON failures
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'failures' AND s.row_id = OLD.id)
     AND NOT EXISTS (SELECT 1 FROM seals s JOIN prunes p ON s.id <= p.up_to_seal AND s.at < p.before
                     WHERE s.tbl = 'failures' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed failed check cannot be deleted (retention prunes it)');
    END;
    CREATE TRIGGER runs_append_only_update BEFORE UPDATE ON runs
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'runs' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed run cannot be changed');
    END;
    CREATE TRIGGER runs_append_only_delete BEFORE DELETE ON runs
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'runs' AND s.row_id = OLD.id)
     AND NOT EXISTS (SELECT 1 FROM seals s JOIN prunes p ON s.id <= p.up_to_seal AND s.at < p.before
                     WHERE s.tbl = 'runs' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed run cannot be deleted (retention prunes it)');
    END;
    CREATE TRIGGER coverage_append_only_update BEFORE UPDATE ON coverage
    WHEN EXISTS (SELECT 1 FROM seals s WHERE s.tbl = 'coverage' AND s.row_id = OLD.id)
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a sealed coverage segment cannot be changed');
    END;
",
        )
    };
}

/// Migration 6 (issue 13): the members of an association, one record per (member,
/// service), sealed as inserted and append-only like incidents: a changed row is a
/// new record whose `supersedes` names the latest one of its key (at most once: the
/// unique index). Absent values are NULL, never ''; `fee` is the decimal text,
/// `service_start` `YYYY-MM-DD`, `created_at` ms. `seals` is rebuilt to allow
/// `members` in its CHECK (as migration 3 did), so the triggers that read it are
/// dropped first and created again as they were. Incidents gain an index on
/// `contract`: a member's incidents are read one contract at a time.
pub(super) const MEMBERS_MIGRATION: &str = concat!(
    "
    DROP TRIGGER failures_append_only_delete;
    DROP TRIGGER runs_append_only_update;
    DROP TRIGGER runs_append_only_delete;
    DROP TRIGGER coverage_append_only_update;

",
    rebuild_seals!(
        "seals_v6",
        "'runs', 'failures', 'outages', 'coverage',
                                             'incidents', 'maintenance', 'prunes',
                                             'goodwill', 'members'"
    ),
    "
    CREATE TABLE members (
        id              INTEGER PRIMARY KEY,
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
        supersedes      INTEGER REFERENCES members(id),
        created_at      INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX members_by_key ON members(member, service, id);
    CREATE UNIQUE INDEX members_superseded_once ON members(supersedes)
        WHERE supersedes IS NOT NULL;
    CREATE TRIGGER members_append_only_update BEFORE UPDATE ON members
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a member record cannot be changed');
    END;
    CREATE TRIGGER members_append_only_delete BEFORE DELETE ON members
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a member record cannot be deleted');
    END;

    CREATE INDEX IF NOT EXISTS incidents_by_contract ON incidents(contract, start);
    ",
);

/// Migration 7 (issue 17): the alert queue, sealed. An alert is stored once per
/// channel (`UNIQUE (channel, key)`: raising it again stores nothing) with what is
/// sent: the e-mail's subject, text and HTML, or the webhook's JSON body (`subject`
/// and `html` NULL). Every delivery attempt is a row of `alert_attempts`: its
/// instant, `outcome` (`sent`, `error`: retried later, `failed`: given up), the
/// error (never a secret) and how long it took. Both tables are append-only (an
/// alert's state is read from its attempts) and sealed as inserted. `seals` is
/// rebuilt to allow them in its CHECK, as migration 6 did.
pub(super) const ALERTS_MIGRATION: &str = concat!(
    "
    DROP TRIGGER failures_append_only_delete;
    DROP TRIGGER runs_append_only_update;
    DROP TRIGGER runs_append_only_delete;
    DROP TRIGGER coverage_append_only_update;
    DROP TRIGGER seals_append_only_update;
    DROP TRIGGER seals_append_only_delete;

",
    rebuild_seals!(
        "seals_v7",
        "'runs', 'failures', 'outages', 'coverage',
                                             'incidents', 'maintenance', 'prunes',
                                             'goodwill', 'members', 'alerts',
                                             'alert_attempts'"
    ),
    "
    CREATE TABLE alerts (
        id        INTEGER PRIMARY KEY,
        channel   TEXT NOT NULL,
        key       TEXT NOT NULL,
        event     TEXT NOT NULL,
        raised_at INTEGER NOT NULL,
        subject   TEXT,
        body      TEXT NOT NULL,
        html      TEXT,
        UNIQUE (channel, key)
    ) STRICT;
    CREATE TABLE alert_attempts (
        id      INTEGER PRIMARY KEY,
        alert   INTEGER NOT NULL REFERENCES alerts(id),
        at      INTEGER NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('sent', 'error', 'failed')),
        error   TEXT,
        took_ms INTEGER
    ) STRICT;
    CREATE INDEX alert_attempts_by_alert ON alert_attempts(alert, id);
    CREATE TRIGGER alerts_append_only_update BEFORE UPDATE ON alerts
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: an alert cannot be changed');
    END;
    CREATE TRIGGER alerts_append_only_delete BEFORE DELETE ON alerts
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: an alert cannot be deleted');
    END;
    CREATE TRIGGER alert_attempts_append_only_update BEFORE UPDATE ON alert_attempts
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a delivery attempt cannot be changed');
    END;
    CREATE TRIGGER alert_attempts_append_only_delete BEFORE DELETE ON alert_attempts
    BEGIN
        SELECT RAISE(ABORT, 'evidence is append-only: a delivery attempt cannot be deleted');
    END;
    ",
);
