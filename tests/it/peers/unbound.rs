//! unbound as a test peer: authoritative for `example.test` on a loopback high port,
//! refusing every other name, so it never recurses to the Internet.
//!
//! `example.test` is an `auth-zone` loaded from a zone file in the temp dir, and a
//! `transparent` local zone; `"."` is a `refuse` local zone (REAL-SERVERS.md). As a
//! second fence, `"."` is forwarded to [`Unbound::trap`], a loopback UDP socket and
//! TCP listener the test owns: if unbound ever tried to recurse, the query would land
//! there (and nowhere else), and [`Unbound::trap_received`] would say so.

use super::{Daemon, START_TIMEOUT, free_port, wait_listening, write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use tempfile::TempDir;

/// The `example.test` zone every instance serves.
pub(crate) const ZONE: &str = "\
$ORIGIN example.test.
$TTL 300
@       IN SOA  ns1.example.test. hostmaster.example.test. 2024040301 3600 600 86400 300
@       IN NS   ns1.example.test.
ns1     IN A    192.0.2.53
shop    IN A    192.0.2.10
loopback IN A   127.0.0.1
shop    IN AAAA 2001:db8::10
@       IN MX   10 mail.example.test.
mail    IN A    192.0.2.25
@       IN TXT  \"v=spf1 ip4:192.0.2.25 -all\"
long    IN TXT  \"first part \" \"second part\"
";

/// A running unbound and its temp dir.
#[derive(Debug)]
pub(crate) struct Unbound {
    /// UDP and TCP on this address.
    pub(crate) addr: SocketAddr,
    /// The log file.
    pub(crate) log: PathBuf,
    /// The process group.
    pub(crate) daemon: Daemon,
    trap_udp: UdpSocket,
    trap_tcp: TcpListener,
    _dir: TempDir,
}

impl Unbound {
    /// Starts unbound on a fresh loopback port and waits until it answers on TCP.
    ///
    /// # Panics
    /// When unbound is not installed or does not start (with its log).
    pub(crate) fn start() -> Unbound {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // The trap: a UDP socket and a TCP listener on one port, both ours.
        let (trap_udp, trap_tcp) = trap_pair();
        trap_udp.set_nonblocking(true).unwrap();
        trap_tcp.set_nonblocking(true).unwrap();
        let trap = trap_udp.local_addr().unwrap();
        write(d, "example.test.zone", ZONE);
        let log = d.join("unbound.log");
        let conf = format!(
            "server:
    interface: 127.0.0.1@{port}
    port: {port}
    do-daemonize: no
    chroot: \"\"
    username: \"\"
    directory: \"{dir}\"
    pidfile: \"{dir}/unbound.pid\"
    logfile: \"{log}\"
    use-syslog: no
    verbosity: 1
    num-threads: 1
    so-reuseport: no
    do-ip4: yes
    do-ip6: no
    do-udp: yes
    do-tcp: yes
    access-control: 127.0.0.0/8 allow
    module-config: \"iterator\"
    do-not-query-localhost: no
    local-zone: \".\" refuse
    local-zone: \"example.test.\" transparent

remote-control:
    control-enable: no

auth-zone:
    name: \"example.test.\"
    zonefile: \"{dir}/example.test.zone\"
    for-downstream: yes
    for-upstream: yes
    fallback-enabled: no

forward-zone:
    name: \".\"
    forward-addr: {trap_ip}@{trap_port}
",
            dir = d.display(),
            log = log.display(),
            trap_ip = trap.ip(),
            trap_port = trap.port(),
        );
        let conf_path = write(d, "unbound.conf", &conf);
        let check = Command::new("unbound-checkconf")
            .arg(&conf_path)
            .output()
            .unwrap_or_else(|e| panic!("unbound-checkconf is not runnable (install unbound): {e}"));
        assert!(
            check.status.success(),
            "unbound-checkconf rejected the config:\n{}{}",
            String::from_utf8_lossy(&check.stdout),
            String::from_utf8_lossy(&check.stderr)
        );
        let mut cmd = Command::new("unbound");
        cmd.arg("-d").arg("-c").arg(&conf_path);
        let daemon = Daemon::spawn("unbound", cmd, &d.join("stdout.log"));
        wait_listening(addr, "unbound", Some(&log));
        Unbound {
            addr,
            log,
            daemon,
            trap_udp,
            trap_tcp,
            _dir: dir,
        }
    }

    /// Whether anything reached the trap that `"."` is forwarded to (a query unbound
    /// should never have sent).
    pub(crate) fn trap_received(&self) -> bool {
        let mut buf = [0u8; 512];
        self.trap_udp.recv_from(&mut buf).is_ok() || self.trap_tcp.accept().is_ok()
    }

    /// unbound's log so far.
    pub(crate) fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// A UDP socket and a TCP listener on the same loopback port.
fn trap_pair() -> (UdpSocket, TcpListener) {
    let start = std::time::Instant::now();
    loop {
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if let Ok(udp) = UdpSocket::bind(("127.0.0.1", port)) {
            return (udp, tcp);
        }
        assert!(start.elapsed() < START_TIMEOUT, "no free UDP+TCP port pair");
        std::thread::sleep(Duration::from_millis(5));
    }
}
