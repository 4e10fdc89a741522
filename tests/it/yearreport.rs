//! The reports of the year-of-reports benchmark's database, in small (issue 15):
//! the figures of every contract must not change when report building is made
//! faster. The database is the benchmark's generator's (`benches/reports/yeardb.rs`),
//! written through the `Store`; the snapshot was taken with the report code before
//! any of its speed-ups.

#[path = "../../benches/reports/yeardb.rs"]
mod yeardb;

use slawatch::model::UtcMillis;
use slawatch::report::{self, Format, Lang};
use slawatch::store::Reader;

/// 2026-02-15T00:00:00Z, as the benchmark.
const GENERATED_AT: UtcMillis = UtcMillis(1_771_113_600_000);

struct Fixture {
    _dir: tempfile::TempDir,
    config: slawatch::config::Config,
    db: std::path::PathBuf,
}

fn fixture() -> Fixture {
    let p = yeardb::Params {
        probes: 10,
        contracts: 10,
        days: 32,
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("slawatch.db");
    let config_path = dir.path().join("slawatch.toml");
    std::fs::write(
        &config_path,
        yeardb::config_toml(
            &p,
            std::path::Path::new("slawatch.db"),
            std::path::Path::new("reports"),
        ),
    )
    .unwrap();
    let config = slawatch::config::load(&config_path).unwrap();
    yeardb::generate(&p, &db, &config.maintenance, |_| {});
    Fixture {
        _dir: dir,
        config,
        db,
    }
}

#[test]
fn yearreport_a_generated_month_reports_as_before() {
    let f = fixture();
    let reader = Reader::open(&f.db).unwrap();
    let r = report::build(&f.config, &reader, "2025-01", None, GENERATED_AT).unwrap();
    // The generator made what the benchmark claims: outages, failed checks, gaps.
    // customer-0007 starts in June: not in force in January.
    assert_eq!(r.contracts.len(), 9);
    assert_eq!(r.skipped.len(), 1);
    assert!(r.contracts.iter().any(|c| !c.incidents.is_empty()));
    assert!(r.contracts.iter().any(|c| !c.gaps.is_empty()));
    assert!(r.contracts.iter().any(|c| c.evaluation.breach));
    let json = report::render(&r, Format::Json, "slawatch-2025-01", Lang::En)
        .remove(0)
        .1;
    insta::assert_snapshot!("yearreport_2025_01_json", json);
    let md = report::render(&r, Format::Md, "slawatch-2025-01", Lang::En)
        .remove(0)
        .1;
    insta::assert_snapshot!("yearreport_2025_01_md", md);
}
