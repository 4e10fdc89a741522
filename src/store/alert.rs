//! The alert queue's records (issue 17, migration 7): each alert raised, once per
//! channel, with what is sent, and every delivery attempt. Written by the writer
//! thread like every other record (committed within [`super::COMMIT_EVERY`], so a
//! crash loses at most the last second), sealed as inserted, never updated or
//! deleted: an alert's state (pending, sent, failed) is read from its attempts.
//!
//! Invariant: an alert is stored once per (channel, key); raising it again stores
//! nothing, and its content is the first one stored.
//! Invariant: an attempt's error never holds a secret: the channels' errors name a
//! webhook by its origin and an SMTP server by host and port.

use super::seal::{self, Head, Table};
use super::{Reader, StoreError, sql};
use crate::model::UtcMillis;
use rusqlite::{OptionalExtension, params};

/// An alert to queue on one channel, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct NewAlert {
    /// The channel's name: `email (HOST:PORT)` or `webhook N (ORIGIN)`.
    pub(crate) channel: String,
    /// The alert's key (`down:PROBE:START_MS`...): unique per channel.
    pub(crate) key: String,
    /// The event's name as the webhook body says it (`outage_opened`...).
    pub(crate) event: String,
    /// When slawatch raised it.
    pub(crate) raised_at: UtcMillis,
    /// The e-mail's subject; `None` for a webhook.
    pub(crate) subject: Option<String>,
    /// The e-mail's plain text, or the webhook's JSON body.
    pub(crate) body: String,
    /// The e-mail's HTML part, if any.
    pub(crate) html: Option<String>,
}

/// How a delivery attempt ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Delivered: the channel accepted it.
    Sent,
    /// Not delivered; retried later.
    Error,
    /// Not delivered, and given up: no more attempts.
    Failed,
}

impl Outcome {
    /// As stored in `alert_attempts.outcome`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Sent => "sent",
            Outcome::Error => "error",
            Outcome::Failed => "failed",
        }
    }
}

/// One delivery attempt of the alert `key` on `channel`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Attempt {
    /// The alert's channel.
    pub(crate) channel: String,
    /// The alert's key.
    pub(crate) key: String,
    /// When the attempt ended.
    pub(crate) at: UtcMillis,
    /// How.
    pub(crate) outcome: Outcome,
    /// Why it failed (no secret in it).
    pub(crate) error: Option<String>,
    /// How long it took, in milliseconds.
    pub(crate) took_ms: Option<i64>,
}

/// Where an alert stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AlertState {
    /// Not delivered yet; retried.
    Pending,
    /// Delivered.
    Sent,
    /// Given up.
    Failed,
}

impl AlertState {
    /// `pending`, `sent` or `failed`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AlertState::Pending => "pending",
            AlertState::Sent => "sent",
            AlertState::Failed => "failed",
        }
    }
}

/// A stored alert with what its attempts say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StoredAlert {
    /// The alert as queued.
    pub(crate) alert: NewAlert,
    /// Attempts so far.
    pub(crate) attempts: u32,
    /// When the last attempt ended.
    pub(crate) last_attempt: Option<UtcMillis>,
    /// The last error, if the last attempt failed.
    pub(crate) last_error: Option<String>,
    /// When it was delivered.
    pub(crate) sent_at: Option<UtcMillis>,
    /// Pending, sent or failed.
    pub(crate) state: AlertState,
}

/// Stores `a` unless its channel already has its key, and seals the new row.
pub(super) fn write_alert(
    tx: &rusqlite::Transaction<'_>,
    head: &mut Head,
    a: &NewAlert,
) -> rusqlite::Result<()> {
    let added = tx
        .prepare_cached(
            "INSERT INTO alerts (channel, key, event, raised_at, subject, body, html)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (channel, key) DO NOTHING",
        )?
        .execute(params![
            a.channel,
            a.key,
            a.event,
            a.raised_at.0,
            a.subject,
            a.body,
            a.html
        ])?;
    if added == 1 {
        seal::seal(tx, head, Table::Alerts, tx.last_insert_rowid())?;
    }
    Ok(())
}

/// Appends attempt `a` to its alert and seals it. An attempt for an alert not
/// stored (it was set aside) is logged and dropped: there is nothing to attach it to.
pub(super) fn write_attempt(
    tx: &rusqlite::Transaction<'_>,
    head: &mut Head,
    a: &Attempt,
) -> rusqlite::Result<()> {
    let alert: Option<i64> = tx
        .prepare_cached("SELECT id FROM alerts WHERE channel = ?1 AND key = ?2")?
        .query_row(params![a.channel, a.key], |r| r.get(0))
        .optional()?;
    let Some(alert) = alert else {
        tracing::warn!(channel = %a.channel, key = %a.key, "a delivery attempt of an alert that is not stored; not recorded");
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT INTO alert_attempts (alert, at, outcome, error, took_ms)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        alert,
        a.at.0,
        a.outcome.as_str(),
        a.error,
        a.took_ms
    ])?;
    seal::seal(tx, head, Table::AlertAttempts, tx.last_insert_rowid())
}

impl Reader {
    /// Every alert raised at or after `since` (all with `None`), oldest first, with
    /// where it stands. Empty for a database from before the alert queue.
    ///
    /// # Errors
    /// On a database error.
    pub(crate) fn alerts(&self, since: Option<UtcMillis>) -> Result<Vec<StoredAlert>, StoreError> {
        let e = sql(&self.path);
        let exists: bool = self
            .conn
            .query_row(
                "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'alerts'",
                [],
                |r| r.get(0),
            )
            .map_err(&e)?;
        if !exists {
            return Ok(Vec::new());
        }
        let mut stmt = self
            .conn
            .prepare(
                "SELECT l.channel, l.key, l.event, l.raised_at, l.subject, l.body, l.html,
                        (SELECT count(*) FROM alert_attempts a WHERE a.alert = l.id),
                        (SELECT max(a.at) FROM alert_attempts a WHERE a.alert = l.id),
                        (SELECT a.error FROM alert_attempts a WHERE a.alert = l.id
                         ORDER BY a.id DESC LIMIT 1),
                        (SELECT min(a.at) FROM alert_attempts a
                         WHERE a.alert = l.id AND a.outcome = 'sent'),
                        EXISTS (SELECT 1 FROM alert_attempts a
                                WHERE a.alert = l.id AND a.outcome = 'failed')
                 FROM alerts l WHERE l.raised_at >= ?1 ORDER BY l.raised_at, l.id",
            )
            .map_err(&e)?;
        let rows = stmt
            .query_map([since.map_or(i64::MIN, |s| s.0)], |r| {
                let sent_at = r.get::<_, Option<i64>>(10)?.map(UtcMillis);
                let failed: bool = r.get(11)?;
                Ok(StoredAlert {
                    alert: NewAlert {
                        channel: r.get(0)?,
                        key: r.get(1)?,
                        event: r.get(2)?,
                        raised_at: UtcMillis(r.get(3)?),
                        subject: r.get(4)?,
                        body: r.get(5)?,
                        html: r.get(6)?,
                    },
                    attempts: r.get(7)?,
                    last_attempt: r.get::<_, Option<i64>>(8)?.map(UtcMillis),
                    last_error: r.get(9)?,
                    sent_at,
                    state: if sent_at.is_some() {
                        AlertState::Sent
                    } else if failed {
                        AlertState::Failed
                    } else {
                        AlertState::Pending
                    },
                })
            })
            .map_err(&e)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn alert(channel: &str, key: &str, body: &str) -> NewAlert {
        NewAlert {
            channel: channel.into(),
            key: key.into(),
            event: "outage_opened".into(),
            raised_at: UtcMillis(1_000),
            subject: Some("[slawatch] DOWN web (refused)".into()),
            body: body.into(),
            html: None,
        }
    }

    fn attempt(channel: &str, key: &str, at: i64, outcome: Outcome) -> Attempt {
        Attempt {
            channel: channel.into(),
            key: key.into(),
            at: UtcMillis(at),
            outcome,
            error: (outcome != Outcome::Sent).then(|| "connection refused".to_owned()),
            took_ms: Some(3),
        }
    }

    #[test]
    fn an_alert_is_stored_once_per_channel_and_its_state_comes_from_its_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let store = Store::open(&db).unwrap();
        store
            .record_alert(&alert("email", "down:web:1", "first"))
            .unwrap();
        // The same key again on the same channel: nothing new, the first content stays.
        store
            .record_alert(&alert("email", "down:web:1", "second"))
            .unwrap();
        store
            .record_alert(&alert("webhook 1", "down:web:1", "{}"))
            .unwrap();
        store
            .record_alert(&alert("webhook 2", "down:web:1", "{}"))
            .unwrap();
        store
            .record_alert_attempt(&attempt("email", "down:web:1", 2_000, Outcome::Error))
            .unwrap();
        store
            .record_alert_attempt(&attempt("email", "down:web:1", 12_000, Outcome::Sent))
            .unwrap();
        store
            .record_alert_attempt(&attempt("webhook 1", "down:web:1", 2_000, Outcome::Error))
            .unwrap();
        store
            .record_alert_attempt(&attempt("webhook 2", "down:web:1", 2_000, Outcome::Failed))
            .unwrap();
        // An attempt of an alert never stored is dropped, not attached elsewhere.
        store
            .record_alert_attempt(&attempt("email", "down:other:1", 2_000, Outcome::Sent))
            .unwrap();
        store.close().unwrap();

        let reader = Reader::open(&db).unwrap();
        let all = reader.alerts(None).unwrap();
        let view: Vec<(&str, &str, u32, Option<i64>, AlertState)> = all
            .iter()
            .map(|s| {
                (
                    s.alert.channel.as_str(),
                    s.alert.body.as_str(),
                    s.attempts,
                    s.sent_at.map(|t| t.0),
                    s.state,
                )
            })
            .collect();
        assert_eq!(
            view,
            [
                ("email", "first", 2, Some(12_000), AlertState::Sent),
                ("webhook 1", "{}", 1, None, AlertState::Pending),
                ("webhook 2", "{}", 1, None, AlertState::Failed),
            ]
        );
        assert_eq!(all[1].last_error.as_deref(), Some("connection refused"));
        assert!(reader.alerts(Some(UtcMillis(1_001))).unwrap().is_empty());
        // Three alerts and four attempts, each sealed; nothing else in the chain.
        let report = reader.verify_chain().unwrap();
        assert!(report.intact(), "{report:?}");
        assert_eq!(reader.chain_head().unwrap().map(|h| h.0), Some(7));
    }
}
