//! How an alert reads: the e-mail's subject, plain text and HTML, in the alert's
//! language; the webhook's JSON body.
//!
//! The subject starts with `[slawatch]` and an English tag word (`DOWN`, `UP`,
//! `FLAPPING`, `DIGEST`, `BREACH`, `DEADLINE`, `CERT`, `OFFLINE`, `ONLINE`, `TEST`)
//! in every language, so one mail filter serves both; the rest is in
//! [`Alert::lang`]. Each mail says what happened, since when, what slawatch does
//! next and where the evidence is (`slawatch outages`, `slawatch report`); times are
//! UTC in RFC 3339, and the mail says so. Money is the event's decimal string, as
//! the SLA engine computed it.
//!
//! The words are chosen here, per language, into a [`View`]; the two templates
//! (`templates/alert-mail.txt`, `templates/alert-mail.html`) only lay it out, the
//! HTML one escaping every value (`templates/askama.toml`): a probe's detail is a
//! server's text and may hold markup.

use super::{Alert, AlertEvent};
use crate::config::format_duration;
use crate::model::UtcMillis;
use crate::outage::Outage;
use crate::report::Lang;
use askama::Template;
use std::time::Duration;

/// One e-mail, rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Mail {
    /// `[slawatch] DOWN shop-site (timeout)`: a person can filter on it.
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part; `None` sends plain text only.
    pub html: Option<String>,
}

/// What a mail says, in its language, before layout.
struct View {
    /// `en`, `it`: the HTML's `lang`.
    lang: &'static str,
    subject: String,
    /// One sentence: what happened.
    headline: String,
    /// `label: value` lines (a table in HTML).
    facts: Vec<(String, String)>,
    /// Titled lists (a digest's probes).
    lists: Vec<(String, Vec<String>)>,
    /// What slawatch does next, where the evidence is.
    next: Vec<String>,
    /// Where the times are from, who sent it.
    footer: Vec<String>,
    /// The title of the data block (plain text only).
    data_title: String,
    /// The webhook body's scalar fields, `name: value`, for filters and scripts.
    data: Vec<(String, String)>,
}

/// The plain-text part: `templates/alert-mail.txt`, nothing escaped.
#[derive(Template)]
#[template(path = "alert-mail.txt", escape = "none", whitespace = "preserve")]
struct Text<'v>(&'v View);

/// The HTML part: `templates/alert-mail.html`, every value escaped.
#[derive(Template)]
#[template(path = "alert-mail.html", config = "templates/askama.toml")]
struct Html<'v>(&'v View);

impl std::ops::Deref for Text<'_> {
    type Target = View;
    fn deref(&self) -> &View {
        self.0
    }
}

impl std::ops::Deref for Html<'_> {
    type Target = View;
    fn deref(&self) -> &View {
        self.0
    }
}

/// The e-mail for `alert`: subject, plain text and HTML.
pub(crate) fn mail(alert: &Alert, vantage: &str) -> Mail {
    let view = view(alert, vantage);
    // A template renders into a String: only a Display impl's error can fail it,
    // and none of the values here has one that does.
    let text = Text(&view)
        .render()
        .unwrap_or_else(|_| view.headline.clone());
    let html = Html(&view).render().ok();
    Mail {
        subject: view.subject,
        text,
        html,
    }
}

/// The webhook's JSON body for `alert`: the event's fields, `vantage` and `key`
/// (every field of every event: `docs/webhooks.md`).
pub(crate) fn body(alert: &Alert, vantage: &str) -> String {
    let mut v = body_value(&alert.event, vantage);
    if let Some(m) = v.as_object_mut() {
        m.insert("key".into(), alert.key.clone().into());
    }
    v.to_string()
}

fn body_value(event: &AlertEvent, vantage: &str) -> serde_json::Value {
    let mut v = serde_json::to_value(event).unwrap_or_default();
    if let Some(m) = v.as_object_mut() {
        m.insert("vantage".into(), vantage.into());
    }
    v
}

/// The body's scalar fields, one `name: value` each (`-` for null); lists (a
/// digest's outages) are in the mail's own list instead.
fn data(alert: &Alert, vantage: &str) -> Vec<(String, String)> {
    let v = body_value(&alert.event, vantage);
    let mut out = Vec::new();
    if let Some(map) = v.as_object() {
        for (k, v) in map {
            let v = match v {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".to_owned(),
                serde_json::Value::Array(_) | serde_json::Value::Object(_) => continue,
                other => other.to_string(),
            };
            out.push((k.clone(), v));
        }
    }
    out.push(("key".to_owned(), alert.key.clone()));
    out
}

/// `12m 30s 999ms`: exact to the millisecond; `0s` for nothing or less.
fn dur(ms: i64) -> String {
    format_duration(Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

/// `12m 30s`: truncated to the whole second, for subjects.
fn dur_s(ms: i64) -> String {
    dur(ms - ms.rem_euclid(1000))
}

/// `2026-12-06`: the UTC date of an instant.
fn date(t: UtcMillis) -> String {
    jiff::tz::TimeZone::UTC
        .to_datetime(t.to_timestamp())
        .date()
        .to_string()
}

/// English or Italian.
fn tr(lang: Lang, en: String, it: String) -> String {
    match lang {
        Lang::En => en,
        Lang::It => it,
    }
}

/// `s` for a plural in English.
fn s(n: impl Into<i64>) -> &'static str {
    if n.into() == 1 { "" } else { "s" }
}

/// `servizio` or `servizi`.
fn servizi(n: i64) -> &'static str {
    if n == 1 { "servizio" } else { "servizi" }
}

/// The Italian ending of `giorno`/`giorni`.
fn oi(n: impl Into<i64>) -> &'static str {
    if n.into() == 1 { "o" } else { "i" }
}

fn view(alert: &Alert, vantage: &str) -> View {
    let l = alert.lang;
    let t = |en: &str, it: &str| tr(l, en.to_owned(), it.to_owned());
    let evidence = t(
        "Evidence: `slawatch outages` lists the outages with their checks; `slawatch report` counts them against each contract's SLA for the billing period.",
        "Le prove: `slawatch outages` elenca i disservizi con i loro controlli; `slawatch report` li conteggia rispetto allo SLA di ogni contratto per il periodo di fatturazione.",
    );
    let mut v = View {
        lang: l.as_str(),
        subject: String::new(),
        headline: String::new(),
        facts: Vec::new(),
        lists: Vec::new(),
        next: Vec::new(),
        footer: vec![
            t(
                "Times are UTC, written as RFC 3339 (2026-04-03T10:15:30.000Z).",
                "Gli orari sono in UTC, nel formato RFC 3339 (2026-04-03T10:15:30.000Z).",
            ),
            tr(
                l,
                format!(
                    "Sent by slawatch at {vantage} on {}. Alert key: {}.",
                    alert.raised_at, alert.key
                ),
                format!(
                    "Inviato da slawatch presso {vantage} il {}. Chiave dell'avviso: {}.",
                    alert.raised_at, alert.key
                ),
            ),
        ],
        data_title: t(
            "The alert's data, as its webhook body carries them:",
            "I dati dell'avviso, come li porta il corpo del webhook:",
        ),
        data: data(alert, vantage),
    };
    let fact = |v: &mut View, en: &str, it: &str, value: String| {
        v.facts.push((t(en, it), value));
    };
    match &alert.event {
        AlertEvent::Down { outage: o } => {
            v.subject = format!("[slawatch] DOWN {} ({})", o.probe, o.class);
            v.headline = tr(
                l,
                format!(
                    "{} is DOWN since {}: {} ({}).",
                    o.probe, o.start, o.class, o.detail
                ),
                format!(
                    "{} è DOWN (non risponde) dal {}: {} ({}).",
                    o.probe, o.start, o.class, o.detail
                ),
            );
            outage_facts(&mut v, l, o, vantage, false);
            v.next.push(tr(
                l,
                format!(
                    "slawatch keeps checking {} and sends an UP alert, with the outage's duration, when it answers again. Nothing else is sent for this outage in between.",
                    o.probe
                ),
                format!(
                    "slawatch continua a controllare {} e invierà un avviso UP, con la durata del disservizio, quando risponderà di nuovo. Nel frattempo non invia altro per questo disservizio.",
                    o.probe
                ),
            ));
            v.next.push(evidence);
        }
        AlertEvent::Up { outage: o } => {
            let total = o.end.map(|e| e.0 - o.start.0);
            v.subject = tr(
                l,
                format!(
                    "[slawatch] UP {} after {}",
                    o.probe,
                    dur_s(total.unwrap_or(0))
                ),
                format!(
                    "[slawatch] UP {} dopo {}",
                    o.probe,
                    dur_s(total.unwrap_or(0))
                ),
            );
            let total = total.map_or_else(|| "-".to_owned(), dur);
            let proven = dur(o.proven_ms());
            v.headline = tr(
                l,
                format!(
                    "{} answers again: the outage lasted {total}, of which {proven} proven by failed checks.",
                    o.probe
                ),
                format!(
                    "{} risponde di nuovo: il disservizio è durato {total}, di cui {proven} provati da controlli falliti.",
                    o.probe
                ),
            );
            outage_facts(&mut v, l, o, vantage, true);
            v.next.push(t(
                "The outage is closed and stored as evidence; slawatch alerts again only if it fails anew.",
                "Il disservizio è chiuso e registrato come prova; slawatch avvisa di nuovo solo a un nuovo guasto.",
            ));
            v.next.push(evidence);
        }
        AlertEvent::Flapping {
            probe,
            changes,
            window_ms,
        } => {
            let window = dur(*window_ms);
            v.subject = tr(
                l,
                format!("[slawatch] FLAPPING {probe} ({changes} changes in {window})"),
                format!("[slawatch] FLAPPING {probe} ({changes} cambi di stato in {window})"),
            );
            v.headline = tr(
                l,
                format!("{probe} changed state {changes} times within {window}: it is flapping."),
                format!("{probe} ha cambiato stato {changes} volte in {window}: è instabile."),
            );
            fact(&mut v, "Probe", "Servizio controllato", probe.clone());
            fact(
                &mut v,
                "State changes",
                "Cambi di stato",
                changes.to_string(),
            );
            fact(&mut v, "Within", "Nell'arco di", window);
            v.next.push(tr(
                l,
                format!("Instead of an alert per change, slawatch now sends summaries for {probe}, and a last one when it holds a state for a whole window. Every check and outage is still recorded."),
                format!("Invece di un avviso per ogni cambio, slawatch ora invia riepiloghi per {probe}, e un ultimo quando mantiene lo stato per un intero intervallo. Ogni controllo e disservizio resta registrato."),
            ));
            v.next.push(evidence);
        }
        AlertEvent::FlapSummary {
            probe,
            changes,
            since,
            state,
            stable,
        } => {
            let state_tag = state.to_uppercase();
            v.subject = match (l, stable) {
                (Lang::En, true) => format!("[slawatch] FLAPPING {probe} over, now {state_tag}"),
                (Lang::En, false) => format!(
                    "[slawatch] FLAPPING {probe} goes on: {changes} change{}, now {state_tag}",
                    s(*changes)
                ),
                (Lang::It, true) => format!("[slawatch] FLAPPING {probe} finito, ora {state_tag}"),
                (Lang::It, false) => format!(
                    "[slawatch] FLAPPING {probe} continua: {changes} cambi di stato, ora {state_tag}"
                ),
            };
            v.headline = match (l, stable) {
                (Lang::En, true) => format!(
                    "{probe} has stopped flapping: it is {state_tag} and held that state for a whole window ({changes} change{} since {since}).",
                    s(*changes)
                ),
                (Lang::En, false) => format!(
                    "{probe} is still flapping: {changes} change{} since {since}, now {state_tag}.",
                    s(*changes)
                ),
                (Lang::It, true) => format!(
                    "{probe} non è più instabile: è {state_tag} e ha mantenuto lo stato per un intero intervallo ({changes} cambi di stato dal {since})."
                ),
                (Lang::It, false) => format!(
                    "{probe} è ancora instabile: {changes} cambi di stato dal {since}, ora {state_tag}."
                ),
            };
            fact(&mut v, "Probe", "Servizio controllato", probe.clone());
            fact(&mut v, "State now", "Stato attuale", state_tag);
            fact(
                &mut v,
                "State changes",
                "Cambi di stato",
                changes.to_string(),
            );
            fact(&mut v, "Counted since", "Contati dal", since.to_string());
            v.next.push(if *stable {
                t(
                    "From now on slawatch sends an alert per state change of this probe again.",
                    "Da ora slawatch torna a inviare un avviso per ogni cambio di stato di questo servizio.",
                )
            } else {
                t(
                    "slawatch keeps sending summaries until the probe holds a state for a whole window.",
                    "slawatch continua a inviare riepiloghi finché il servizio non mantiene lo stato per un intero intervallo.",
                )
            });
            v.next.push(evidence);
        }
        AlertEvent::Digest {
            group,
            down,
            up,
            flaps,
        } => {
            let (nd, nu) = (down.len(), up.len());
            let (nd64, nu64) = (
                i64::try_from(nd).unwrap_or(i64::MAX),
                i64::try_from(nu).unwrap_or(i64::MAX),
            );
            let counts = match (l, nd, nu) {
                (Lang::En, _, 0) => format!("{nd} probe{} down", s(nd64)),
                (Lang::En, 0, _) => format!("{nu} probe{} up", s(nu64)),
                (Lang::En, _, _) => format!("{nd} probe{} down, {nu} up", s(nd64)),
                (Lang::It, _, 0) => format!("{nd} {} DOWN", servizi(nd64)),
                (Lang::It, 0, _) => format!("{nu} {} UP", servizi(nu64)),
                (Lang::It, _, _) => format!("{nd} {} DOWN, {nu} UP", servizi(nd64)),
            };
            v.subject = format!("[slawatch] DIGEST {counts} ({group})");
            v.headline = tr(
                l,
                format!(
                    "{counts} ({group}) within a short window: one alert for all of them, not one each."
                ),
                format!(
                    "{counts} ({group}) in un breve intervallo: un solo avviso per tutti, non uno ciascuno."
                ),
            );
            if !down.is_empty() {
                let items = down
                    .iter()
                    .map(|o| {
                        tr(
                            l,
                            format!(
                                "{}: {} ({}), down since {}",
                                o.probe, o.class, o.detail, o.start
                            ),
                            format!(
                                "{}: {} ({}), DOWN dal {}",
                                o.probe, o.class, o.detail, o.start
                            ),
                        )
                    })
                    .collect();
                v.lists.push((t("DOWN:", "DOWN:"), items));
            }
            if !up.is_empty() {
                let items = up
                    .iter()
                    .map(|o| {
                        let total = o
                            .end
                            .map_or_else(|| "-".to_owned(), |e| dur(e.0 - o.start.0));
                        tr(
                            l,
                            format!(
                                "{}: up again after {total} (down since {})",
                                o.probe, o.start
                            ),
                            format!(
                                "{}: di nuovo UP dopo {total} (DOWN dal {})",
                                o.probe, o.start
                            ),
                        )
                    })
                    .collect();
                v.lists.push((t("UP:", "UP:"), items));
            }
            if !flaps.is_empty() {
                let items = flaps
                    .iter()
                    .filter_map(|f| match f {
                        AlertEvent::Flapping { probe, changes, .. } => Some(tr(
                            l,
                            format!("{probe}: flapping, {changes} changes"),
                            format!("{probe}: instabile, {changes} cambi di stato"),
                        )),
                        AlertEvent::FlapSummary {
                            probe,
                            changes,
                            state,
                            stable,
                            ..
                        } => Some(match (l, stable) {
                            (Lang::En, true) => {
                                format!("{probe}: stable again, {state} ({changes} changes)")
                            }
                            (Lang::En, false) => {
                                format!("{probe}: still flapping, {state} now ({changes} changes)")
                            }
                            (Lang::It, true) => format!(
                                "{probe}: di nuovo stabile, {state} ({changes} cambi di stato)"
                            ),
                            (Lang::It, false) => format!(
                                "{probe}: ancora instabile, ora {state} ({changes} cambi di stato)"
                            ),
                        }),
                        _ => None,
                    })
                    .collect();
                v.lists.push((t("Flapping:", "Instabili:"), items));
            }
            v.next.push(t(
                "Many probes changing at once point to a shared cause (the provider, or the network in between). slawatch keeps checking each of them; further changes in the next short window come in one more digest.",
                "Molti servizi che cambiano insieme indicano una causa comune (il fornitore, o la rete di mezzo). slawatch continua a controllarli uno per uno; altri cambi nel prossimo breve intervallo arrivano in un altro riepilogo.",
            ));
            v.next.push(evidence);
        }
        AlertEvent::Breach {
            contract,
            period_start,
            period_end,
            downtime_ms,
            allowed_ms,
            credit,
            currency,
        } => {
            v.subject = match credit {
                Some(credit) => tr(
                    l,
                    format!(
                        "[slawatch] BREACH {contract}: SLA missed, credit so far {credit} {currency}"
                    ),
                    format!(
                        "[slawatch] BREACH {contract}: SLA non rispettato, indennizzo maturato {credit} {currency}"
                    ),
                ),
                None => tr(
                    l,
                    format!("[slawatch] BREACH {contract}: SLA missed"),
                    format!("[slawatch] BREACH {contract}: SLA non rispettato"),
                ),
            };
            v.headline = tr(
                l,
                format!(
                    "The counted downtime of {contract} in the open period {} has crossed what its SLA allows: {} against {} allowed.",
                    period(l, period_start, period_end),
                    dur(*downtime_ms),
                    dur(*allowed_ms)
                ),
                format!(
                    "Il tempo di disservizio conteggiato per {contract} nel periodo in corso, {}, ha superato quello ammesso dallo SLA: {} contro {} ammessi.",
                    period(l, period_start, period_end),
                    dur(*downtime_ms),
                    dur(*allowed_ms)
                ),
            );
            fact(&mut v, "Contract", "Contratto", contract.clone());
            fact(
                &mut v,
                "Billing period",
                "Periodo di fatturazione",
                period(l, period_start, period_end),
            );
            fact(
                &mut v,
                "Counted downtime so far",
                "Disservizio conteggiato finora",
                dur(*downtime_ms),
            );
            fact(
                &mut v,
                "Allowed over the period",
                "Ammesso nel periodo",
                dur(*allowed_ms),
            );
            fact(
                &mut v,
                "Credit owed so far",
                "Indennizzo maturato finora",
                credit.as_ref().map_or_else(
                    || {
                        t(
                            "not computable: the plan's remedy is not an amount (see slawatch sla)",
                            "non calcolabile: il rimedio del piano non è un importo (vedi slawatch sla)",
                        )
                    },
                    |c| format!("{c} {currency}"),
                ),
            );
            v.next.push(tr(
                l,
                format!("The period is still open: the credit can grow until it ends on {period_end}. `slawatch sla` computes the same figures now; once the period has closed, `slawatch report` writes its report and the claim letter. slawatch reminds you of the claim deadline 14 and 3 days before."),
                format!("Il periodo è ancora in corso: l'indennizzo può crescere fino alla sua fine, il {period_end}. `slawatch sla` calcola ora gli stessi valori; a periodo chiuso, `slawatch report` scrive il resoconto e la lettera di richiesta. slawatch ricorda la scadenza del reclamo 14 e 3 giorni prima."),
            ));
        }
        AlertEvent::DeadlineNear {
            contract,
            period_start,
            period_end,
            deadline,
            days_left,
        } => {
            v.subject = tr(
                l,
                format!(
                    "[slawatch] DEADLINE {contract}: claim by {deadline} ({days_left} day{} left)",
                    s(*days_left)
                ),
                format!(
                    "[slawatch] DEADLINE {contract}: reclamo entro il {deadline} (manca{} {days_left} giorn{})",
                    if *days_left == 1 { "" } else { "no" },
                    oi(*days_left)
                ),
            );
            v.headline = tr(
                l,
                format!(
                    "The last day to claim the credit {contract} owes for {} is {deadline}: {days_left} day{} left.",
                    period(l, period_start, period_end),
                    s(*days_left)
                ),
                format!(
                    "L'ultimo giorno per richiedere l'indennizzo dovuto per {contract} per il periodo {} è il {deadline}: manca{} {days_left} giorn{}.",
                    period(l, period_start, period_end),
                    if *days_left == 1 { "" } else { "no" },
                    oi(*days_left)
                ),
            );
            fact(&mut v, "Contract", "Contratto", contract.clone());
            fact(
                &mut v,
                "Billing period",
                "Periodo di fatturazione",
                period(l, period_start, period_end),
            );
            fact(&mut v, "Claim by", "Reclamo entro il", deadline.clone());
            fact(&mut v, "Days left", "Giorni rimasti", days_left.to_string());
            v.next.push(t(
                "`slawatch report` writes the period's report and the claim letter to send to the provider; after the deadline the credit may no longer be owed.",
                "`slawatch report` scrive il resoconto del periodo e la lettera di richiesta da inviare al fornitore; dopo la scadenza l'indennizzo potrebbe non essere più dovuto.",
            ));
            if *days_left > 3 {
                v.next.push(t(
                    "slawatch reminds you again 3 days before the deadline.",
                    "slawatch lo ricorda di nuovo 3 giorni prima della scadenza.",
                ));
            }
        }
        AlertEvent::CertExpiring {
            probe,
            not_after,
            days_left,
        } => {
            let day = date(*not_after);
            let n = days_left.unsigned_abs();
            v.subject = match (l, *days_left) {
                (Lang::En, d) if d < 0 => format!(
                    "[slawatch] CERT {probe} expired {n} day{} ago ({day})",
                    s(-d)
                ),
                (Lang::En, 0) => format!("[slawatch] CERT {probe} expires today ({day})"),
                (Lang::En, d) => {
                    format!("[slawatch] CERT {probe} expires in {n} day{} ({day})", s(d))
                }
                (Lang::It, d) if d < 0 => format!(
                    "[slawatch] CERT {probe} scaduto da {n} giorn{} ({day})",
                    oi(-d)
                ),
                (Lang::It, 0) => format!("[slawatch] CERT {probe} scade oggi ({day})"),
                (Lang::It, d) => format!(
                    "[slawatch] CERT {probe} scade tra {n} giorn{} ({day})",
                    oi(d)
                ),
            };
            v.headline = tr(
                l,
                format!("The TLS certificate {probe} is served with is valid until {not_after}."),
                format!(
                    "Il certificato TLS con cui risponde {probe} è valido fino al {not_after}."
                ),
            );
            fact(&mut v, "Probe", "Servizio controllato", probe.clone());
            fact(
                &mut v,
                "Not valid after",
                "Non valido dopo il",
                not_after.to_string(),
            );
            fact(&mut v, "Days left", "Giorni rimasti", days_left.to_string());
            v.next.push(t(
                "Renew the certificate (or ask the provider to) before it expires: from then on clients refuse the connection, and slawatch counts the checks as failed. The warning starts at the probe's cert_expiry_warn.",
                "Rinnovare il certificato (o chiederlo al fornitore) prima che scada: da allora i client rifiutano la connessione e slawatch conta i controlli come falliti. L'avviso parte a cert_expiry_warn del servizio controllato.",
            ));
        }
        AlertEvent::Offline { since } => {
            v.subject = tr(
                l,
                format!("[slawatch] OFFLINE {vantage}: this machine cannot reach the network"),
                format!("[slawatch] OFFLINE {vantage}: questa macchina non raggiunge la rete"),
            );
            v.headline = tr(
                l,
                format!(
                    "Every control target has failed since {since}: the fault is on this machine's side ({vantage}), not the providers'."
                ),
                format!(
                    "Tutti i controlli di riferimento falliscono dal {since}: il guasto è dal lato di questa macchina ({vantage}), non dei fornitori."
                ),
            );
            fact(
                &mut v,
                "Off line since",
                "Fuori linea dal",
                since.to_string(),
            );
            fact(&mut v, "Machine", "Macchina", vantage.to_owned());
            v.next.push(t(
                "While off line, checks are recorded as no data, never as a provider's downtime, and no alert per probe is sent. slawatch keeps trying and sends ONLINE when the machine is back. This mail may arrive late: it leaves once there is a way out.",
                "Finché la macchina è fuori linea i controlli sono registrati come assenza di dati, mai come disservizio di un fornitore, e non parte alcun avviso per i singoli servizi. slawatch continua a provare e invia ONLINE quando la macchina torna in linea. Questo messaggio può arrivare in ritardo: parte appena c'è una via d'uscita.",
            ));
        }
        AlertEvent::Online { since, until } => {
            let off = until.0 - since.0;
            v.subject = tr(
                l,
                format!("[slawatch] ONLINE {vantage} after {}", dur_s(off)),
                format!("[slawatch] ONLINE {vantage} dopo {}", dur_s(off)),
            );
            v.headline = tr(
                l,
                format!(
                    "This machine ({vantage}) reaches the network again: it was off line from {since} to {until} ({}).",
                    dur(off)
                ),
                format!(
                    "Questa macchina ({vantage}) raggiunge di nuovo la rete: è stata fuori linea dal {since} al {until} ({}).",
                    dur(off)
                ),
            );
            fact(
                &mut v,
                "Off line from",
                "Fuori linea dal",
                since.to_string(),
            );
            fact(
                &mut v,
                "On line again at",
                "Di nuovo in linea il",
                until.to_string(),
            );
            fact(&mut v, "Off line for", "Fuori linea per", dur(off));
            v.next.push(t(
                "That time is no data in the reports: neither uptime nor a provider's downtime. Alerts per probe resume. `slawatch report` shows the gap.",
                "Quel tempo è assenza di dati nei resoconti: né servizio attivo né disservizio di un fornitore. Riprendono gli avvisi per i singoli servizi. `slawatch report` mostra l'intervallo.",
            ));
        }
        AlertEvent::Test => {
            v.subject = tr(
                l,
                format!("[slawatch] TEST alert from {vantage}"),
                format!("[slawatch] TEST avviso da {vantage}"),
            );
            v.headline = t(
                "This is a test alert sent by `slawatch alerts test`: this channel works.",
                "Questo è un avviso di prova inviato da `slawatch alerts test`: questo canale funziona.",
            );
        }
    }
    v
}

/// `2026-11-01 to 2026-12-01 (excluded)`: a billing period, its end exclusive.
fn period(l: Lang, start: &str, end: &str) -> String {
    tr(
        l,
        format!("{start} to {end} (excluded)"),
        format!("dal {start} al {end} (escluso)"),
    )
}

/// The facts of an open (DOWN) or closed (UP) outage.
fn outage_facts(v: &mut View, l: Lang, o: &Outage, vantage: &str, closed: bool) {
    let t = |en: &str, it: &str| tr(l, en.to_owned(), it.to_owned());
    let none = || "-".to_owned();
    let mut add = |en: &str, it: &str, value: String| v.facts.push((t(en, it), value));
    add("Probe", "Servizio controllato", o.probe.clone());
    add(
        "Down since (first failed check)",
        "DOWN dal (primo controllo fallito)",
        o.start.to_string(),
    );
    if closed {
        add(
            "Up again at (first successful check)",
            "Di nuovo UP il (primo controllo riuscito)",
            o.end.map_or_else(none, |e| e.to_string()),
        );
        add(
            "Duration (first failed to first successful check)",
            "Durata (dal primo controllo fallito al primo riuscito)",
            o.end.map_or_else(none, |e| dur(e.0 - o.start.0)),
        );
        add(
            "Proven minimum (first to last failed check)",
            "Minimo provato (dal primo all'ultimo controllo fallito)",
            dur(o.proven_ms()),
        );
    }
    add(
        "Last success before",
        "Ultimo controllo riuscito prima",
        o.last_success_before.map_or_else(none, |t| t.to_string()),
    );
    add(
        if closed {
            "Failed checks"
        } else {
            "Failed checks so far"
        },
        if closed {
            "Controlli falliti"
        } else {
            "Controlli falliti finora"
        },
        o.failed_checks.to_string(),
    );
    add("Cause", "Causa", o.class.to_string());
    add("Detail", "Dettaglio", o.detail.clone());
    add("Checked from", "Controllato da", vantage.to_owned());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ErrorClass;

    const T0: i64 = 1_712_139_330_000; // 2024-04-03T10:15:30.000Z

    fn outage(probe: &str, end: Option<i64>, detail: &str) -> Outage {
        Outage {
            probe: probe.into(),
            start: UtcMillis(T0),
            end: end.map(UtcMillis),
            last_failure: UtcMillis(T0 + 600_000),
            last_success_before: Some(UtcMillis(T0 - 30_000)),
            class: ErrorClass::Timeout,
            detail: detail.into(),
            failed_checks: 11,
        }
    }

    /// One of each event, with the subject it must get in English and Italian.
    fn every_event() -> Vec<(AlertEvent, &'static str, &'static str)> {
        let down = |p: &str| outage(p, None, "no answer in 10s");
        vec![
            (
                AlertEvent::Down {
                    outage: down("shop-site"),
                },
                "[slawatch] DOWN shop-site (timeout)",
                "[slawatch] DOWN shop-site (timeout)",
            ),
            (
                // 12 min 30.999 s: the subject truncates to the second.
                AlertEvent::Up {
                    outage: outage("shop-site", Some(T0 + 750_999), "x"),
                },
                "[slawatch] UP shop-site after 12m 30s",
                "[slawatch] UP shop-site dopo 12m 30s",
            ),
            (
                AlertEvent::Flapping {
                    probe: "shop-site".into(),
                    changes: 6,
                    window_ms: 600_000,
                },
                "[slawatch] FLAPPING shop-site (6 changes in 10m)",
                "[slawatch] FLAPPING shop-site (6 cambi di stato in 10m)",
            ),
            (
                AlertEvent::FlapSummary {
                    probe: "shop-site".into(),
                    changes: 4,
                    since: UtcMillis(T0),
                    state: "down".into(),
                    stable: false,
                },
                "[slawatch] FLAPPING shop-site goes on: 4 changes, now DOWN",
                "[slawatch] FLAPPING shop-site continua: 4 cambi di stato, ora DOWN",
            ),
            (
                AlertEvent::FlapSummary {
                    probe: "shop-site".into(),
                    changes: 1,
                    since: UtcMillis(T0),
                    state: "up".into(),
                    stable: true,
                },
                "[slawatch] FLAPPING shop-site over, now UP",
                "[slawatch] FLAPPING shop-site finito, ora UP",
            ),
            (
                AlertEvent::Digest {
                    group: "provider X".into(),
                    down: (0..40).map(|i| down(&format!("web-{i}"))).collect(),
                    up: Vec::new(),
                    flaps: Vec::new(),
                },
                "[slawatch] DIGEST 40 probes down (provider X)",
                "[slawatch] DIGEST 40 servizi DOWN (provider X)",
            ),
            (
                AlertEvent::Digest {
                    group: "all".into(),
                    down: vec![down("a")],
                    up: vec![
                        outage("b", Some(T0 + 60_000), "x"),
                        outage("c", Some(T0 + 1), "x"),
                    ],
                    flaps: Vec::new(),
                },
                "[slawatch] DIGEST 1 probe down, 2 up (all)",
                "[slawatch] DIGEST 1 servizio DOWN, 2 UP (all)",
            ),
            (
                AlertEvent::Breach {
                    contract: "rossi-shop".into(),
                    period_start: "2026-11-01".into(),
                    period_end: "2026-12-01".into(),
                    downtime_ms: 3 * 3_600_000,
                    allowed_ms: 2_592_000,
                    credit: Some("12.50".into()),
                    currency: "EUR".into(),
                },
                "[slawatch] BREACH rossi-shop: SLA missed, credit so far 12.50 EUR",
                "[slawatch] BREACH rossi-shop: SLA non rispettato, indennizzo maturato 12.50 EUR",
            ),
            (
                AlertEvent::DeadlineNear {
                    contract: "rossi-shop".into(),
                    period_start: "2026-10-01".into(),
                    period_end: "2026-11-01".into(),
                    deadline: "2026-12-10".into(),
                    days_left: 14,
                },
                "[slawatch] DEADLINE rossi-shop: claim by 2026-12-10 (14 days left)",
                "[slawatch] DEADLINE rossi-shop: reclamo entro il 2026-12-10 (mancano 14 giorni)",
            ),
            (
                AlertEvent::DeadlineNear {
                    contract: "rossi-shop".into(),
                    period_start: "2026-10-01".into(),
                    period_end: "2026-11-01".into(),
                    deadline: "2026-12-10".into(),
                    days_left: 1,
                },
                "[slawatch] DEADLINE rossi-shop: claim by 2026-12-10 (1 day left)",
                "[slawatch] DEADLINE rossi-shop: reclamo entro il 2026-12-10 (manca 1 giorno)",
            ),
            (
                AlertEvent::CertExpiring {
                    probe: "shop-site".into(),
                    not_after: UtcMillis(T0 + 10 * 86_400_000),
                    days_left: 10,
                },
                "[slawatch] CERT shop-site expires in 10 days (2024-04-13)",
                "[slawatch] CERT shop-site scade tra 10 giorni (2024-04-13)",
            ),
            (
                AlertEvent::CertExpiring {
                    probe: "shop-site".into(),
                    not_after: UtcMillis(T0 - 2 * 86_400_000),
                    days_left: -2,
                },
                "[slawatch] CERT shop-site expired 2 days ago (2024-04-01)",
                "[slawatch] CERT shop-site scaduto da 2 giorni (2024-04-01)",
            ),
            (
                AlertEvent::Offline {
                    since: UtcMillis(T0),
                },
                "[slawatch] OFFLINE fra-1: this machine cannot reach the network",
                "[slawatch] OFFLINE fra-1: questa macchina non raggiunge la rete",
            ),
            (
                AlertEvent::Online {
                    since: UtcMillis(T0),
                    until: UtcMillis(T0 + 303_500),
                },
                "[slawatch] ONLINE fra-1 after 5m 3s",
                "[slawatch] ONLINE fra-1 dopo 5m 3s",
            ),
            (
                AlertEvent::Test,
                "[slawatch] TEST alert from fra-1",
                "[slawatch] TEST avviso da fra-1",
            ),
        ]
    }

    fn alert(event: AlertEvent, lang: Lang) -> Alert {
        Alert {
            key: "k:1".into(),
            raised_at: UtcMillis(T0 + 1_000),
            lang,
            event,
        }
    }

    #[test]
    fn every_event_has_its_exact_subject_in_english_and_italian() {
        for (event, en, it) in every_event() {
            for (lang, want) in [(Lang::En, en), (Lang::It, it)] {
                let m = mail(&alert(event.clone(), lang), "fra-1");
                assert_eq!(m.subject, want, "{event:?} in {lang:?}");
            }
        }
    }

    #[test]
    fn every_mail_has_text_and_html_saying_utc_rfc3339_and_who_sent_it() {
        for (event, _, _) in every_event() {
            for (lang, utc) in [
                (Lang::En, "Times are UTC, written as RFC 3339"),
                (Lang::It, "Gli orari sono in UTC, nel formato RFC 3339"),
            ] {
                let m = mail(&alert(event.clone(), lang), "fra-1");
                let html = m.html.as_deref().unwrap_or_default();
                for part in [m.text.as_str(), html] {
                    assert!(part.contains(utc), "{event:?} {lang:?}:\n{part}");
                    assert!(part.contains("2024-04-03T10:15:31.000Z"), "{part}");
                    assert!(part.contains("k:1"), "{part}");
                }
                assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
                assert!(html.contains(&format!("<html lang=\"{}\">", lang.as_str())));
                // The data block carries the event's name for scripts.
                assert!(m.text.contains("\nevent: "), "{}", m.text);
            }
        }
    }

    #[test]
    fn html_escapes_a_probe_detail_holding_markup_and_text_keeps_it_verbatim() {
        let evil = "<script>alert(1)</script> & \"q\"";
        for event in [
            AlertEvent::Down {
                outage: outage("shop-site", None, evil),
            },
            AlertEvent::Digest {
                group: "<b>x</b>".into(),
                down: vec![outage("a", None, evil)],
                up: vec![],
                flaps: Vec::new(),
            },
        ] {
            for lang in [Lang::En, Lang::It] {
                let m = mail(&alert(event.clone(), lang), "fra-1");
                let html = m.html.unwrap_or_default();
                assert!(!html.contains("<script>"), "{html}");
                assert!(!html.contains("<b>x"), "{html}");
                assert!(
                    html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"),
                    "{html}"
                );
                assert!(m.text.contains(evil), "{}", m.text);
            }
        }
    }

    #[test]
    fn up_says_the_duration_and_its_proven_minimum_exactly() {
        let o = outage("shop-site", Some(T0 + 750_999), "x");
        let en = mail(
            &alert(AlertEvent::Up { outage: o.clone() }, Lang::En),
            "fra-1",
        );
        assert!(
            en.text.starts_with(
                "shop-site answers again: the outage lasted 12m 30s 999ms, of which 10m proven by failed checks.\n"
            ),
            "{}",
            en.text
        );
        assert!(
            en.text
                .contains("\nProven minimum (first to last failed check): 10m\n")
        );
        assert!(
            en.text
                .contains("\nUp again at (first successful check): 2024-04-03T10:28:00.999Z\n")
        );
        assert!(en.text.contains("`slawatch outages`") && en.text.contains("`slawatch report`"));
        let it = mail(&alert(AlertEvent::Up { outage: o }, Lang::It), "fra-1");
        assert!(
            it.text.starts_with(
                "shop-site risponde di nuovo: il disservizio è durato 12m 30s 999ms, di cui 10m provati da controlli falliti.\n"
            ),
            "{}",
            it.text
        );
        assert!(
            it.text
                .contains("\nMinimo provato (dal primo all'ultimo controllo fallito): 10m\n")
        );
    }

    #[test]
    fn a_breach_states_the_credit_as_given_and_the_digest_lists_every_probe() {
        let (breach, _, _) = every_event().swap_remove(7);
        let m = mail(&alert(breach, Lang::It), "fra-1");
        assert!(
            m.text.contains("\nIndennizzo maturato finora: 12.50 EUR\n"),
            "{}",
            m.text
        );
        assert!(m.text.contains("`slawatch sla`"), "{}", m.text);
        let (digest, _, _) = every_event().swap_remove(5);
        let m = mail(&alert(digest, Lang::En), "fra-1");
        for i in 0..40 {
            assert!(
                m.text.contains(&format!("\n  - web-{i}: timeout (no answer in 10s), down since 2024-04-03T10:15:30.000Z\n")),
                "web-{i}: {}",
                m.text
            );
        }
        assert_eq!(m.html.unwrap_or_default().matches("<li>").count(), 40);
    }

    #[test]
    fn instants_in_the_webhook_body_are_rfc3339_like_the_outage_s() {
        let b: serde_json::Value = serde_json::from_str(&body(
            &alert(
                AlertEvent::Online {
                    since: UtcMillis(T0),
                    until: UtcMillis(T0 + 303_500),
                },
                Lang::It,
            ),
            "fra-1",
        ))
        .unwrap();
        assert_eq!(
            b,
            serde_json::json!({
                "event": "online",
                "since": "2024-04-03T10:15:30.000Z",
                "until": "2024-04-03T10:20:33.500Z",
                "vantage": "fra-1",
                "key": "k:1",
            })
        );
    }

    #[test]
    fn every_event_s_body_has_exactly_the_fields_docs_webhooks_md_shows() {
        let doc = include_str!("../../docs/webhooks.md");
        let examples: Vec<serde_json::Value> = doc
            .split("```json\n")
            .skip(1)
            .filter_map(|b| b.split("\n```").next())
            .map(|b| serde_json::from_str(b).unwrap())
            .collect();
        fn keys(v: &serde_json::Value) -> Vec<String> {
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        }
        let mut seen = std::collections::BTreeSet::new();
        for (event, _, _) in every_event() {
            let got: serde_json::Value =
                serde_json::from_str(&body(&alert(event, Lang::En), "fra-1")).unwrap();
            let name = got["event"].as_str().unwrap().to_owned();
            let doc = examples
                .iter()
                .find(|e| e["event"] == got["event"])
                .unwrap_or_else(|| panic!("docs/webhooks.md has no example for {name}"));
            assert_eq!(keys(&got), keys(doc), "{name}");
            for list in ["down", "up"] {
                if let (Some(g), Some(d)) = (got[list].get(0), doc[list].get(0)) {
                    assert_eq!(keys(g), keys(d), "{name}.{list}");
                }
            }
            seen.insert(name);
        }
        assert_eq!(seen.len(), 11, "{seen:?}");
        // Every documented event is one slawatch sends.
        for e in &examples[..] {
            if let Some(n) = e["event"].as_str() {
                assert!(seen.contains(n), "docs/webhooks.md documents {n}");
            }
        }
    }
}
