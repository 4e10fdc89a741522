//! A generated evidence database: what a daemon with the default settings holds
//! after watching `probes` HTTP probes at 60 s for `days` days, written through the
//! library's `Store` (so every row is sealed into the hash chain as the daemon seals
//! it), and a configuration of `contracts` contracts over those probes.
//!
//! Shared by `benches/reports.rs` and the `yearreport` integration test (through
//! `#[path]`), so the test's database is the benchmark's in small.
//!
//! What is written, and what is not (BENCHMARKS.md, "A year of reports"):
//!
//! - The default retention (400 days) prunes nothing in the first year: every run
//!   and every failed check of the year is still there.
//! - Runs are cut at each UTC midnight, so a probe that never fails is one run a
//!   day. The generator sends the checks that decide the rows a 60 s daemon writes:
//!   a day's first and last check, the check before and after every failure, every
//!   failed check (one a minute, plus the retry 10 s after the first). Checks inside
//!   a run that change nothing but its `count` are not sent: the rows, their number
//!   and their times are the daemon's; only `count` and the latency sums are smaller.
//! - Failures: an isolated failed check (a timeout that the retry 10 s later
//!   contradicts) once a week per probe on average, which splits the day's run; and
//!   confirmed outages (a few hundred over the probes, 3 minutes to 33 hours), opened
//!   at the second failed check and closed at the first success, as `outage.rs` does.
//! - A few episodes where this machine was off line: every probe's checks `unknown`
//!   (no data, never the provider's downtime).
//! - Coverage: a heartbeat every 5 s (the longest a segment may go without one), cut
//!   at each UTC midnight by the store; the daemon stopped a few times (an upgrade, a
//!   reboot: 5 minutes to 6 hours): the store is closed and opened again, and the time
//!   between is a coverage gap.
//! - Maintenance windows (in the configuration, copied to the store as the daemon
//!   does at start) and incident records entered by hand, some of them over the
//!   daemon's stops, as a user records what the provider's status page said.

#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a benchmark and test fixture: a failed set-up step should stop it loudly; \
              the test uses part of it"
)]

use slawatch::model::{Check, ErrorClass, Phases, Status, UtcMillis};
use slawatch::outage::{Event, Outage};
use slawatch::store::{Incident, IncidentSource, NewIncident, Store};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// 2024-12-31T00:00:00Z: a day before the first month, so January in a zone west of
/// UTC starts measured.
pub const T0: i64 = 1_735_603_200_000;
const MIN: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// What to generate.
#[derive(Clone, Copy, Debug)]
pub struct Params {
    pub probes: usize,
    pub contracts: usize,
    pub days: i64,
}

impl Params {
    /// The cache key: every parameter and the generator's version.
    pub fn key(&self) -> String {
        format!("v1-p{}-c{}-d{}", self.probes, self.contracts, self.days)
    }

    fn end(&self) -> i64 {
        T0 + self.days * DAY
    }
}

/// What was written.
#[derive(Debug, Default)]
pub struct Written {
    pub checks: u64,
    pub failures: u64,
    pub outages: u64,
    pub stops: u64,
    pub offline: u64,
    pub incidents: u64,
    pub heartbeats: u64,
}

/// Deterministic pseudo-random numbers (splitmix64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn range(&mut self, a: i64, b: i64) -> i64 {
        a + i64::try_from(self.below(u64::try_from((b - a).max(1)).unwrap())).unwrap()
    }
}

fn probe_name(i: usize) -> String {
    format!("site-{i:04}")
}

fn contract_name(j: usize) -> String {
    format!("customer-{j:04}")
}

/// A probe's check grid: its checks start at `offset + k × 60 s`.
fn offset(i: usize, probes: usize) -> i64 {
    i64::try_from(i * 59_000 / probes.max(1)).unwrap()
}

fn on_grid(t: i64, off: i64) -> i64 {
    let k = (t - T0 - off).div_euclid(MIN);
    T0 + off + k * MIN
}

/// Something that happened to one probe: `[start, end)`, `end` being the first
/// success after it.
#[derive(Clone, Copy, Debug)]
enum Kind {
    /// One failed check, contradicted by the retry.
    Blip(ErrorClass),
    /// A confirmed outage.
    Outage(ErrorClass),
    /// This machine was off line: checks unknown.
    Offline,
}

#[derive(Clone, Copy, Debug)]
struct Special {
    start: i64,
    end: i64,
    kind: Kind,
}

const CLASSES: [ErrorClass; 5] = [
    ErrorClass::Timeout,
    ErrorClass::Refused,
    ErrorClass::Status,
    ErrorClass::Tls,
    ErrorClass::Timeout,
];

fn detail(class: ErrorClass) -> &'static str {
    match class {
        ErrorClass::Timeout => "no answer within 10000 ms",
        ErrorClass::Refused => "connection refused",
        ErrorClass::Status => "HTTP 503 Service Unavailable",
        ErrorClass::Tls => "TLS handshake failed: unexpected EOF",
        _ => "every control target failed: this machine was off line",
    }
}

/// The daemon's stops (coverage gaps), the off-line episodes and each probe's
/// failures, all deterministic.
struct Plan {
    stops: Vec<(i64, i64)>,
    per_probe: Vec<Vec<Special>>,
}

fn overlaps_any(list: &[(i64, i64)], s: i64, e: i64, margin: i64) -> bool {
    list.iter().any(|&(a, b)| s < b + margin && a < e + margin)
}

fn plan(p: &Params) -> Plan {
    let mut rng = Rng(0x5EED_0000 + u64::try_from(p.probes).unwrap());
    let (t_first, t_last) = (T0 + DAY, p.end() - 2 * DAY);
    // A stop every ~45 days, 5 minutes to 6 hours.
    let mut stops: Vec<(i64, i64)> = Vec::new();
    let n_stops = (p.days / 45).max(1);
    while i64::try_from(stops.len()).unwrap() < n_stops {
        let s = rng.range(t_first, t_last);
        let len = [5, 20, 45, 90, 360][usize::try_from(rng.below(5)).unwrap()] * MIN;
        if !overlaps_any(&stops, s, s + len, DAY) {
            stops.push((s, s + len));
        }
    }
    stops.sort_unstable();
    // Off line every ~120 days, 5 to 20 minutes.
    let mut offline: Vec<(i64, i64)> = Vec::new();
    let n_off = (p.days / 120).max(1);
    while i64::try_from(offline.len()).unwrap() < n_off {
        let s = rng.range(t_first, t_last);
        let len = rng.range(5, 21) * MIN;
        if !overlaps_any(&stops, s, s + len, 10 * MIN) && !overlaps_any(&offline, s, s + len, DAY) {
            offline.push((s, s + len));
        }
    }
    let blocked: Vec<(i64, i64)> = stops.iter().chain(&offline).copied().collect();
    let mut per_probe: Vec<Vec<Special>> = vec![Vec::new(); p.probes];
    for (i, list) in per_probe.iter_mut().enumerate() {
        let off = offset(i, p.probes);
        for &(s, e) in &offline {
            list.push(Special {
                start: on_grid(s, off) + MIN,
                end: on_grid(e, off) + MIN,
                kind: Kind::Offline,
            });
        }
    }
    let mut taken: Vec<Vec<(i64, i64)>> = per_probe
        .iter()
        .map(|l| l.iter().map(|s| (s.start, s.end)).collect())
        .collect();
    let mut add = |rng: &mut Rng, i: usize, s: i64, len: i64, kind: Kind| -> bool {
        let off = offset(i, p.probes);
        let start = on_grid(s, off) + MIN;
        let end = match kind {
            Kind::Blip(_) => start + 10_000,
            _ => start + len,
        };
        if end >= t_last || overlaps_any(&blocked, start, end, 10 * MIN) {
            return false;
        }
        if overlaps_any(&taken[i], start, end, 10 * MIN) {
            return false;
        }
        taken[i].push((start, end));
        per_probe[i].push(Special { start, end, kind });
        let _ = rng;
        true
    };
    // Outages: about 0.4 per probe and year, at least a few.
    let n_outages = (p.probes * usize::try_from(p.days).unwrap() * 4 / 3650).max(p.probes / 2 + 2);
    let mut made = 0;
    while made < n_outages {
        let i = usize::try_from(rng.below(u64::try_from(p.probes).unwrap())).unwrap();
        let s = rng.range(t_first, t_last);
        let len = [3, 5, 8, 12, 20, 30, 45, 60, 90, 150, 240, 480, 2000]
            [usize::try_from(rng.below(13)).unwrap()]
            * MIN;
        let class = CLASSES[usize::try_from(rng.below(5)).unwrap()];
        if add(&mut rng, i, s, len, Kind::Outage(class)) {
            made += 1;
        }
    }
    // Isolated failed checks: one a week per probe on average.
    let n_blips = p.probes * usize::try_from(p.days).unwrap() / 7;
    for _ in 0..n_blips {
        let i = usize::try_from(rng.below(u64::try_from(p.probes).unwrap())).unwrap();
        let s = rng.range(t_first, t_last);
        let class = CLASSES[usize::try_from(rng.below(5)).unwrap()];
        add(&mut rng, i, s, 0, Kind::Blip(class));
    }
    for list in &mut per_probe {
        list.sort_unstable_by_key(|s| s.start);
    }
    Plan { stops, per_probe }
}

/// One thing to send, in time order.
#[derive(Clone, Copy, Debug)]
enum Ev {
    Check(Status, Option<ErrorClass>),
    Opened {
        start: i64,
        lsb: i64,
        class: ErrorClass,
    },
    Closed {
        start: i64,
        lsb: i64,
        class: ErrorClass,
        last: i64,
        n: u32,
    },
}

fn in_stop(stops: &[(i64, i64)], t: i64) -> bool {
    stops.iter().any(|&(a, b)| a <= t && t < b)
}

fn probe_events(
    p: &Params,
    i: usize,
    stops: &[(i64, i64)],
    specials: &[Special],
) -> Vec<(i64, Ev)> {
    let off = offset(i, p.probes);
    let mut out: Vec<(i64, Ev)> = Vec::new();
    let inside = |t: i64| specials.iter().any(|s| s.start <= t && t < s.end);
    let up = Ev::Check(Status::Up, None);
    let mut day = T0;
    while day < p.end() {
        let first = on_grid(day - 1, off) + MIN;
        let last = on_grid(day + DAY - 1, off);
        for t in [first, last] {
            if !inside(t) {
                out.push((t, up));
            }
        }
        // Around a stop: the last check before it, the first after it.
        for &(a, b) in stops {
            if a >= day && a < day + DAY {
                out.push((on_grid(a - 1, off), up));
            }
            if b >= day && b < day + DAY {
                out.push((on_grid(b - 1, off) + MIN, up));
            }
        }
        day += DAY;
    }
    for s in specials {
        let lsb = s.start - MIN;
        out.push((lsb, up));
        match s.kind {
            Kind::Blip(class) => {
                out.push((s.start, Ev::Check(Status::Down, Some(class))));
            }
            Kind::Offline => {
                let mut t = s.start;
                while t < s.end {
                    out.push((t, Ev::Check(Status::Unknown, Some(ErrorClass::Unknown))));
                    t += MIN;
                }
            }
            Kind::Outage(class) => {
                out.push((s.start, Ev::Check(Status::Down, Some(class))));
                out.push((s.start + 10_000, Ev::Check(Status::Down, Some(class))));
                out.push((
                    s.start + 10_000,
                    Ev::Opened {
                        start: s.start,
                        lsb,
                        class,
                    },
                ));
                let (mut t, mut n, mut last) = (s.start + MIN, 2u32, s.start + 10_000);
                while t < s.end {
                    out.push((t, Ev::Check(Status::Down, Some(class))));
                    (last, n) = (t, n + 1);
                    t += MIN;
                }
                out.push((
                    s.end,
                    Ev::Closed {
                        start: s.start,
                        lsb,
                        class,
                        last,
                        n,
                    },
                ));
            }
        }
        out.push((s.end, up));
    }
    out.retain(|(t, _)| *t >= T0 && *t < p.end() && !in_stop(stops, *t));
    // Checks before outage events at one instant: a check is recorded before the
    // outage it confirms or closes.
    out.sort_by_key(|(t, e)| (*t, matches!(e, Ev::Opened { .. } | Ev::Closed { .. })));
    out.dedup_by(|a, b| a.0 == b.0 && matches!((a.1, b.1), (Ev::Check(..), Ev::Check(..))));
    out
}

fn check(probe: &str, at: i64, status: Status, class: Option<ErrorClass>, i: usize) -> Check {
    let total = Duration::from_millis(40 + u64::try_from(i % 23).unwrap());
    Check {
        probe: probe.to_owned(),
        started_at: UtcMillis(at),
        status,
        class,
        detail: class.map_or_else(String::new, |c| detail(c).to_owned()),
        phases: Phases {
            connect: Some(Duration::from_millis(3)),
            first_byte: Some(Duration::from_millis(30)),
            total: (status != Status::Down).then_some(total),
            ..Phases::default()
        },
        cert_not_after: None,
    }
}

/// The configuration's maintenance windows: one per four contracts over the
/// period, one to two hours at night, announced three days before.
fn maintenance(p: &Params) -> Vec<(usize, i64, i64, i64)> {
    let mut rng = Rng(0x3A1_7E4A);
    (0..p.contracts / 4 + 1)
        .map(|n| {
            let j = (n * 4 + 1) % p.contracts.max(1);
            let day = rng.range(3, p.days - 2);
            let start = T0 + day * DAY + rng.range(0, 4) * 3_600_000;
            let end = start + rng.range(1, 3) * 3_600_000;
            (j, start, end, start - 3 * DAY)
        })
        .collect()
}

fn iso(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).unwrap().to_string()
}

/// The contracts' probes and `unavailable_when`.
fn contract_probes(p: &Params, j: usize) -> (Vec<usize>, &'static str) {
    let n = p.probes;
    match j % 5 {
        0 => (vec![j % n, (j + 1) % n, (j + 2) % n], "2 of 3"),
        1 => (vec![j % n, (j + 7) % n], "all"),
        2 => (vec![j % n, (j + 3) % n], "any"),
        _ => (vec![j % n], "any"),
    }
}

const PLANS: &str = r#"
[[plan]]
id = "hosting-pro"
provider = "Example Hosting S.p.A."
service = "Shared hosting, Pro plan"
verified = "synthetic"
currency = "EUR"
fee = "9.99"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "99.9"
measurement.method = "time"
exclusions.maintenance.excluded = true
exclusions.maintenance.min_notice = "P2D"
credit.scheme = "tiered_percent"
credit.tiers = [{ below = "99.9", pct = "10" }, { below = "99.0", pct = "25" }, { below = "95.0", pct = "100" }]
credit.cap_pct_of_fee = "100"
claim.deadline = { kind = "days_after_period_end", days = 30 }

[[plan]]
id = "vps-extension"
provider = "Example Hosting S.p.A."
service = "VPS: free days of service after a breach"
verified = "synthetic"
currency = "EUR"
fee = "30.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "99.95"
measurement.method = "time"
credit.scheme = "tiered_days"
credit.tiers = [{ below = "99.95", days = 3 }, { below = "99.0", days = 7 }, { below = "95.0", days = 15 }]
credit.cap_days = 15
credit.form = "term_extension"

[[plan]]
id = "mail-business"
provider = "Example Mail S.p.A."
service = "Business mailbox"
verified = "synthetic"
customer_type = "business"
currency = "EUR"
fee = "4.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "daily_flat"
credit.per_day = "6.00"
credit.day_count = "local_calendar_days_touched"
credit.business_multiplier = "2"

[[plan]]
id = "cloud-ny"
provider = "Example Cloud Inc."
service = "Managed web hosting"
verified = "synthetic"
currency = "USD"
fee = "25.00"
window.kind = "calendar_month"
window.timezone = "America/New_York"
objective.target = "99.95"
measurement.method = "time"
exclusions.maintenance.excluded = true
credit.scheme = "tiered_percent"
credit.tiers = [{ below = "99.95", pct = "10" }, { below = "99.0", pct = "30" }]
claim.deadline = { kind = "days_after_period_end", days = 60 }

[[plan]]
id = "agcom-347-18-free-service"
provider = "AGCOM delibera 347/18/CONS"
service = "Free service, malfunction"
verified = "partial"
customer_type = "consumer"
currency = "EUR"
fee = "0.00"
window.kind = "calendar_month"
window.timezone = "Europe/Rome"
objective.target = "100"
objective.breach_if = "any_downtime"
measurement.method = "time"
credit.scheme = "daily_flat"
credit.per_day = "1.00"
credit.day_count = "local_calendar_days_touched"
credit.cap_amount = "100.00"
"#;

/// The configuration: the daemon's defaults (60 s, retention left out: 400 days),
/// the probes, five plans, the contracts and the maintenance windows.
pub fn config_toml(p: &Params, database: &Path, reports: &Path) -> String {
    let mut s = format!(
        "[daemon]\ndatabase = {:?}\nreports_dir = {:?}\nvantage = \"bench\"\n\
         interval = \"60s\"\ntimeout = \"10s\"\nretry_interval = \"10s\"\n\n",
        database.display().to_string(),
        reports.display().to_string()
    );
    for i in 0..p.probes {
        let _ = writeln!(
            s,
            "[[http]]\nname = \"{}\"\nurl = \"http://{}.test/\"\n",
            probe_name(i),
            probe_name(i)
        );
    }
    s.push_str(PLANS);
    for j in 0..p.contracts {
        let plan = ["hosting-pro", "vps-extension", "mail-business", "cloud-ny"][j % 4];
        let (probes, when) = contract_probes(p, j);
        let list = probes
            .iter()
            .map(|&i| format!("\"{}\"", probe_name(i)))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            s,
            "\n[[contract]]\nid = \"{}\"\nplan = \"{plan}\"\ncustomer = \"Customer {j}\"\n\
             probes = [{list}]\nunavailable_when = \"{when}\"\n",
            contract_name(j)
        );
        if j % 3 == 0 {
            let _ = writeln!(s, "fee = \"{}.{:02}\"", 5 + j % 40, j % 100);
        }
        if j % 50 == 7 {
            s.push_str("start = \"2025-06-15\"\n");
        }
        if j % 7 == 2 && plan == "mail-business" {
            s.push_str("compare_with = [\"agcom-347-18-free-service\"]\n");
        }
        if j % 11 == 4 {
            s.push_str("unmonitored = \"as_up\"\n");
        }
    }
    for (j, start, end, announced) in maintenance(p) {
        let _ = write!(
            s,
            "\n[[maintenance]]\ncontracts = [\"{}\"]\nstart = \"{}\"\nend = \"{}\"\n\
             announced_at = \"{}\"\nnote = \"kernel upgrade\"\n",
            contract_name(j),
            iso(start),
            iso(end),
            iso(announced)
        );
    }
    s
}

/// Writes the database at `db` (which must not exist); `maintenance` is the
/// configuration's (`config.maintenance`), copied to the store as the daemon does.
pub fn generate(
    p: &Params,
    db: &Path,
    maintenance: &[slawatch::config::Maintenance],
    mut progress: impl FnMut(i64),
) -> Written {
    let plan = plan(p);
    let names: Vec<String> = (0..p.probes).map(probe_name).collect();
    let mut events: Vec<(i64, u32, Ev)> = Vec::new();
    for (i, specials) in plan.per_probe.iter().enumerate() {
        for (t, e) in probe_events(p, i, &plan.stops, specials) {
            events.push((t, u32::try_from(i).unwrap(), e));
        }
    }
    events.sort_by_key(|(t, i, e)| (*t, matches!(e, Ev::Opened { .. } | Ev::Closed { .. }), *i));
    let mut w = Written {
        stops: u64::try_from(plan.stops.len()).unwrap(),
        ..Written::default()
    };
    let open = || {
        let store = Store::open(db).unwrap();
        store
            .register_probes(
                &names
                    .iter()
                    .map(|n| (n.clone(), "http".to_owned()))
                    .collect::<Vec<_>>(),
            )
            .unwrap();
        store.record_maintenance(maintenance).unwrap();
        store
    };
    let mut store = Some(open());
    let mut next = events.iter().peekable();
    let mut hb = T0;
    let mut stops = plan.stops.iter().peekable();
    let mut last_day = -1;
    while hb < p.end() {
        if let Some(&&(a, b)) = stops.peek()
            && hb >= a
        {
            // The daemon stops: everything before is written and sealed; it starts
            // again at `b`.
            while next.peek().is_some_and(|(t, ..)| *t < a) {
                let (t, i, e) = next.next().unwrap();
                send(store.as_ref().unwrap(), &names, *t, *i, *e, &mut w);
            }
            store.take().unwrap().close().unwrap();
            hb = b;
            stops.next();
            store = Some(open());
            continue;
        }
        let s = store.as_ref().unwrap();
        while next.peek().is_some_and(|(t, ..)| *t < hb) {
            let (t, i, e) = next.next().unwrap();
            send(s, &names, *t, *i, *e, &mut w);
        }
        s.heartbeat("bench", UtcMillis(hb)).unwrap();
        w.heartbeats += 1;
        let day = (hb - T0) / DAY;
        if day != last_day {
            last_day = day;
            s.flush().unwrap();
            progress(day);
        }
        hb += 5_000;
    }
    store.take().unwrap().close().unwrap();
    w.offline = u64::try_from((p.days / 120).max(1)).unwrap();
    w.incidents = incidents(p, db, &plan.stops);
    w
}

fn send(store: &Store, names: &[String], t: i64, i: u32, e: Ev, w: &mut Written) {
    let i = usize::try_from(i).unwrap();
    let name = &names[i];
    match e {
        Ev::Check(status, class) => {
            store
                .record_check(&check(name, t, status, class, i))
                .unwrap();
            w.checks += 1;
            if status == Status::Down {
                w.failures += 1;
            }
        }
        Ev::Opened { start, lsb, class } => {
            store
                .record_outage(&Event::Opened(Outage {
                    probe: name.clone(),
                    start: UtcMillis(start),
                    end: None,
                    last_failure: UtcMillis(start + 10_000),
                    last_success_before: Some(UtcMillis(lsb)),
                    class,
                    detail: detail(class).to_owned(),
                    failed_checks: 2,
                }))
                .unwrap();
        }
        Ev::Closed {
            start,
            lsb,
            class,
            last,
            n,
        } => {
            store
                .record_outage(&Event::Closed(Outage {
                    probe: name.clone(),
                    start: UtcMillis(start),
                    end: Some(UtcMillis(t + 45)),
                    last_failure: UtcMillis(last),
                    last_success_before: Some(UtcMillis(lsb)),
                    class,
                    detail: detail(class).to_owned(),
                    failed_checks: n,
                }))
                .unwrap();
            w.outages += 1;
        }
    }
}

/// Records entered by hand: for each stop, what the provider's status page said for
/// a few contracts while slawatch was not running; and one in twenty contracts with
/// a record of its own (a customer's report of an outage the checks did not see).
fn incidents(p: &Params, db: &Path, stops: &[(i64, i64)]) -> u64 {
    let mut rng = Rng(0x1AC1_DE17);
    let mut records = Vec::new();
    for (n, &(a, b)) in stops.iter().enumerate() {
        for k in 0..3 {
            let j = (n * 97 + k * 31) % p.contracts.max(1);
            records.push(Incident {
                contract: Some(contract_name(j)),
                start: UtcMillis(a + (b - a) / 4),
                end: UtcMillis(a + (b - a) / 2),
                source: IncidentSource::StatusPage,
                note: "status page: degraded performance".to_owned(),
                created_at: UtcMillis(b + DAY),
                ..Incident::default()
            });
        }
    }
    for j in (0..p.contracts).step_by(20) {
        let start = T0 + rng.range(2, p.days - 2) * DAY + rng.range(0, 20) * 3_600_000;
        let (probes, _) = contract_probes(p, j);
        let by_probe = j % 40 == 0;
        records.push(Incident {
            probe: by_probe.then(|| probe_name(probes[0])),
            contract: (!by_probe).then(|| contract_name(j)),
            start: UtcMillis(start),
            end: UtcMillis(start + rng.range(10, 180) * MIN),
            source: IncidentSource::Manual,
            note: "the customer could not reach the site".to_owned(),
            created_at: UtcMillis(start + 2 * DAY),
            ..Incident::default()
        });
    }
    let n = u64::try_from(records.len()).unwrap();
    slawatch::store::add_incidents(
        db,
        &records
            .into_iter()
            .map(|incident| NewIncident {
                incident,
                sizes: Vec::new(),
            })
            .collect::<Vec<_>>(),
    )
    .unwrap();
    n
}
