//! Several vantages and the shared PostgreSQL store (issue 18): configuration,
//! connection settings. The tests against a real PostgreSQL live beside these.

use std::path::Path;

/// `[shared]` with `url`, the password from the environment, and the vantages.
fn config(shared: &str) -> Result<slawatch::config::Config, slawatch::config::ConfigErrors> {
    let text = format!(
        "[daemon]\nvantage = \"milano-1\"\n\n[shared]\n{shared}\n\n\
         [[http]]\nname = \"site\"\nurl = \"http://127.0.0.1:9/\"\nvantages = 2\n\n\
         [[tcp]]\nname = \"port\"\ntarget = \"127.0.0.1:9\"\nvantages = [\"roma-1\"]\n"
    );
    let env = |k: &str| (k == "PG_PASSWORD").then(|| "s3cret-pg".to_owned());
    slawatch::config::parse_str(&text, Path::new("/etc/slawatch/probes.toml"), &env)
}

#[test]
fn shared_settings_keep_the_password_apart_and_require_tls_unless_disabled() {
    let c = config(
        "url = \"postgres://slawatch@db.example.test:5433/slawatch\"\npassword_env = \"PG_PASSWORD\"\nvantages = [\"milano-1\", \"roma-1\", \"torino-1\"]",
    )
    .unwrap();
    let shared = c.shared.as_ref().unwrap();
    assert_eq!(shared.password.as_ref().unwrap().expose(), "s3cret-pg");
    assert!(!format!("{shared:?}").contains("s3cret-pg"));
    let pg = slawatch::shared::pg::client_config(shared).unwrap();
    assert_eq!(pg.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
    assert_eq!(pg.get_dbname(), Some("slawatch"));
    assert_eq!(pg.get_ports(), &[5433]);

    let three = "vantages = [\"milano-1\", \"roma-1\", \"torino-1\"]";
    let prefer = config(&format!(
        "url = \"postgres://slawatch@db.example.test/slawatch?sslmode=prefer\"\n{three}"
    ))
    .unwrap();
    let pg = slawatch::shared::pg::client_config(prefer.shared.as_ref().unwrap()).unwrap();
    assert_eq!(pg.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
    let clear = config(&format!(
        "url = \"postgres://slawatch@127.0.0.1/slawatch?sslmode=disable\"\n{three}"
    ))
    .unwrap();
    let pg = slawatch::shared::pg::client_config(clear.shared.as_ref().unwrap()).unwrap();
    assert_eq!(pg.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
}

#[test]
fn probes_spread_by_count_or_by_name_run_on_their_vantages_only() {
    let c = config(
        "url = \"postgres://slawatch@db.example.test/slawatch\"\nvantages = [\"milano-1\", \"roma-1\", \"torino-1\"]",
    )
    .unwrap();
    let site = c.probe("site").unwrap();
    let on = c.vantages_of(site);
    assert_eq!(on.len(), 2, "{on:?}");
    assert_eq!(c.runs_here(site), on.contains(&"milano-1".to_owned()));
    let port = c.probe("port").unwrap();
    assert_eq!(c.vantages_of(port), vec!["roma-1".to_owned()]);
    assert!(!c.runs_here(port));
}

#[test]
fn shared_mistakes_are_each_reported_at_their_place() {
    let e = config(
        "url = \"postgres://slawatch:hunter2@db.example.test/slawatch\"\nvantages = [\"roma-1\"]",
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("holds a password"), "{e}");
    assert!(!e.contains("hunter2"), "{e}");
    assert!(e.contains("does not list this vantage 'milano-1'"), "{e}");
    assert!(
        e.contains("vantages = 2, but [shared] vantages lists 1"),
        "{e}"
    );
    let e = config("url = \"mysql://db.example.test/x\"")
        .unwrap_err()
        .to_string();
    assert!(e.contains("must be postgres://"), "{e}");
    assert!(
        e.contains("spreads the probe over [shared] vantages, which is not set"),
        "{e}"
    );
}

/// A vantage's configuration with `[shared]` pointing at `pg`.
fn shared_of(pg: &crate::peers::postgres::Postgres, dir: &Path) -> slawatch::config::Config {
    let text = format!(
        "[daemon]\nvantage = \"milano-1\"\ndatabase = \"{}\"\n\n{}",
        dir.join("v.db").display(),
        pg.shared_toml(&["milano-1"])
    );
    slawatch::config::parse_str(&text, &dir.join("probes.toml"), &|_| None).unwrap()
}

/// Daemons started together against a new database: each migrates, one at a time,
/// and none fails (without the lock, all but one failed to apply V1 and logged the
/// store lost).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vantages_migrating_a_new_database_at_once_all_succeed() {
    let pg = crate::peers::postgres::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let config = shared_of(&pg, dir.path());
    let settings = config.shared.clone().unwrap();
    let mut all = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let s = settings.clone();
        all.spawn(async move {
            slawatch::shared::pg::connect_and_migrate(&s)
                .await
                .map(drop)
        });
    }
    let mut ok = 0;
    while let Some(r) = all.join_next().await {
        r.unwrap().unwrap();
        ok += 1;
    }
    assert_eq!(ok, 6);
    assert_eq!(pg.sql("SELECT count(*) FROM refinery_schema_history"), "1");
}

#[tokio::test]
async fn the_shared_store_is_reached_over_verified_tls_with_the_password_and_migrated_once() {
    let pg = crate::peers::postgres::Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    let config = shared_of(&pg, dir.path());
    let settings = config.shared.as_ref().unwrap();
    let client = slawatch::shared::pg::connect_and_migrate(settings)
        .await
        .unwrap();
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(row.get::<_, bool>(0), "the connection is not encrypted");
    // Migrating again is a no-op; the schema is there.
    let _again = slawatch::shared::pg::connect_and_migrate(settings)
        .await
        .unwrap();
    assert_eq!(
        pg.sql("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('seals', 'runs', 'failures', 'outages', 'coverage', 'checkpoints')"),
        "6"
    );

    // A wrong password: refused, and the message holds no password.
    let mut wrong = settings.clone();
    wrong.password = Some(slawatch::config::Secret::new("not-the-password".to_owned()));
    let e = slawatch::shared::pg::connect(&wrong)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("password authentication failed"), "{e}");
    assert!(!e.contains("not-the-password"), "{e}");
    // A CA that did not sign the server's certificate: refused before any password.
    let other = tempfile::tempdir().unwrap();
    let mut untrusted = settings.clone();
    untrusted.ca_file = Some(crate::certs::write_pem_files(other.path()).ca);
    let e = slawatch::shared::pg::connect(&untrusted)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.to_lowercase().contains("certificate"), "{e}");
}
