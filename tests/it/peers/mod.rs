//! Real servers as test peers: each test starts its own instance on loopback high
//! ports, from a config written into its own temp dir, and the instance dies with
//! the test (its [`Daemon`] is dropped).
//!
//! A daemon runs in the foreground in its own process group, so one signal reaches
//! every process it forks: [`Daemon::kill`] for a sharp "refused" edge,
//! [`Daemon::freeze`] (SIGSTOP) for a server that accepts connections (the kernel
//! completes handshakes from the backlog) and then never answers.
//! `../shared/REAL-SERVERS.md` lists the traps these harnesses avoid.

pub(crate) mod nginx;
pub(crate) mod unbound;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) mod dovecot;
pub(crate) mod postfix;
pub(crate) mod postgres;
pub(crate) mod scripted;

/// How long a server may take to start listening.
pub(crate) const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A free TCP port on 127.0.0.1, chosen by the kernel. Another process could take it
/// before the server binds it; ports are ephemeral-range and tests few, so in
/// practice it does not happen, and a clash fails loudly at start-up.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A loopback address with a fresh port.
pub(crate) fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// Waits until something accepts TCP connections on `addr`.
///
/// # Panics
/// After [`START_TIMEOUT`], with `what` and `log` (a file the server writes) in the message.
pub(crate) fn wait_listening(addr: SocketAddr, what: &str, log: Option<&Path>) {
    let start = Instant::now();
    while start.elapsed() < START_TIMEOUT {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = log
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    panic!("{what} did not listen on {addr} within {START_TIMEOUT:?}\n{log}");
}

/// Waits until nothing accepts TCP connections on `addr` any more.
pub(crate) fn wait_closed(addr: SocketAddr) {
    let start = Instant::now();
    while start.elapsed() < START_TIMEOUT {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("{addr} still accepts connections after {START_TIMEOUT:?}");
}

/// A server process running in the foreground in its own process group.
#[derive(Debug)]
pub(crate) struct Daemon {
    what: String,
    child: Option<Child>,
}

impl Daemon {
    /// Starts `cmd` in a new process group, its stdout and stderr appended to `log`.
    pub(crate) fn spawn(what: &str, mut cmd: Command, log: &Path) -> Daemon {
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let err = out.try_clone().unwrap();
        cmd.stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({cmd:?}): {e}"));
        Daemon {
            what: what.to_owned(),
            child: Some(child),
        }
    }

    /// The process group (the leader's pid).
    pub(crate) fn pgid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn signal(&self, sig: &str) {
        let Some(child) = &self.child else { return };
        let status = Command::new("kill")
            .args(["-s", sig, "--", &format!("-{}", child.id())])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{sig} of {} failed", self.what);
    }

    /// Freezes every process of the server (SIGSTOP): connections are still accepted
    /// by the kernel, nothing answers.
    pub(crate) fn freeze(&self) {
        self.signal("STOP");
    }

    /// Resumes a frozen server (SIGCONT).
    pub(crate) fn thaw(&self) {
        self.signal("CONT");
    }

    /// Kills every process of the server (SIGKILL) and reaps the leader: its ports
    /// refuse connections from now on.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-s", "KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }

    /// Whether the leader is still running.
    pub(crate) fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A frozen group must be continued for SIGKILL to be acted on promptly by
        // children in uninterruptible states; SIGKILL alone is enough for stopped ones.
        self.kill();
    }
}

/// Writes `text` to `dir/name` and returns the path.
pub(crate) fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The state letter of `/proc/PID/stat` (`S` sleeping, `T` stopped, `Z` zombie).
pub(crate) fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The name is in parentheses and may contain spaces: the state follows the last ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

#[test]
fn daemons_freeze_thaw_and_die_with_their_group() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = write(dir.path(), "run.sh", "sleep 300 & exec sleep 300\n");
    let mut cmd = Command::new("sh");
    cmd.arg(&script);
    let mut d = Daemon::spawn("sleeper", cmd, &log);
    let pid = d.pgid();
    // Give the shell time to exec.
    std::thread::sleep(Duration::from_millis(200));
    assert!(d.is_running());
    d.freeze();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(proc_state(pid), Some('T'));
    d.thaw();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(proc_state(pid), Some('S'));
    d.kill();
    assert!(!d.is_running());
    assert_eq!(proc_state(pid), None);
}

#[test]
fn listening_and_closed_ports_are_seen() {
    let addr = free_addr();
    let listener = TcpListener::bind(addr).unwrap();
    wait_listening(addr, "test listener", None);
    drop(listener);
    wait_closed(addr);
}
