//! A real Postfix (Debian 12: 3.7.x) on loopback high ports, for the SMTP and
//! mailflow probes.
//!
//! [`Postfix::start`] writes `main.cf`, `master.cf`, a recipient table and the test
//! certificate into a fresh temp dir, with the queue and data directories inside
//! it, and runs `postfix -c <dir>/etc start-fg` under a [`Daemon`]. It serves:
//!
//! - [`Postfix::smtp`]: the port-25 role, plain with STARTTLS offered
//!   (`smtpd_tls_security_level = may`), no AUTH;
//! - [`Postfix::submission`]: STARTTLS required (`encrypt`), AUTH through Dovecot's
//!   auth socket (`smtpd_sasl_type = dovecot`), only after TLS;
//! - [`Postfix::smtps`]: implicit TLS (`smtpd_tls_wrappermode`), the same AUTH.
//!
//! Mail for `example.test` (a virtual mailbox domain whose only user is
//! `probe@example.test`) goes over LMTP to the address given at start (Dovecot's
//! LMTP listener, or a closed port to make delivery fail). Every other transport is
//! `error:`, DNS is off and `smtpd_peername_lookup = no`: nothing ever leaves the
//! machine.
//!
//! # Processes
//!
//! The master calls `setsid()`, so it does not stay in the process group the
//! `Daemon` created for `postfix start-fg`: [`Postfix::freeze`] and
//! [`Postfix::kill`] signal the master's own group, found through
//! `$queue_directory/pid/master.pid`; its children (smtpd, qmgr, lmtp...) are in it.
//! `postfix stop` polls in 1 s steps, so the harness never uses it.
//!
//! A failed login is answered after `smtpd_error_sleep_time` (1 s) and, with
//! Dovecot behind it, after Dovecot's `auth_failure_delay` (2 s): tests with a wrong
//! password need a timeout of several seconds.

use super::{Daemon, free_addr, proc_state, wait_closed, wait_listening, write};
use crate::certs::{PemFiles, write_pem_files};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The one recipient Postfix accepts.
pub(crate) const RECIPIENT: &str = "probe@example.test";

/// A running Postfix. Dropping it kills every Postfix process and removes its
/// directory.
pub(crate) struct Postfix {
    /// The temp dir: `etc/` (config), `queue/`, `data/`, the log and certificates.
    pub(crate) dir: tempfile::TempDir,
    /// Port-25 role: plain, STARTTLS offered, no AUTH.
    pub(crate) smtp: SocketAddr,
    /// Submission: STARTTLS required, AUTH (Dovecot SASL) after TLS.
    pub(crate) submission: SocketAddr,
    /// Implicit TLS (SMTPS) with AUTH.
    pub(crate) smtps: SocketAddr,
    /// The test CA (PEM) that signed the server's certificate (IP SANs 127.0.0.1, ::1).
    pub(crate) ca: PathBuf,
    /// Postfix's log (`maillog_file`).
    pub(crate) log: PathBuf,
    master_pid: u32,
    daemon: Daemon,
}

impl Postfix {
    /// Starts a Postfix that delivers `example.test` mail over LMTP to `lmtp` and
    /// checks passwords through the Dovecot auth socket at `auth_socket`, and waits
    /// until every listener accepts connections.
    ///
    /// # Panics
    /// When Postfix is not installed or does not start within
    /// [`super::START_TIMEOUT`]; the message carries its log.
    pub(crate) fn start(lmtp: SocketAddr, auth_socket: &Path) -> Postfix {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        // Postfix's daemons drop to the `postfix` user and must traverse the temp dir.
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let PemFiles { ca, cert, key } = write_pem_files(&root);
        let etc = root.join("etc");
        let queue = root.join("queue");
        let data = root.join("data");
        for d in [&etc, &queue, &data] {
            std::fs::create_dir(d).unwrap();
        }
        // "open lock file ... Permission denied" unless the postfix user owns it.
        let status = Command::new("chown")
            .arg("postfix:")
            .arg(&data)
            .status()
            .expect("chown exists");
        assert!(status.success(), "chown postfix {} failed", data.display());
        let recipients = write(&root, "vmailbox", &format!("{RECIPIENT} OK\n"));
        let (smtp, submission, smtps) = (free_addr(), free_addr(), free_addr());
        let log = root.join("postfix.log");
        let r = root.display();
        let main_cf = format!(
            r#"# slawatch test peer; see tests/it/peers/postfix.rs
compatibility_level = 3.6
queue_directory = {r}/queue
data_directory = {r}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {log}
maillog_file_prefixes = {r}
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
lmtp_dns_support_level = disabled
disable_dns_lookups = yes
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:local delivery is disabled
default_transport = error:outbound mail is disabled
relay_transport = error:relaying is disabled
relay_domains =
virtual_mailbox_domains = example.test
virtual_mailbox_maps = texthash:{recipients}
virtual_transport = lmtp:inet:{lmtp}
smtpd_relay_restrictions = permit_sasl_authenticated reject_unauth_destination
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_security_level = may
append_dot_mydomain = no
biff = no
"#,
            log = log.display(),
            recipients = recipients.display(),
            cert = cert.display(),
            key = key.display(),
        );
        write(&etc, "main.cf", &main_cf);
        let sasl = format!(
            "  -o smtpd_sasl_auth_enable=yes\n  -o smtpd_sasl_type=dovecot\n  \
             -o smtpd_sasl_path={}\n  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n",
            auth_socket.display()
        );
        let master_cf = format!(
            "# slawatch test peer; see tests/it/peers/postfix.rs\n\
{smtp} inet n - n - - smtpd\n\
{submission} inet n - n - - smtpd\n  -o syslog_name=postfix/submission\n  \
-o smtpd_tls_security_level=encrypt\n  -o smtpd_tls_auth_only=yes\n{sasl}\
{smtps} inet n - n - - smtpd\n  -o syslog_name=postfix/smtps\n  \
-o smtpd_tls_wrappermode=yes\n{sasl}\
pickup unix n - n 60 1 pickup\n\
cleanup unix n - n - 0 cleanup\n\
qmgr unix n - n 300 1 qmgr\n\
tlsmgr unix - - n 1000? 1 tlsmgr\n\
rewrite unix - - n - - trivial-rewrite\n\
bounce unix - - n - 0 bounce\n\
defer unix - - n - 0 bounce\n\
trace unix - - n - 0 bounce\n\
verify unix - - n - 1 verify\n\
flush unix n - n 1000? 0 flush\n\
proxymap unix - - n - - proxymap\n\
proxywrite unix - - n - 1 proxymap\n\
smtp unix - - n - - smtp\n\
relay unix - - n - - smtp\n\
showq unix n - n - - showq\n\
error unix - - n - - error\n\
retry unix - - n - - error\n\
discard unix - - n - - discard\n\
local unix - n n - - local\n\
virtual unix - n n - - virtual\n\
lmtp unix - - n - - lmtp\n\
anvil unix - - n - 1 anvil\n\
scache unix - - n - 1 scache\n\
postlog unix-dgram n - n - 1 postlogd\n"
        );
        write(&etc, "master.cf", &master_cf);

        let out = root.join("postfix.out");
        let mut cmd = Command::new("postfix");
        cmd.arg("-c").arg(&etc).arg("start-fg");
        let daemon = Daemon::spawn("postfix (is postfix installed?)", cmd, &out);
        let mut postfix = Postfix {
            dir,
            smtp,
            submission,
            smtps,
            ca,
            log,
            master_pid: 0,
            daemon,
        };
        for addr in [smtp, submission, smtps] {
            wait_listening(addr, "postfix", Some(&postfix.out()));
        }
        postfix.master_pid = postfix.read_master_pid();
        postfix
    }

    /// Postfix's log and the output of `postfix start-fg`, for assertion messages.
    pub(crate) fn log_text(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!("{}\n{}", read(&self.out()), read(&self.log))
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("postfix.out")
    }

    fn read_master_pid(&self) -> u32 {
        let file = self.dir.path().join("queue/pid/master.pid");
        let start = Instant::now();
        loop {
            if let Some(pid) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|s| s.trim().parse().ok())
            {
                return pid;
            }
            assert!(
                start.elapsed() < super::START_TIMEOUT,
                "no {}\n{}",
                file.display(),
                self.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The master's process group (it is its own session leader), while it runs.
    fn master_group(&self) -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.master_pid)).ok()?;
        // "pid (comm) state ppid pgrp ...": the name may hold spaces, so split after ')'.
        let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
        let (_state, _ppid) = (fields.next()?, fields.next()?);
        fields.next()?.parse().ok()
    }

    fn signal(&self, sig: &str) {
        let Some(group) = self.master_group() else {
            panic!("the postfix master is not running\n{}", self.log_text());
        };
        let status = Command::new("kill")
            .args(["-s", sig, "--", &format!("-{group}")])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{sig} of postfix failed");
    }

    /// Freezes every Postfix process (SIGSTOP): connections are accepted by the
    /// kernel, nothing answers.
    pub(crate) fn freeze(&self) {
        self.signal("STOP");
    }

    /// Resumes a frozen Postfix (SIGCONT).
    pub(crate) fn thaw(&self) {
        self.signal("CONT");
    }

    /// Kills every Postfix process (SIGKILL) and waits until its ports refuse
    /// connections.
    pub(crate) fn kill(&mut self) {
        self.kill_quietly();
        for addr in [self.smtp, self.submission, self.smtps] {
            wait_closed(addr);
        }
    }

    fn kill_quietly(&mut self) {
        if let Some(group) = self.master_group()
            // A killed master may linger as a zombie until its parent reaps it.
            && proc_state(self.master_pid) != Some('Z')
        {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{group}")])
                .status();
        }
        self.daemon.kill();
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        self.kill_quietly();
    }
}
