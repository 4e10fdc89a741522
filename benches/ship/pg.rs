//! A throw-away PostgreSQL cluster on loopback for the shipping benchmark: the
//! start-up of `tests/it/peers/postgres.rs` (which a bench cannot import), without
//! TLS (`sslmode=disable`: the bench measures shipping, not the cipher), password
//! authentication (SCRAM) for the user `slawatch`. As root, the server runs as
//! Debian's `postgres` user (it refuses to run as root).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

pub(crate) const PASSWORD: &str = "bench-secret-7f3a";

pub(crate) struct Postgres {
    pub(crate) addr: SocketAddr,
    pub(crate) pid: u32,
    child: Child,
    bin: PathBuf,
    dir: TempDir,
}

fn bin_dir() -> PathBuf {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is not installed (Debian's postgresql)")
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

fn as_owner(program: &Path) -> Command {
    if is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

impl Postgres {
    pub(crate) fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let bin = bin_dir();
        let pwfile = d.join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        let data = d.join("data");
        if is_root() {
            assert!(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(d)
                    .status()
                    .unwrap()
                    .success()
            );
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
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let conf = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             ssl = off\nmax_connections = 20\nshared_buffers = 128MB\n",
            d.display()
        );
        std::fs::write(data.join("postgresql.auto.conf"), conf).unwrap();
        if is_root() {
            let _ = Command::new("chown")
                .arg("-R")
                .arg("postgres:postgres")
                .arg(&data)
                .status();
        }
        let log = std::fs::File::create(d.join("postgres.log")).unwrap();
        let child = as_owner(&bin.join("postgres"))
            .arg("-D")
            .arg(&data)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let pg = Postgres {
            addr,
            pid: child.id(),
            child,
            bin,
            dir,
        };
        let start = Instant::now();
        while pg.psql("postgres", "SELECT 1").is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "postgres did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(TcpStream::connect(addr).is_ok());
        pg
    }

    /// Runs `sql` in `db` as the superuser over the Unix socket.
    pub(crate) fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
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

    /// CPU time (user + system) of the server's processes so far: the postmaster's
    /// children that ended are counted in its cutime/cstime, those alive are summed.
    pub(crate) fn cpu(&self) -> Duration {
        let ticks = |stat: &str, from: usize, n: usize| -> u64 {
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            rest.split_whitespace()
                .skip(from)
                .take(n)
                .map(|v| v.parse::<u64>().unwrap_or(0))
                .sum()
        };
        let mut total = 0;
        if let Ok(s) = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)) {
            // fields 14-17 (utime stime cutime cstime) are 11..15 after the name.
            total += ticks(&s, 11, 4);
        }
        if let Ok(kids) = std::fs::read_to_string(format!("/proc/{0}/task/{0}/children", self.pid))
        {
            for k in kids.split_whitespace() {
                if let Ok(s) = std::fs::read_to_string(format!("/proc/{k}/stat")) {
                    total += ticks(&s, 11, 2);
                }
            }
        }
        Duration::from_millis(total * 10)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
