//! nginx as a test peer: one instance per test, HTTP and HTTPS on loopback high
//! ports, everything (config, pid, logs, temp files, documents) in its temp dir.
//!
//! `nginx -c` ignores `modules-enabled`, so the echo module (for `echo_sleep`) is
//! loaded by path. The master runs in the foreground (`daemon off`) as the leader of
//! its process group, so [`Daemon::freeze`] and [`Daemon::kill`] reach the workers.
//! Workers run as root (`user root;`): the temp dir belongs to root.
//!
//! Locations: `/health` (200 "OK"), `/fail` (500), `/slow` (1.5 s, then 200 "slow
//! OK"), `/redirect` (302 to `/health`, relative), `/loop` (302 to itself),
//! `/big.txt` ([`BIG_LEN`] bytes: [`BIG_HEAD`] first, [`BIG_TAIL`] at the end),
//! `/vantage` (200 "OK", but 403 to 127.0.0.2: one vantage's "own network cut").
//! The access log is nginx's `combined` format: each line starts with `$remote_addr`.

use super::{Daemon, START_TIMEOUT, free_addr, wait_listening, write};
use crate::certs::{PemFiles, write_pem_files};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The echo module of `libnginx-mod-http-echo`.
const ECHO_MODULE: &str = "/usr/lib/nginx/modules/ngx_http_echo_module.so";

/// Size of `/big.txt`: 3 MiB.
pub(crate) const BIG_LEN: usize = 3 * 1024 * 1024;
/// The first bytes of `/big.txt`.
pub(crate) const BIG_HEAD: &str = "BIG-HEAD-MARKER";
/// The last bytes of `/big.txt`, far past the probe's 1 MiB body cap.
pub(crate) const BIG_TAIL: &str = "BIG-TAIL-MARKER";

/// A running nginx.
pub(crate) struct Nginx {
    /// Plain HTTP listener.
    pub(crate) http: SocketAddr,
    /// HTTPS listener (certificate for 127.0.0.1 signed by `pem.ca`).
    pub(crate) https: SocketAddr,
    /// The CA, leaf and key nginx serves.
    pub(crate) pem: PemFiles,
    /// The daemon (process group); public so tests can freeze or kill it.
    pub(crate) daemon: Daemon,
    dir: TempDir,
}

impl Nginx {
    /// Starts nginx and waits until both ports listen.
    ///
    /// # Panics
    /// When nginx or the echo module is missing (install `nginx-light` and
    /// `libnginx-mod-http-echo`), or nginx does not start.
    pub(crate) fn start() -> Nginx {
        assert!(
            Path::new(ECHO_MODULE).exists(),
            "{ECHO_MODULE} is missing: install libnginx-mod-http-echo"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let pem = write_pem_files(d);
        let www = d.join("www");
        std::fs::create_dir(&www).unwrap();
        std::fs::create_dir(d.join("tmp")).unwrap();
        std::fs::write(www.join("big.txt"), big_body()).unwrap();
        let (http, https) = (free_addr(), free_addr());
        let conf = write(d, "nginx.conf", &config(d, http, https, &pem, &www));
        let daemon = spawn(d, &conf);
        wait_listening(http, "nginx (http)", Some(&d.join("error.log")));
        wait_listening(https, "nginx (https)", Some(&d.join("error.log")));
        Nginx {
            http,
            https,
            pem,
            daemon,
            dir,
        }
    }

    /// Starts nginx again on the same ports after [`Daemon::kill`] (a stopped
    /// service coming back).
    pub(crate) fn restart(&mut self) {
        self.daemon.kill();
        let d = self.dir.path();
        self.daemon = spawn(d, &d.join("nginx.conf"));
        wait_listening(self.http, "nginx (http)", Some(&d.join("error.log")));
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub(crate) fn http_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.http)
    }

    /// `https://127.0.0.1:PORT{path}`.
    pub(crate) fn https_url(&self, path: &str) -> String {
        format!("https://{}{path}", self.https)
    }

    /// The CA file that makes the HTTPS listener trusted.
    pub(crate) fn ca(&self) -> PathBuf {
        self.pem.ca.clone()
    }

    /// The access log so far (for assertions on what nginx received).
    pub(crate) fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    /// The access log once `done` holds for it. nginx logs a request after sending
    /// the response, so a client can be done before its line is written.
    ///
    /// # Panics
    /// When `done` does not hold within [`START_TIMEOUT`], with the log.
    pub(crate) fn access_log_when(&self, done: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            let log = self.access_log();
            if done(&log) {
                return log;
            }
            assert!(
                start.elapsed() < START_TIMEOUT,
                "the access log never got what was expected:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// `/big.txt`: the head marker, filler, the tail marker, [`BIG_LEN`] bytes in all.
fn big_body() -> Vec<u8> {
    let mut body = Vec::with_capacity(BIG_LEN);
    body.extend_from_slice(BIG_HEAD.as_bytes());
    body.resize(BIG_LEN - BIG_TAIL.len(), b'.');
    body.extend_from_slice(BIG_TAIL.as_bytes());
    body
}

fn config(d: &Path, http: SocketAddr, https: SocketAddr, pem: &PemFiles, www: &Path) -> String {
    let d = d.display();
    format!(
        r#"load_module {ECHO_MODULE};
user root;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    default_type text/plain;
    absolute_redirect off;
    server {{
        listen {http};
        listen {https} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {www};
        location = /health {{ return 200 "OK\n"; }}
        location = /fail {{ return 500 "broken\n"; }}
        location = /slow {{ echo_sleep 1.5; echo "slow OK"; }}
        location = /redirect {{ return 302 /health; }}
        location = /loop {{ return 302 /loop; }}
        location = /vantage {{ deny 127.0.0.2; echo "OK"; }}
        location / {{ }}
    }}
}}
"#,
        cert = pem.cert.display(),
        key = pem.key.display(),
        www = www.display(),
    )
}

/// Runs nginx in the foreground from `dir` with `conf`.
fn spawn(dir: &Path, conf: &Path) -> Daemon {
    let mut cmd = Command::new("nginx");
    cmd.arg("-g")
        .arg("daemon off; master_process on;")
        .arg("-e")
        .arg(dir.join("error.log"))
        .arg("-c")
        .arg(conf)
        .arg("-p")
        .arg(dir);
    Daemon::spawn("nginx", cmd, &dir.join("stdout.log"))
}
