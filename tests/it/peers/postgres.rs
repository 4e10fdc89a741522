//! PostgreSQL as a test peer: the shared store of several vantages (issue 18).
//!
//! Each instance is its own cluster, made by `initdb` in a temp dir and run in the
//! foreground by `postgres` on 127.0.0.1 and a high port: TLS on (a certificate for
//! 127.0.0.1 signed by a test CA, [`Postgres::ca`]), password authentication
//! (SCRAM) for the user `slawatch`, a database `slawatch`. As root (CI), the
//! cluster runs as the `postgres` user of Debian's package (the server refuses to
//! run as root), so its directory is handed to that user. `fsync` is off: the
//! tests kill and restart the server, never the machine.

use super::{Daemon, free_port, wait_closed, wait_listening, write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

/// The password of the `slawatch` user in every test cluster.
pub(crate) const PASSWORD: &str = "pg-test-secret-41c9";

/// A running (or stopped) PostgreSQL cluster and its temp dir.
#[derive(Debug)]
pub(crate) struct Postgres {
    /// TCP on this address (TLS or not, password required).
    pub(crate) addr: SocketAddr,
    /// The CA the server's certificate is signed by (`[shared] ca_file`).
    pub(crate) ca: PathBuf,
    /// A file holding [`PASSWORD`] (`[shared] password_file`).
    pub(crate) password_file: PathBuf,
    /// The server's log.
    pub(crate) log: PathBuf,
    daemon: Option<Daemon>,
    bin: PathBuf,
    data: PathBuf,
    dir: TempDir,
}

/// The newest installed server's binaries (`/usr/lib/postgresql/N/bin`).
fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed: ./scripts/test.sh installs Debian's postgresql")
        .filter_map(|e| {
            let e = e.ok()?;
            let n: u32 = e.file_name().to_str()?.parse().ok()?;
            Some((n, e.path().join("bin")))
        })
        .filter(|(_, b)| b.join("postgres").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .expect("no /usr/lib/postgresql/N/bin/postgres")
        .1
}

/// Whether this process runs as root (`/proc/self/status`: the effective uid).
fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

/// `program args...`, as the `postgres` user when we are root.
fn as_owner(program: &Path) -> Command {
    if is_root() {
        // setpriv execs in place (runuser forks and waits): the server is the
        // process the test spawned, in its process group, and dies with it.
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

impl Postgres {
    /// Makes a cluster, starts it and creates the database `slawatch`.
    ///
    /// # Panics
    /// When PostgreSQL is not installed or does not start (with its log).
    pub(crate) fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let bin = bin_dir();
        let pem = crate::certs::write_pem_files(d);
        let password_file = write(d, "password", &format!("{PASSWORD}\n"));
        let pwfile = write(d, "initdb-password", PASSWORD);
        let data = d.join("data");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(d)
                .status()
                .unwrap();
            assert!(
                status.success(),
                "chown of {} to postgres failed",
                d.display()
            );
            // The key must be the server user's and private.
            let _ = Command::new("chmod").arg("0600").arg(&pem.key).status();
        } else {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&pem.key, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let out = as_owner(&bin.join("initdb"))
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "slawatch",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .args(["--no-sync", "-E", "UTF8", "--locale=C"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut pg = Postgres {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            ca: pem.ca.clone(),
            password_file,
            log: d.join("postgres.log"),
            daemon: None,
            bin,
            data,
            dir,
        };
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{sock}'\n\
             ssl = on\nssl_cert_file = '{cert}'\nssl_key_file = '{key}'\n\
             fsync = off\nfull_page_writes = off\n\
             max_connections = 50\nshared_buffers = 32MB\n",
            sock = pg.dir.path().display(),
            cert = pem.cert.display(),
            key = pem.key.display(),
        );
        let auto = pg.data.join("postgresql.auto.conf");
        std::fs::write(&auto, conf).unwrap();
        if is_root() {
            let _ = Command::new("chown")
                .arg("postgres:postgres")
                .arg(&auto)
                .status();
        }
        pg.start_again();
        let out = Command::new(pg.bin.join("psql"))
            .args(["-h"])
            .arg(pg.dir.path())
            .args([
                "-p",
                &port.to_string(),
                "-U",
                "slawatch",
                "-d",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                "CREATE DATABASE slawatch",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "CREATE DATABASE failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    /// Starts the server on its data directory and port (again, after [`Self::stop`]).
    pub(crate) fn start_again(&mut self) {
        assert!(self.daemon.is_none(), "the server is already running");
        let mut cmd = as_owner(&self.bin.join("postgres"));
        cmd.arg("-D").arg(&self.data);
        self.daemon = Some(Daemon::spawn("postgres", cmd, &self.log));
        wait_listening(self.addr, "postgres", Some(&self.log));
        // Listening comes before accepting logins (recovery after a kill).
        for _ in 0..200 {
            if self.try_sql_in("postgres", "SELECT 1").is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "postgres did not accept logins\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    /// Kills the server (SIGKILL to its process group): connections drop at once,
    /// new ones are refused until [`Self::start_again`].
    pub(crate) fn stop(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            d.kill();
        }
        wait_closed(self.addr);
        // A killed postmaster leaves its pid file; the next start checks it is stale.
    }

    /// `postgres://slawatch@127.0.0.1:PORT/slawatch` (TLS required by slawatch's
    /// default when no `sslmode` is given).
    pub(crate) fn url(&self) -> String {
        format!("postgres://slawatch@{}/slawatch", self.addr)
    }

    /// A `[shared]` section for a vantage's configuration: the URL, `password_file`,
    /// `ca_file`, and `vantages` when given.
    pub(crate) fn shared_toml(&self, vantages: &[&str]) -> String {
        let mut s = format!(
            "[shared]\nurl = \"{}\"\npassword_file = \"{}\"\nca_file = \"{}\"\n",
            self.url(),
            self.password_file.display(),
            self.ca.display()
        );
        if !vantages.is_empty() {
            let list: Vec<String> = vantages.iter().map(|v| format!("\"{v}\"")).collect();
            s.push_str(&format!("vantages = [{}]\n", list.join(", ")));
        }
        s
    }

    /// Runs `sql` in the database `slawatch` with psql (over the Unix socket, as
    /// the superuser `slawatch`): its unaligned, tuples-only output.
    ///
    /// # Panics
    /// When psql fails, with its error.
    pub(crate) fn sql(&self, sql: &str) -> String {
        self.try_sql(sql)
            .unwrap_or_else(|e| panic!("psql -c {sql:?} failed: {e}"))
    }

    fn try_sql(&self, sql: &str) -> Result<String, String> {
        self.try_sql_in("slawatch", sql)
    }

    fn try_sql_in(&self, db: &str, sql: &str) -> Result<String, String> {
        let out = Command::new(self.bin.join("psql"))
            .arg("-h")
            .arg(self.dir.path())
            .args([
                "-p",
                &self.addr.port().to_string(),
                "-U",
                "slawatch",
                "-d",
                db,
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-A", "-t", "-q", "-c", sql])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }
}

#[test]
fn postgres_starts_with_tls_and_a_password_and_survives_a_kill() {
    let mut pg = Postgres::start();
    assert_eq!(pg.sql("SHOW ssl"), "on");
    assert_eq!(pg.sql("SELECT current_database()"), "slawatch");
    assert!(pg.url().ends_with("/slawatch"));
    let section = pg.shared_toml(&["a", "b"]);
    assert!(section.contains(&pg.ca.display().to_string()), "{section}");
    assert!(
        section.contains(&pg.password_file.display().to_string()),
        "{section}"
    );
    pg.sql("CREATE TABLE t (x int); INSERT INTO t VALUES (7)");
    pg.stop();
    assert!(pg.try_sql("SELECT 1").is_err());
    pg.start_again();
    assert_eq!(pg.sql("SELECT x FROM t"), "7");
}
