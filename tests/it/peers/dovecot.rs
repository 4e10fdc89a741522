//! A real Dovecot (Debian 12: 2.3.x) on loopback high ports, for the IMAP, POP3 and
//! SMTP probes.
//!
//! [`Dovecot::start`] writes a config, a passwd-file with one user and the test
//! certificate into a fresh temp dir and runs `dovecot -F -c <dir>/dovecot.conf` in
//! its own process group (see [`Daemon`]). It serves:
//!
//! - IMAP (plain, STARTTLS offered) and IMAPS (implicit TLS);
//! - POP3 (plain, STLS offered) and POP3S;
//! - LMTP on 127.0.0.1 (for Postfix's delivery, and [`Dovecot::deliver`]);
//! - an auth socket with mode 0666 for Postfix's `smtpd_sasl_path`
//!   ([`Dovecot::auth_socket`], `smtpd_sasl_type = dovecot`).
//!
//! Loopback counts as secure to Dovecot: plaintext LOGIN works without TLS, so
//! `LOGINDISABLED` never appears here. A wrong password is answered only after
//! `auth_failure_delay` (2 s, left at its default on purpose): tests with a wrong
//! password need a timeout of several seconds.
//!
//! Mail is stored as uid/gid 8 (`mail`), in Maildir under `<dir>/mail/<user>`.

use super::{Daemon, wait_listening, write};
use crate::certs::{PemFiles, write_pem_files};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// uid and gid of Debian's `mail` user, which owns the stored mail.
const MAIL_ID: u32 = 8;

/// A running Dovecot and what a test needs to talk to it. Dropping it kills the
/// server and removes its directory.
pub(crate) struct Dovecot {
    /// The temp dir holding config, certificates, sockets, logs and mail.
    pub(crate) dir: tempfile::TempDir,
    /// The test user's login (`probe@example.test`).
    pub(crate) user: String,
    /// The test user's password (random per instance).
    pub(crate) password: String,
    /// IMAP, plain with STARTTLS offered.
    pub(crate) imap: SocketAddr,
    /// IMAP over implicit TLS.
    pub(crate) imaps: SocketAddr,
    /// POP3, plain with STLS offered.
    pub(crate) pop3: SocketAddr,
    /// POP3 over implicit TLS.
    pub(crate) pop3s: SocketAddr,
    /// LMTP (plain TCP): Postfix delivers here (`lmtp:inet:127.0.0.1:PORT`).
    pub(crate) lmtp: SocketAddr,
    /// Dovecot's auth service for Postfix SASL (mode 0666), an absolute path.
    pub(crate) auth_socket: PathBuf,
    /// The test CA (PEM) that signed the server's certificate (IP SANs 127.0.0.1, ::1).
    pub(crate) ca: PathBuf,
    /// Dovecot's own log (`log_path`).
    pub(crate) log: PathBuf,
    daemon: Daemon,
}

/// Five free loopback addresses, all different: the listeners are held until all
/// are chosen, so the kernel cannot hand out one port twice.
fn distinct_addrs() -> [SocketAddr; 5] {
    let held: Vec<TcpListener> = (0..5)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    std::array::from_fn(|i| held[i].local_addr().unwrap())
}

/// A random-enough password: the std hasher's per-process random keys.
fn random_password() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    format!("pw-{:016x}", h.finish())
}

impl Dovecot {
    /// Starts a Dovecot and waits until every listener accepts connections.
    ///
    /// # Panics
    /// When Dovecot is not installed or does not start within
    /// [`super::START_TIMEOUT`]; the message carries its log.
    pub(crate) fn start() -> Dovecot {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        // The mail processes run as uid 8 and must traverse the temp dir.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let PemFiles { ca, cert, key } = write_pem_files(&root);
        let user = "probe@example.test".to_owned();
        let password = random_password();
        let mail = root.join("mail");
        std::fs::create_dir(&mail).unwrap();
        std::os::unix::fs::chown(&mail, Some(MAIL_ID), Some(MAIL_ID)).unwrap();
        let home = mail.join(&user);
        let passwd = write(
            &root,
            "passwd",
            &format!(
                "{user}:{{PLAIN}}{password}:{MAIL_ID}:{MAIL_ID}::{}::\n",
                home.display()
            ),
        );
        let [imap, imaps, pop3, pop3s, lmtp] = distinct_addrs();
        let r = root.display();
        let conf = format!(
            r#"# slawatch test peer; see tests/it/peers/dovecot.rs
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
protocols = imap pop3 lmtp
listen = 127.0.0.1
first_valid_uid = {MAIL_ID}
last_valid_uid = {MAIL_ID}
first_valid_gid = {MAIL_ID}
mail_uid = {MAIL_ID}
mail_gid = {MAIL_ID}
mail_location = maildir:{r}/mail/%u
disable_plaintext_auth = no
auth_mechanisms = plain login
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
passdb {{
  driver = passwd-file
  args = {passwd}
}}
userdb {{
  driver = passwd-file
  args = {passwd}
}}
service imap-login {{
  service_count = 0
  process_min_avail = 2
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  service_count = 0
  process_min_avail = 2
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3_port}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s_port}
    ssl = yes
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0666
  }}
}}
"#,
            cert = cert.display(),
            key = key.display(),
            passwd = passwd.display(),
            imap_port = imap.port(),
            imaps_port = imaps.port(),
            pop3_port = pop3.port(),
            pop3s_port = pop3s.port(),
            lmtp_port = lmtp.port(),
        );
        let conf = write(&root, "dovecot.conf", &conf);
        let log = root.join("dovecot.log");
        let out = root.join("dovecot.out");
        let mut cmd = Command::new("dovecot");
        cmd.arg("-F").arg("-c").arg(&conf);
        let daemon = Daemon::spawn("dovecot (is dovecot-core installed?)", cmd, &out);
        let dovecot = Dovecot {
            auth_socket: root.join("run/auth-postfix"),
            dir,
            user,
            password,
            imap,
            imaps,
            pop3,
            pop3s,
            lmtp,
            ca,
            log,
            daemon,
        };
        for addr in [imap, imaps, pop3, pop3s, lmtp] {
            wait_listening(addr, "dovecot", Some(&dovecot.log_or_out()));
        }
        dovecot.wait_auth_socket();
        dovecot
    }

    /// Dovecot's log, or its stdout/stderr when it died before opening the log.
    fn log_or_out(&self) -> PathBuf {
        if self.log.exists() {
            self.log.clone()
        } else {
            self.dir.path().join("dovecot.out")
        }
    }

    fn wait_auth_socket(&self) {
        let start = Instant::now();
        while !self.auth_socket.exists() {
            assert!(
                start.elapsed() < super::START_TIMEOUT,
                "dovecot made no auth socket at {}\n{}",
                self.auth_socket.display(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The temp dir.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// What Dovecot logged so far (for assertion messages).
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(self.log_or_out()).unwrap_or_default()
    }

    /// Freezes every Dovecot process (SIGSTOP): connections are accepted by the
    /// kernel, nothing answers.
    pub(crate) fn freeze(&self) {
        self.daemon.freeze();
    }

    /// Resumes a frozen Dovecot (SIGCONT).
    pub(crate) fn thaw(&self) {
        self.daemon.thaw();
    }

    /// Kills every Dovecot process (SIGKILL): its ports refuse connections from now on.
    pub(crate) fn kill(&mut self) {
        self.daemon.kill();
    }

    /// Delivers a message with `subject` to the test user's INBOX over LMTP, the way
    /// Postfix would, and waits for Dovecot's "250" for it.
    ///
    /// # Panics
    /// When Dovecot does not accept the message.
    pub(crate) fn deliver(&self, subject: &str) {
        let stream = TcpStream::connect(self.lmtp).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let expect = |code: &str, reader: &mut BufReader<TcpStream>| loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert!(
                line.starts_with(code),
                "LMTP: wanted {code}, got {line:?}\n{}",
                self.log_text()
            );
            if line.as_bytes().get(3) != Some(&b'-') {
                break;
            }
        };
        expect("220", &mut reader);
        let user = &self.user;
        let steps: [(String, &str); 5] = [
            ("LHLO slawatch.test\r\n".into(), "250"),
            ("MAIL FROM:<sender@example.test>\r\n".into(), "250"),
            (format!("RCPT TO:<{user}>\r\n"), "250"),
            ("DATA\r\n".into(), "354"),
            (
                format!(
                    "From: <sender@example.test>\r\nTo: <{user}>\r\nSubject: {subject}\r\n\r\nslawatch test message\r\n.\r\n"
                ),
                "250",
            ),
        ];
        for (command, code) in steps {
            writer.write_all(command.as_bytes()).unwrap();
            expect(code, &mut reader);
        }
        writer.write_all(b"QUIT\r\n").unwrap();
    }
}

#[test]
fn dovecot_starts_takes_mail_over_lmtp_and_dies() {
    let mut d = Dovecot::start();
    d.deliver("hello");
    d.freeze();
    d.thaw();
    d.deliver("again");
    let new = d.path().join("mail").join(&d.user).join("new");
    let count = std::fs::read_dir(&new)
        .unwrap_or_else(|e| panic!("{}: {e}\n{}", new.display(), d.log_text()))
        .count();
    assert_eq!(count, 2);
    let mode = std::fs::metadata(&d.auth_socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o666, "the auth socket is open to Postfix");
    // The password logs in (loopback counts as secure: no TLS needed).
    let imap = TcpStream::connect(d.imap).unwrap();
    imap.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut lines = BufReader::new(imap.try_clone().unwrap()).lines();
    let greeting = lines.next().unwrap().unwrap();
    assert!(greeting.starts_with("* OK"), "{greeting}");
    (&imap)
        .write_all(format!("a LOGIN \"{}\" \"{}\"\r\n", d.user, d.password).as_bytes())
        .unwrap();
    let reply = lines.find(|l| !l.as_ref().unwrap().starts_with('*'));
    assert!(reply.unwrap().unwrap().starts_with("a OK"));
    assert!(
        std::fs::read_to_string(&d.ca)
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    d.kill();
    for addr in [d.imap, d.imaps, d.pop3, d.pop3s, d.lmtp] {
        super::wait_closed(addr);
    }
}
