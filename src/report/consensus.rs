//! Several vantages, one verdict (issue 18): the k-of-n consensus over the vantages
//! that probe a service, and each vantage's own view beside it.
//!
//! The rule, per probe and per moment, with `k` the contract's `vantages = "K of N"`
//! (the plan's when the contract is silent; default 1, any one vantage):
//!
//! - a vantage is **measuring** the probe when it was covered (its heartbeats) and
//!   its checks of the probe were fresh and judged (the per-probe no-data of one
//!   store, `data::probe_no_data`, computed on that vantage's store alone);
//! - it saw the probe **down** when it was measuring inside one of its own outages;
//! - the probe is **down** when at least `k` vantages saw it down;
//! - it is **no data** when fewer than `k` vantages were measuring (and it was not
//!   down): the consensus could not be reached, so nobody knows;
//! - it is **up** otherwise: at least `k` vantages measured it and fewer than `k`
//!   saw it down.
//!
//! A vantage that never ran the probe (spread elsewhere, `Config::vantages_of`)
//! measures nothing of it, so it counts neither way: a "2 of 3" over a probe that
//! runs on two vantages needs both. The proven and possible intervals of the
//! consensus are the same `k` over the vantages' proven and possible intervals.
//!
//! Manual records are the person's, not a vantage's: [`merge_records`] keeps one of
//! identical records shipped by several vantages (same source, start, end, probe,
//! contract, note, cause, open and withdrawn flags) and renumbers the others so one
//! store's ids never supersede another store's records.

use super::data::at_least;
use crate::config::Consensus;
use crate::outage::Outage;
use crate::sla::intervals::Intervals;
use crate::store::Incident;
use std::collections::HashMap;

/// One vantage's evidence for one probe around the period.
#[derive(Clone, Debug)]
pub(crate) struct VantageProbe {
    /// The vantage's name.
    pub(crate) vantage: String,
    /// Its outages of the probe.
    pub(crate) outages: Vec<Outage>,
    /// The end used for each outage (open ones run to the period's end).
    pub(crate) ends: Vec<i64>,
    /// When it was not measuring the probe: not covered, or its checks stale or
    /// unknown.
    pub(crate) no_data: Intervals,
}

impl VantageProbe {
    /// What it saw down: inside its outages, while it was measuring.
    pub(crate) fn down(&self) -> Intervals {
        Intervals::of(
            self.outages
                .iter()
                .zip(&self.ends)
                .map(|(o, e)| (o.start.0, *e)),
        )
        .subtract(&self.no_data)
    }

    /// When it was measuring, within `[from, to)`.
    pub(crate) fn measuring(&self, from: i64, to: i64) -> Intervals {
        Intervals::single(from, to).subtract(&self.no_data)
    }

    /// First to last failed check of each outage.
    fn proven(&self) -> Intervals {
        Intervals::of(
            self.outages
                .iter()
                .map(|o| (o.start.0, o.last_failure.0.max(o.start.0))),
        )
    }

    /// Last success before each outage to its end.
    fn possible(&self) -> Intervals {
        Intervals::of(
            self.outages
                .iter()
                .zip(&self.ends)
                .map(|(o, e)| (o.last_success_before.map_or(o.start.0, |s| s.0), *e)),
        )
    }
}

/// One probe's consensus over its vantages.
#[derive(Clone, Debug)]
pub(crate) struct ProbeConsensus {
    /// Down: at least `k` vantages saw it down.
    pub(crate) down: Intervals,
    /// No data: fewer than `k` vantages were measuring, and not down.
    pub(crate) no_data: Intervals,
    /// `k` over the vantages' proven intervals.
    pub(crate) proven: Intervals,
    /// `k` over the vantages' possible intervals.
    pub(crate) possible: Intervals,
    /// Each vantage's evidence, in the order given.
    pub(crate) views: Vec<VantageProbe>,
}

/// Down where at least `k` vantages saw the probe down.
fn down(views: &[VantageProbe], k: usize) -> Intervals {
    at_least(&views.iter().map(VantageProbe::down).collect::<Vec<_>>(), k)
}

/// No data where fewer than `k` vantages were measuring, unless down.
fn no_data(views: &[VantageProbe], k: usize, from: i64, to: i64, down: &Intervals) -> Intervals {
    let enough = at_least(
        &views
            .iter()
            .map(|v| v.measuring(from, to))
            .collect::<Vec<_>>(),
        k,
    );
    Intervals::single(from, to).subtract(&enough).subtract(down)
}

/// The consensus of one probe over `[from, to)` from its vantages' evidence.
pub(crate) fn of_probe(views: Vec<VantageProbe>, k: usize, from: i64, to: i64) -> ProbeConsensus {
    let down = down(&views, k);
    let no_data = no_data(&views, k, from, to, &down);
    let proven = at_least(
        &views.iter().map(VantageProbe::proven).collect::<Vec<_>>(),
        k,
    );
    let possible = at_least(
        &views.iter().map(VantageProbe::possible).collect::<Vec<_>>(),
        k,
    );
    ProbeConsensus {
        down,
        no_data,
        proven,
        possible,
        views,
    }
}

impl ProbeConsensus {
    /// The vantages that saw the probe down during `[s, e)`.
    pub(crate) fn seen_by(&self, s: i64, e: i64) -> impl Iterator<Item = &str> {
        self.views
            .iter()
            .filter(move |v| !v.down().clip(s, e).is_empty())
            .map(|v| v.vantage.as_str())
    }

    /// The vantages that were measuring the probe during some of `[s, e)`.
    pub(crate) fn measuring(&self, s: i64, e: i64) -> impl Iterator<Item = &str> {
        self.views
            .iter()
            .filter(move |v| !v.measuring(s, e).is_empty())
            .map(|v| v.vantage.as_str())
    }
}

/// The report's consensus section of one contract (present when the report rests on
/// several vantages, or the contract needs more than one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// The rule: `k` of `n` vantages.
    pub rule: Consensus,
    /// Each vantage's own view of the contract over the period, by name.
    pub vantages: Vec<VantageView>,
    /// One per incident of the report, in the same order.
    pub incidents: Vec<Seen>,
    /// Probes that fewer than `k` vantages ever measured in the period, with how
    /// many did: the consensus could not be reached, their time is no data.
    pub short: Vec<(String, usize)>,
}

/// One vantage's view of a contract: the contract's probes combined by
/// `unavailable_when` over this vantage's evidence alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VantageView {
    /// The vantage's name.
    pub name: String,
    /// Down as this vantage alone saw it, clipped to the period, ms.
    pub down: Vec<(i64, i64)>,
    /// Not measured by this vantage, inside the period and the contract's life, ms.
    pub no_data: Vec<(i64, i64)>,
    /// Time it measured inside the period and the contract's life, ms.
    pub measured_ms: i64,
    /// Its hash chain's head (seal number, hex) when the report was made.
    pub chain: Option<(i64, String)>,
}

/// Who saw one incident.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Seen {
    /// The vantages that saw it down.
    pub seen_by: Vec<String>,
    /// The vantages that were measuring during it.
    pub measuring: Vec<String>,
}

/// One vantage's view of a contract whose `k_probes` of its probes must be down
/// (`unavailable_when`): `probes` holds, per probe, this vantage's evidence; `life`
/// is the period cut to the contract's life.
pub(crate) fn vantage_view(
    name: &str,
    probes: &[&VantageProbe],
    k_probes: usize,
    life: &Intervals,
    chain: Option<(i64, String)>,
) -> VantageView {
    let down = at_least(
        &probes.iter().map(|p| p.down()).collect::<Vec<_>>(),
        k_probes,
    )
    .intersect(life);
    let maybe: Vec<Intervals> = probes.iter().map(|p| p.down().union(&p.no_data)).collect();
    let no_data = at_least(&maybe, k_probes).subtract(&down).intersect(life);
    VantageView {
        name: name.to_owned(),
        down: down.iter().collect(),
        measured_ms: life.subtract(&no_data).measure(),
        no_data: no_data.iter().collect(),
        chain,
    }
}

/// The contract's consensus section: `probes` holds each probe's name and its
/// consensus (always present when the consensus decides), `k_probes` how many of
/// them must be down (`unavailable_when`), `life` the period cut to the contract's
/// life, `rows` the report's incidents.
pub(crate) fn view(
    rule: Consensus,
    vantages: &[(String, &crate::store::Reader)],
    chains: &[Option<(i64, String)>],
    probes: &[(&str, Option<&ProbeConsensus>)],
    k_probes: usize,
    life: &Intervals,
    rows: &[super::data::IncidentRow],
) -> View {
    let k = usize::try_from(rule.k).unwrap_or(usize::MAX);
    // A vantage that does not run a probe measured none of it.
    let absent = |name: &str| VantageProbe {
        vantage: name.to_owned(),
        outages: Vec::new(),
        ends: Vec::new(),
        no_data: life.clone(),
    };
    let mut views = Vec::new();
    for (i, (name, _)) in vantages.iter().enumerate() {
        let own: Vec<VantageProbe> = probes
            .iter()
            .map(|(_, c)| {
                c.and_then(|c| c.views.iter().find(|v| v.vantage == *name))
                    .cloned()
                    .unwrap_or_else(|| absent(name))
            })
            .collect();
        let refs: Vec<&VantageProbe> = own.iter().collect();
        let chain = chains.get(i).cloned().flatten();
        views.push(vantage_view(name, &refs, k_probes, life, chain));
    }
    let incidents = rows
        .iter()
        .map(|r| seen(probes, &r.probes, r.start.0, r.end.0))
        .collect();
    let (ls, le) = life.hull().unwrap_or((0, 0));
    let short = probes
        .iter()
        .map(|(name, c)| {
            let n = c.map_or(0, |c| c.measuring(ls, le).count());
            ((*name).to_owned(), n)
        })
        .filter(|(_, n)| *n < k)
        .collect();
    View {
        rule,
        vantages: views,
        incidents,
        short,
    }
}

/// Who saw an incident whose down probes are `down`, over `[s, e)`: the vantages
/// that saw one of those probes down, and those measuring any of the contract's.
fn seen(probes: &[(&str, Option<&ProbeConsensus>)], down: &[String], s: i64, e: i64) -> Seen {
    let mut seen_by = std::collections::BTreeSet::new();
    let mut measuring = std::collections::BTreeSet::new();
    for (name, c) in probes {
        let Some(c) = c else { continue };
        if down.iter().any(|d| d == name) {
            seen_by.extend(c.seen_by(s, e).map(str::to_owned));
        }
        measuring.extend(c.measuring(s, e).map(str::to_owned));
    }
    Seen {
        seen_by: seen_by.into_iter().collect(),
        measuring: measuring.into_iter().collect(),
    }
}

/// The rule in words: "down when at least 2 of the 3 vantages saw it down at once".
pub(crate) fn rule_in(view: &View, lang: super::Lang) -> String {
    let (k, n) = (view.rule.k, view.vantages.len());
    match lang {
        super::Lang::En if k == 1 => format!(
            "{}: down when any one of the {n} vantages measuring saw it down; no data only when none was measuring",
            view.rule
        ),
        super::Lang::En => format!(
            "{}: down when at least {k} of the {n} vantages saw it down at once; no data when fewer than {k} were measuring",
            view.rule
        ),
        super::Lang::It if k == 1 => format!(
            "{}: disservizio quando uno qualsiasi dei {n} punti di rilevazione in misura lo ha rilevato; senza dati solo quando nessuno misurava",
            words_it(view.rule)
        ),
        super::Lang::It => format!(
            "{}: disservizio quando almeno {k} dei {n} punti di rilevazione lo hanno rilevato insieme; senza dati quando meno di {k} misuravano",
            words_it(view.rule)
        ),
    }
}

/// "2 su 3".
fn words_it(rule: Consensus) -> String {
    format!("{} su {}", rule.k, rule.n)
}

/// Who saw one incident, in words: "milano-1, roma-1 (2 of 3 measuring)".
pub(crate) fn seen_in(seen: &Seen, lang: super::Lang) -> String {
    let names = if seen.seen_by.is_empty() {
        "—".to_owned()
    } else {
        seen.seen_by.join(", ")
    };
    match lang {
        super::Lang::En => format!(
            "{names} ({} of {} measuring)",
            seen.seen_by.len(),
            seen.measuring.len()
        ),
        super::Lang::It => format!(
            "{names} ({} su {} in misura)",
            seen.seen_by.len(),
            seen.measuring.len()
        ),
    }
}

/// The probes whose consensus could not be reached, in words, one sentence each.
pub(crate) fn short_in(view: &View, lang: super::Lang) -> Vec<String> {
    let k = view.rule.k;
    view.short
        .iter()
        .map(|(probe, n)| match lang {
            super::Lang::En => {
                let who = match n {
                    0 => "no vantage measured it".to_owned(),
                    1 => "only 1 vantage measured it".to_owned(),
                    n => format!("only {n} vantages measured it"),
                };
                format!(
                    "{probe}: {who} in the period, fewer than the {k} the rule needs: the consensus cannot be reached, and its time is no data."
                )
            }
            super::Lang::It => {
                let who = match n {
                    0 => "nessun punto di rilevazione l'ha misurata".to_owned(),
                    1 => "un solo punto di rilevazione l'ha misurata".to_owned(),
                    n => format!("solo {n} punti di rilevazione l'hanno misurata"),
                };
                format!(
                    "{probe}: {who} nel periodo, meno dei {k} richiesti dalla regola: il consenso non può essere raggiunto e il suo tempo è senza dati."
                )
            }
        })
        .collect()
}

/// The records of several stores as one list: the first store's as they are, each
/// other store's record dropped when identical to one kept (shipped by several
/// vantages), else renumbered past every id so far, its `supersedes` following the
/// renumbering (or pointing to the identical record kept).
pub(crate) fn merge_records(stores: &[Vec<Incident>]) -> Vec<Incident> {
    let mut out: Vec<Incident> = Vec::new();
    for records in stores {
        let offset = out.iter().map(|i| i.id).max().unwrap_or(0);
        let mut ids: HashMap<i64, i64> = HashMap::new();
        for r in records {
            let mut r = r.clone();
            r.supersedes = r
                .supersedes
                .map(|s| ids.get(&s).copied().unwrap_or(s + offset));
            if let Some(same) = out.iter().find(|k| same_record(k, &r)) {
                ids.insert(r.id, same.id);
                continue;
            }
            let id = r.id + offset;
            ids.insert(r.id, id);
            r.id = id;
            out.push(r);
        }
    }
    out
}

/// Two records say the same thing (one entered once, shipped by two vantages).
fn same_record(a: &Incident, b: &Incident) -> bool {
    (
        a.source,
        a.start,
        a.end,
        &a.probe,
        &a.contract,
        &a.note,
        &a.cause,
        a.open,
    ) == (
        b.source,
        b.start,
        b.end,
        &b.probe,
        &b.contract,
        &b.note,
        &b.cause,
        b.open,
    ) && a.withdrawn == b.withdrawn
        && a.supersedes == b.supersedes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ErrorClass, UtcMillis};

    fn set(v: &[(i64, i64)]) -> Intervals {
        Intervals::of(v.iter().copied())
    }

    fn view(name: &str, outage: Option<(i64, i64)>, no_data: &[(i64, i64)]) -> VantageProbe {
        let outages: Vec<Outage> = outage
            .into_iter()
            .map(|(s, e)| Outage {
                probe: "web".into(),
                start: UtcMillis(s),
                end: Some(UtcMillis(e)),
                last_failure: UtcMillis(e - 10),
                last_success_before: Some(UtcMillis(s - 10)),
                class: ErrorClass::Refused,
                detail: "refused".into(),
                failed_checks: 2,
            })
            .collect();
        VantageProbe {
            vantage: name.into(),
            ends: outages.iter().map(|o| o.end.map_or(0, |e| e.0)).collect(),
            outages,
            no_data: set(no_data),
        }
    }

    #[test]
    fn two_of_three_is_down_only_where_two_saw_it_down() {
        let c = of_probe(
            vec![
                view("a", Some((100, 300)), &[]),
                view("b", Some((200, 400)), &[]),
                view("c", None, &[]),
            ],
            2,
            0,
            1000,
        );
        assert_eq!(c.down, set(&[(200, 300)]));
        assert!(c.no_data.is_empty(), "three measured throughout");
        assert_eq!(c.seen_by(200, 300).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(c.proven, set(&[(200, 290)]));
        assert_eq!(c.possible, set(&[(190, 300)]));
    }

    #[test]
    fn fewer_than_k_measuring_is_no_data_and_one_vantage_alone_cannot_make_it_down() {
        let c = of_probe(
            vec![
                view("a", Some((100, 300)), &[]),
                view("b", None, &[(0, 500)]),
                view("c", None, &[(0, 500)]),
            ],
            2,
            0,
            1000,
        );
        assert!(c.down.is_empty());
        assert_eq!(c.no_data, set(&[(0, 500)]));
        assert_eq!(c.measuring(0, 500).collect::<Vec<_>>(), ["a"]);
    }

    #[test]
    fn any_one_vantage_is_down_where_one_saw_it_and_no_data_only_where_none_measured() {
        let c = of_probe(
            vec![
                view("a", Some((100, 300)), &[(600, 800)]),
                view("b", None, &[(700, 900)]),
            ],
            1,
            0,
            1000,
        );
        assert_eq!(c.down, set(&[(100, 300)]));
        assert_eq!(c.no_data, set(&[(700, 800)]));
    }

    fn record(id: i64, note: &str, supersedes: Option<i64>) -> Incident {
        Incident {
            id,
            contract: Some("acme".into()),
            start: UtcMillis(100),
            end: UtcMillis(200),
            note: note.into(),
            supersedes,
            ..Incident::default()
        }
    }

    #[test]
    fn identical_records_of_two_stores_count_once_and_ids_never_collide() {
        let a = vec![record(1, "cut", None)];
        let b = vec![
            record(1, "cut", None),
            record(2, "other", None),
            record(3, "amended", Some(1)),
        ];
        let merged = merge_records(&[a, b]);
        let ids: Vec<(i64, &str, Option<i64>)> = merged
            .iter()
            .map(|i| (i.id, i.note.as_str(), i.supersedes))
            .collect();
        assert_eq!(
            ids,
            vec![
                (1, "cut", None),
                (3, "other", None),
                (4, "amended", Some(1))
            ]
        );
    }
}
