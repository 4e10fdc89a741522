//! The daemon's own reports: each closed period's reports written to `reports_dir`
//! once.
//!
//! [`due`] is the pure decision: a period is due when, for every plan in use whose
//! window has that kind of period (months: calendar months and billing cycles;
//! years: calendar years), the period is over since [`SEAL_AFTER_MS`] (its last
//! runs are sealed), monitoring had begun before it ended, and no marker says it was
//! written. The candidates are the current UTC month (a zone east of UTC ends its
//! month earlier), the [`BACKFILL_MONTHS`] months before it and the last year, so a daemon that was stopped over a month's end catches up, and a new
//! installation writes nothing for periods before it began.
//!
//! [`AutoReports::tick`] is the hook the daemon calls from its heartbeat: at most
//! once every [`CHECK_EVERY_MS`] it writes the due periods' reports (every format)
//! on a blocking thread, then sets the marker `report_written:PERIOD` in the
//! store's `meta` table. A failure is logged and retried at the next hour.

use super::SEAL_AFTER_MS;
use crate::config::Config;
use crate::model::UtcMillis;
use crate::sla::plan::{Window, WindowKind};
use crate::sla::{PeriodSpec, period};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// How many past months are candidates.
pub(crate) const BACKFILL_MONTHS: i32 = 12;

/// How often the daemon looks for due periods.
pub(crate) const CHECK_EVERY_MS: i64 = 3_600_000;

/// The `meta` key that marks a period's reports as written.
pub(crate) fn marker(period: &str) -> String {
    format!("report_written:{period}")
}

fn fits(window: &Window, spec: PeriodSpec) -> bool {
    match spec {
        PeriodSpec::Month { .. } => matches!(
            window.kind,
            WindowKind::CalendarMonth | WindowKind::BillingCycle { .. }
        ),
        PeriodSpec::Year(_) => matches!(window.kind, WindowKind::CalendarYear),
    }
}

/// The periods whose reports are due, oldest first (see the module docs).
/// `windows` are the windows of the plans contracts use; `written` the periods
/// already written (`2023-01`, `2023`).
pub(crate) fn due(
    now: UtcMillis,
    windows: &[&Window],
    monitoring_since: Option<UtcMillis>,
    written: &BTreeSet<String>,
) -> Vec<PeriodSpec> {
    let Some(since) = monitoring_since else {
        return Vec::new();
    };
    let today = period::local_date(now.0, &jiff::tz::TimeZone::UTC);
    let mut candidates = Vec::new();
    for back in (0..=BACKFILL_MONTHS).rev() {
        let Ok(first) = today
            .first_of_month()
            .checked_sub(jiff::Span::new().months(back))
        else {
            continue;
        };
        candidates.push(PeriodSpec::Month {
            year: first.year(),
            month: first.month(),
        });
    }
    candidates.insert(0, PeriodSpec::Year(today.year() - 1));
    let mut out = Vec::new();
    for spec in candidates {
        if written.contains(&spec.to_string()) {
            continue;
        }
        let mut ends = Vec::new();
        for w in windows.iter().filter(|w| fits(w, spec)) {
            match period::resolve(w, spec, None) {
                Ok(p) => ends.push(p.end),
                Err(_) => ends.clear(),
            }
        }
        let Some(last_end) = ends.iter().copied().max() else {
            continue;
        };
        if now.0 >= last_end.saturating_add(SEAL_AFTER_MS) && since.0 < last_end {
            out.push(spec);
        }
    }
    out
}

/// Writes the due periods' reports for `config` at `now`; returns the files written.
///
/// # Errors
/// The first problem met (database, report, file), as text for the log.
pub fn write_due(config: &Config, now: UtcMillis) -> Result<Vec<PathBuf>, String> {
    let database = &config.daemon.database;
    let reader = crate::store::Reader::open(database).map_err(|e| e.to_string())?;
    let written: BTreeSet<String> = reader
        .meta_keys("report_written:")
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|k| k.strip_prefix("report_written:").map(str::to_owned))
        .collect();
    let windows: Vec<&Window> = config
        .contracts
        .iter()
        .filter_map(|c| config.plans.iter().find(|p| p.id == c.plan))
        .map(|p| &p.window)
        .collect();
    let mut files = Vec::new();
    for spec in due(
        now,
        &windows,
        reader.monitoring_since().map_err(|e| e.to_string())?,
        &written,
    ) {
        let label = spec.to_string();
        let report = super::build(config, &reader, &label, None, now).map_err(|e| e.to_string())?;
        if !report.contracts.is_empty() {
            let stem = super::file_stem(&label, None);
            for format in super::Format::ALL {
                for (name, content) in super::render(&report, format, &stem, super::Lang::En) {
                    files.push(write_atomically(
                        &config.daemon.reports_dir,
                        &name,
                        &content,
                    )?);
                }
            }
        }
        crate::store::set_meta(database, &marker(&label), &now.to_string())
            .map_err(|e| e.to_string())?;
    }
    Ok(files)
}

/// Whether `name` is a plain file name: one path component, no separator, not
/// `.`/`..` nor hidden, no NUL. Report names hold a period and a contract id, which
/// must never steer a file out of its folder.
pub(crate) fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 255
}

/// Writes `content` as `dir/name` without ever leaving `dir` or following a
/// symbolic link: `name` must be a plain file name ([`safe_file_name`]); the text
/// goes to a new temporary file in `dir` created exclusively (`create_new`:
/// `O_CREAT | O_EXCL`, which POSIX says fails on an existing link, dangling or
/// not), is synced, then renamed over `name` (a rename replaces a
/// link, it never writes through one), so a reader never sees half a report.
/// Returns the path written.
///
/// # Errors
/// A name that would leave `dir`, or the I/O error with the path.
pub fn write_atomically(dir: &Path, name: &str, content: &str) -> Result<PathBuf, String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    if !safe_file_name(name) {
        return Err(format!(
            "refusing to write '{}': a report file name must stay inside {} (a contract id \
             or period with '/', '..' or a leading '.'?)",
            name.escape_debug(),
            dir.display()
        ));
    }
    if !dir.as_os_str().is_empty() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: cannot create the folder: {e}", dir.display()))?;
    }
    let path = dir.join(name);
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let tmp = dir.join(format!(".{name}.{}.{seq}.tmp", std::process::id()));
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    let written = file
        .write_all(content.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| format!("{}: {e}", tmp.display()))
        .and_then(|()| {
            std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))
        });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written.map(|()| path)
}

/// The daemon's state for its own reports.
#[derive(Debug, Default)]
pub(crate) struct AutoReports {
    last_try: Option<UtcMillis>,
    busy: Arc<AtomicBool>,
}

impl AutoReports {
    /// Called from the daemon's heartbeat (inside the tokio runtime): at most once
    /// every [`CHECK_EVERY_MS`], writes the due reports on a blocking thread.
    pub(crate) fn tick(&mut self, config: &Arc<Config>, now: UtcMillis) {
        if self.last_try.is_some_and(|l| now.0 - l.0 < CHECK_EVERY_MS)
            || self.busy.swap(true, Ordering::AcqRel)
        {
            return;
        }
        self.last_try = Some(now);
        let (config, busy) = (config.clone(), self.busy.clone());
        tokio::task::spawn_blocking(move || {
            match write_due(&config, now) {
                Ok(files) => {
                    for f in files {
                        tracing::info!(file = %f.display(), "report written");
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "writing the period's reports failed; retrying in an hour")
                }
            }
            busy.store(false, Ordering::Release);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::plan::PartialPeriod;

    fn window(kind: WindowKind, tz: &str) -> Window {
        Window {
            kind,
            timezone_name: tz.to_owned(),
            timezone: jiff::tz::TimeZone::get(tz).unwrap(),
            partial_period: PartialPeriod::default(),
            business_hours: None,
        }
    }

    fn at(s: &str) -> UtcMillis {
        UtcMillis::from_timestamp(s.parse().unwrap())
    }

    fn labels(v: &[PeriodSpec]) -> Vec<String> {
        v.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_month_is_due_a_day_and_an_hour_after_its_end_in_the_latest_zone() {
        let rome = window(WindowKind::CalendarMonth, "Europe/Rome");
        let ny = window(WindowKind::CalendarMonth, "America/New_York");
        let since = Some(at("2022-12-15T00:00:00Z"));
        let none = BTreeSet::new();
        // January ends at 2023-01-31T23:00Z in Rome and 2023-02-01T05:00Z in New York;
        // its evidence is sealed a day later, and an hour covers checks in flight.
        assert_eq!(
            labels(&due(at("2023-02-01T23:59:59Z"), &[&rome], since, &none)),
            vec!["2022-12"]
        );
        assert_eq!(
            labels(&due(at("2023-02-02T00:00:00Z"), &[&rome], since, &none)),
            vec!["2022-12", "2023-01"]
        );
        assert_eq!(
            labels(&due(
                at("2023-02-02T05:59:59Z"),
                &[&rome, &ny],
                since,
                &none
            )),
            vec!["2022-12"]
        );
        assert_eq!(
            labels(&due(
                at("2023-02-02T06:00:00Z"),
                &[&rome, &ny],
                since,
                &none
            )),
            vec!["2022-12", "2023-01"]
        );
    }

    #[test]
    fn a_zone_east_of_utc_is_due_from_its_own_end() {
        // January in Tokyo ends at 2023-01-31T15:00Z.
        let tokyo = window(WindowKind::CalendarMonth, "Asia/Tokyo");
        let since = Some(at("2023-01-15T00:00:00Z"));
        let none = BTreeSet::new();
        assert!(due(at("2023-02-01T15:59:59Z"), &[&tokyo], since, &none).is_empty());
        assert_eq!(
            labels(&due(at("2023-02-01T16:00:00Z"), &[&tokyo], since, &none)),
            vec!["2023-01"]
        );
    }

    #[test]
    fn written_periods_and_periods_before_monitoring_are_not_due() {
        let utc = window(WindowKind::CalendarMonth, "UTC");
        let written: BTreeSet<String> = ["2023-01".to_owned()].into();
        let now = at("2023-03-10T00:00:00Z");
        // Monitoring began in the middle of January: December is not due.
        assert_eq!(
            labels(&due(
                now,
                &[&utc],
                Some(at("2023-01-20T00:00:00Z")),
                &written
            )),
            vec!["2023-02"]
        );
        // Never monitored: nothing.
        assert!(due(now, &[&utc], None, &written).is_empty());
        // Monitoring began after February ended: nothing closed since.
        assert!(due(now, &[&utc], Some(at("2023-03-01T00:00:00Z")), &written).is_empty());
    }

    #[test]
    fn yearly_windows_give_yearly_periods_and_no_plan_gives_nothing() {
        let year = window(WindowKind::CalendarYear, "UTC");
        let since = Some(at("2022-06-01T00:00:00Z"));
        let none = BTreeSet::new();
        assert_eq!(
            labels(&due(at("2023-01-02T00:59:59Z"), &[&year], since, &none)),
            Vec::<String>::new()
        );
        assert_eq!(
            labels(&due(at("2023-01-02T01:00:00Z"), &[&year], since, &none)),
            vec!["2022"]
        );
        assert!(due(at("2023-05-01T00:00:00Z"), &[], since, &none).is_empty());
    }

    #[test]
    fn candidates_go_back_a_year_at_most() {
        let utc = window(WindowKind::CalendarMonth, "UTC");
        let got = due(
            at("2023-03-10T00:00:00Z"),
            &[&utc],
            Some(at("2000-01-01T00:00:00Z")),
            &BTreeSet::new(),
        );
        assert_eq!(got.len(), 12);
        assert_eq!(got.first().unwrap().to_string(), "2022-03");
        assert_eq!(got.last().unwrap().to_string(), "2023-02");
    }
}
