//! The shipped unit passes `systemd-analyze verify` and keeps its hardening.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The unit with its binary path pointed at the binary under test (verify checks
/// that ExecStart is executable).
fn unit_for_test(dir: &Path) -> std::path::PathBuf {
    let unit = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("systemd/slawatch.service"),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("slawatch");
    let path = dir.join("slawatch.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/slawatch", bin.to_str().unwrap()),
    )
    .unwrap();
    path
}

fn analyze(args: &[&str], unit: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze is installed by scripts/test.sh (package systemd)")
}

#[test]
fn the_unit_verifies_without_a_single_warning() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test(dir.path());
    let out = analyze(&["verify"], &unit);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    // verify exits 0 on unknown keys; a warning is still a defect.
    assert_eq!(text.trim(), "", "systemd-analyze verify printed warnings");
}

#[test]
fn the_unit_is_hardened() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_test(dir.path());
    let text = std::fs::read_to_string(&unit).unwrap();
    for line in [
        "Type=notify",
        "WatchdogSec=",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "StateDirectory=slawatch",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=\n",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "MemoryDenyWriteExecute=yes",
    ] {
        assert!(text.contains(line), "the unit lacks {line:?}");
    }
    let out = analyze(&["security", "--offline=yes"], &unit);
    let report = String::from_utf8_lossy(&out.stdout);
    let level: String = report
        .lines()
        .find_map(|l| {
            l.split("Overall exposure level for slawatch.service: ")
                .nth(1)
        })
        .expect("an overall exposure level")
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    // Compare tenths as integers: the scale is 0.0 (safe) to 10.0 (exposed).
    let tenths: u32 = level.replace('.', "").parse().unwrap();
    assert!(tenths <= 20, "exposure {level} is above 2.0:\n{report}");
}

/// The shipped unit's values for `key` in its `[Service]` section, in order.
fn service_values(key: &str) -> Vec<String> {
    let unit = std::fs::read_to_string(crate::util::repo_file("systemd/slawatch.service")).unwrap();
    let mut section = "";
    let mut values = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line;
        } else if section == "[Service]"
            && let Some(v) = line.strip_prefix(key).and_then(|l| l.strip_prefix('='))
        {
            values.push(v.to_owned());
        }
    }
    values
}

/// The one value of `key` in the unit's `[Service]` section.
fn service_value(key: &str) -> String {
    let mut v = service_values(key);
    assert_eq!(v.len(), 1, "one {key}= in the unit's [Service]: {v:?}");
    v.remove(0)
}

/// The unit's `ExecStart=` as words: the binary first. No prefix (`-`, `+`, `!`...),
/// specifier (`%`) or quoting, so splitting on blanks is how systemd reads it.
fn exec_start() -> Vec<String> {
    let exec = service_value("ExecStart");
    assert!(
        !exec.contains(['%', '"', '\'', '\\', '$']) && exec.starts_with('/'),
        "ExecStart= needs a real parser now: {exec}"
    );
    exec.split_whitespace().map(str::to_owned).collect()
}

/// A uid in systemd's range for `DynamicUser=` (61184-65519), owning nothing here.
const DYNAMIC_UID: u32 = 61184;

/// The daemon as the unit starts it, on a machine without systemd as PID 1: the
/// unit's `ExecStart=` command line (binary replaced by the one under test) with its
/// `--config` at the installed path's file name inside a configuration folder
/// mounted read-only (`ProtectSystem=strict`), the environment systemd gives
/// (`Environment=`, `STATE_DIRECTORY`, `CONFIGURATION_DIRECTORY`,
/// `CREDENTIALS_DIRECTORY`, `NOTIFY_SOCKET`, `WATCHDOG_USEC`), `UMask=`, a dynamic
/// non-root user (`DynamicUser=`, `NoNewPrivileges=`) owning the state directory
/// that systemd made with `StateDirectoryMode=`. It all runs in a network namespace
/// of its own with only loopback (`unshare --net`): the shipped probes.toml probes
/// `.test` names and TEST-NET addresses, and not one packet may leave the machine.
/// The copy of probes.toml differs from the shipped one in a single line, a
/// `metrics_listen` on that namespace's loopback, so `/healthz` can be asked.
fn start_like_the_unit() -> Started {
    let exec = exec_start();
    assert_eq!(exec[0], "/usr/local/bin/slawatch", "{exec:?}");
    assert_eq!(&exec[1..3], ["run", "--config"], "{exec:?}");
    let unit_config = Path::new(&exec[3]).to_owned();
    assert_eq!(exec.len(), 4, "{exec:?}");
    assert_eq!(service_value("Type"), "notify");
    assert_eq!(service_value("NotifyAccess"), "main");
    assert_eq!(service_value("DynamicUser"), "yes");
    assert_eq!(service_value("NoNewPrivileges"), "yes");
    // systemd's paths for a system service: /var/lib/NAME, /etc/NAME.
    let state_name = service_value("StateDirectory");
    let config_name = service_value("ConfigurationDirectory");
    assert_eq!(
        unit_config.parent().unwrap(),
        Path::new("/etc").join(&config_name),
        "ExecStart= reads its configuration from ConfigurationDirectory="
    );
    let state_mode = u32::from_str_radix(&service_value("StateDirectoryMode"), 8).unwrap();
    let umask = service_value("UMask");
    let watchdog = service_value("WatchdogSec");
    let watchdog_usec: u64 =
        watchdog.strip_suffix('s').unwrap().parse::<u64>().unwrap() * 1_000_000;

    let dir = tempfile::tempdir().unwrap();
    // The dynamic user walks into it, as into /var/lib and /etc.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
    let etc = dir.path().join("etc").join(&config_name);
    let state = dir.path().join("var/lib").join(&state_name);
    let credentials = dir.path().join("credentials");
    fs::create_dir_all(&etc).unwrap();
    fs::create_dir_all(&state).unwrap();
    fs::create_dir_all(&credentials).unwrap();
    fs::set_permissions(&state, fs::Permissions::from_mode(state_mode)).unwrap();
    std::os::unix::fs::chown(&state, Some(DYNAMIC_UID), Some(DYNAMIC_UID)).unwrap();
    let config = etc.join(unit_config.file_name().unwrap());
    fs::write(&config, shipped_config_with_healthz()).unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();

    let notify_path = dir.path().join("notify");
    let notify = UnixDatagram::bind(&notify_path).unwrap();
    fs::set_permissions(&notify_path, fs::Permissions::from_mode(0o777)).unwrap();
    notify
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();

    let log = dir.path().join("daemon.log");
    let log_file = fs::File::create(&log).unwrap();
    let uid = DYNAMIC_UID.to_string();
    let mut cmd = Command::new("unshare");
    cmd.args(["--net", "--mount", "--", "sh", "-c"])
        .arg(
            "ip link set lo up && mount --bind \"$1\" \"$1\" && \
             mount -o remount,bind,ro \"$1\" && umask \"$2\" && shift 2 && exec \"$@\"",
        )
        .arg("sh")
        .arg(&etc)
        .arg(&umask)
        .args([
            "setpriv",
            "--reuid",
            &uid,
            "--regid",
            &uid,
            "--clear-groups",
        ])
        .args(["--no-new-privs", "--"])
        .arg(crate::util::slawatch_bin())
        .args(&exec[1..3])
        .arg(&config)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("STATE_DIRECTORY", &state)
        .env("CONFIGURATION_DIRECTORY", &etc)
        .env("CREDENTIALS_DIRECTORY", &credentials)
        .env("NOTIFY_SOCKET", &notify_path)
        .env("WATCHDOG_USEC", watchdog_usec.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(log_file.try_clone().unwrap())
        .stderr(log_file);
    for env in service_values("Environment") {
        let (k, v) = env.split_once('=').unwrap();
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("unshare (util-linux) runs");
    Started {
        child,
        notify,
        log,
        state,
        etc,
        _dir: dir,
    }
}

/// `GET /healthz` from inside the network namespace of process `pid`: the whole
/// answer, status line first (empty when nothing answers).
fn healthz_in_netns_of(pid: u32) -> String {
    let (host, port) = HEALTHZ.split_once(':').unwrap();
    let out = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["--", "bash", "-c"])
        .arg(
            "exec 3<>\"/dev/tcp/$1/$2\" && \
             printf 'GET /healthz HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n' >&3 && cat <&3",
        )
        .args(["bash", host, port])
        .output()
        .expect("nsenter (util-linux) runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `/healthz` of process `pid` until it answers 200 (or 20 s pass): the last answer.
fn await_healthz_200(pid: u32) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = healthz_in_netns_of(pid);
        if answer.starts_with("HTTP/1.0 200 ") || answer.starts_with("HTTP/1.1 200 ") {
            return answer;
        }
        if Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The shipped probes.toml with one line added: `metrics_listen` at [`HEALTHZ`].
fn shipped_config_with_healthz() -> String {
    let shipped = fs::read_to_string(crate::util::repo_file("probes.toml")).unwrap();
    assert!(
        !shipped.contains("\nmetrics_listen"),
        "the test adds its own"
    );
    let copy = shipped.replacen(
        "\n[daemon]\n",
        &format!("\n[daemon]\nmetrics_listen = \"{HEALTHZ}\"\n"),
        1,
    );
    assert_ne!(copy, shipped, "probes.toml has a [daemon] table");
    copy
}

/// Where the copy's `/healthz` listens, inside the daemon's own network namespace.
const HEALTHZ: &str = "127.0.0.1:9187";

struct Started {
    child: std::process::Child,
    notify: UnixDatagram,
    log: std::path::PathBuf,
    state: std::path::PathBuf,
    etc: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Started {
    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Notification messages until one contains `want` (or `within` passes).
    fn await_notify(&mut self, want: &str, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = msg.lines().any(|l| l == want);
                seen.push(msg);
                if done {
                    return seen;
                }
            } else if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the daemon exited ({status}) before {want}:\n{}",
                    self.log()
                );
            }
        }
        panic!(
            "no {want} within {within:?} (got {seen:?}):\n{}",
            self.log()
        );
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An install that starts: the shipped unit's way of starting the shipped probes.toml
/// (see [`start_like_the_unit`]) signals READY, pings the watchdog, answers
/// `/healthz`, keeps its evidence in the state directory (database 0600 under the
/// unit's `UMask=`, owned by the dynamic user; the directory still 0700; nothing
/// under the read-only configuration folder) and stops on SIGTERM with exit 0,
/// saying STOPPING first.
#[test]
fn the_installed_unit_starts_the_shipped_config_and_stops_cleanly() {
    let mut d = start_like_the_unit();
    let ready = d.await_notify("READY=1", Duration::from_secs(30));
    let db = d.state.join("slawatch.db");
    assert!(
        db.exists(),
        "READY before the database exists ({ready:?}):\n{}",
        d.log()
    );
    d.await_notify("WATCHDOG=1", Duration::from_secs(10));

    let answer = await_healthz_200(d.child.id());
    assert!(
        answer.contains(" 200 "),
        "/healthz: {answer:?}\n{}",
        d.log()
    );

    let state_meta = fs::metadata(&d.state).unwrap();
    assert_eq!(state_meta.permissions().mode() & 0o777, 0o700);
    let db_meta = fs::metadata(&db).unwrap();
    assert_eq!(db_meta.uid(), DYNAMIC_UID, "written by the unit's user");
    assert_eq!(
        db_meta.permissions().mode() & 0o077,
        0,
        "UMask=0077: the evidence is the service's alone"
    );
    let in_etc: Vec<_> = fs::read_dir(&d.etc)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        in_etc,
        ["probes.toml"],
        "nothing written under /etc/slawatch"
    );

    Command::new("kill")
        .args(["-s", "TERM", &d.child.id().to_string()])
        .status()
        .unwrap();
    d.await_notify("STOPPING=1", Duration::from_secs(45));
    let status = d.child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{}", d.log());
    // The evidence is there and whole.
    drop(slawatch::store::Reader::open(&db).unwrap());
    let log = d.log();
    assert!(!log.contains("ERROR"), "{log}");
}

/// Is systemd the service manager here? (`sd_booted()`: /run/systemd/system exists.)
fn systemd_runs() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// The shipped unit installed and started by the real systemd, where there is one:
/// `systemctl start` returns once the daemon said READY, `/healthz` answers 200, the
/// database is in the unit's state directory, and `systemctl stop` ends it with
/// exit 0. A drop-in keeps it off the network (`PrivateNetwork=yes`: only loopback),
/// and away from a real install (its own name, state directory and config path).
/// Where systemd is not PID 1 (this CI machine: a process supervisor is), the
/// detection must agree with PID 1, `systemctl` must fail to start anything, and
/// the start the unit describes is run the other way ([`start_like_the_unit`]).
#[test]
fn the_installed_unit_starts_under_systemd_where_there_is_one() {
    let pid1 = fs::read_to_string("/proc/1/comm").unwrap();
    if !systemd_runs() {
        assert_ne!(
            pid1.trim(),
            "systemd",
            "PID 1 is systemd, yet no /run/systemd/system"
        );
        let out = Command::new("systemctl")
            .args(["start", "slawatch-it-never-installed.service"])
            .output()
            .expect("systemctl is installed by scripts/test.sh (package systemd)");
        assert!(
            !out.status.success(),
            "systemctl started a unit without systemd"
        );
        let mut d = start_like_the_unit();
        d.await_notify("READY=1", Duration::from_secs(30));
        Command::new("kill")
            .args(["-s", "TERM", &d.child.id().to_string()])
            .status()
            .unwrap();
        assert_eq!(d.child.wait().unwrap().code(), Some(0), "{}", d.log());
        return;
    }
    assert_eq!(pid1.trim(), "systemd");
    let real = RealUnit::install();
    let start = systemctl(&["start", &real.unit]);
    assert!(
        start.status.success(),
        "systemctl start: {}\n{}",
        text(&start),
        real.journal()
    );
    let shown = text(&systemctl(&[
        "show",
        &real.unit,
        "-p",
        "ActiveState",
        "-p",
        "MainPID",
    ]));
    assert!(
        shown.contains("ActiveState=active"),
        "{shown}\n{}",
        real.journal()
    );
    let pid: u32 = shown
        .lines()
        .find_map(|l| l.strip_prefix("MainPID="))
        .and_then(|p| p.trim().parse().ok())
        .expect("a MainPID");
    let answer = await_healthz_200(pid);
    assert!(
        answer.contains(" 200 "),
        "/healthz: {answer:?}\n{}",
        real.journal()
    );
    let db = Path::new("/var/lib").join(&real.name).join("slawatch.db");
    assert!(db.exists(), "no {}:\n{}", db.display(), real.journal());
    let stop = systemctl(&["stop", &real.unit]);
    assert!(stop.status.success(), "systemctl stop: {}", text(&stop));
    let shown = text(&systemctl(&[
        "show",
        &real.unit,
        "-p",
        "Result",
        "-p",
        "ExecMainStatus",
    ]));
    assert!(
        shown.contains("Result=success"),
        "{shown}\n{}",
        real.journal()
    );
    assert!(
        shown.contains("ExecMainStatus=0"),
        "{shown}\n{}",
        real.journal()
    );
}

fn systemctl(args: &[&str]) -> std::process::Output {
    Command::new("systemctl").args(args).output().unwrap()
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The shipped unit under a name of its own in /run/systemd/system, with a drop-in
/// that points it at the binary under test and a copy of the shipped probes.toml
/// (plus `metrics_listen`), gives it its own state directory, no configuration
/// directory to create, no network but loopback and no restart. Removed on drop.
struct RealUnit {
    name: String,
    unit: String,
    files: Vec<std::path::PathBuf>,
}

impl RealUnit {
    fn install() -> RealUnit {
        let name = format!("slawatch-it-{}", std::process::id());
        let unit = format!("{name}.service");
        let units = Path::new("/run/systemd/system");
        // Visible to the service: not under /tmp (PrivateTmp=) or /home (ProtectHome=),
        // and executable (/run may be noexec).
        let lib = Path::new("/var/lib").join(format!("{name}-test"));
        fs::create_dir_all(&lib).unwrap();
        fs::set_permissions(&lib, fs::Permissions::from_mode(0o755)).unwrap();
        let bin = lib.join("slawatch");
        fs::copy(crate::util::slawatch_bin(), &bin).unwrap();
        fs::set_permissions(&bin, fs::Permissions::from_mode(0o755)).unwrap();
        let config = lib.join("probes.toml");
        fs::write(&config, shipped_config_with_healthz()).unwrap();
        fs::set_permissions(&config, fs::Permissions::from_mode(0o644)).unwrap();
        let shipped =
            fs::read_to_string(crate::util::repo_file("systemd/slawatch.service")).unwrap();
        fs::write(units.join(&unit), shipped).unwrap();
        let dropins = units.join(format!("{unit}.d"));
        fs::create_dir_all(&dropins).unwrap();
        let mut args = exec_start();
        args[0] = bin.to_str().unwrap().to_owned();
        args[3] = config.to_str().unwrap().to_owned();
        fs::write(
            dropins.join("test.conf"),
            format!(
                "[Service]\nExecStart=\nExecStart={}\nStateDirectory=\nStateDirectory={name}\n\
                 ConfigurationDirectory=\nPrivateNetwork=yes\nRestart=no\n",
                args.join(" ")
            ),
        )
        .unwrap();
        let real = RealUnit {
            files: vec![units.join(&unit), dropins, lib],
            name,
            unit,
        };
        assert!(systemctl(&["daemon-reload"]).status.success());
        real
    }

    fn journal(&self) -> String {
        Command::new("journalctl")
            .args(["--no-pager", "-n", "50", "-u", &self.unit])
            .output()
            .map(|o| text(&o))
            .unwrap_or_default()
    }
}

impl Drop for RealUnit {
    fn drop(&mut self) {
        let _ = systemctl(&["stop", &self.unit]);
        let _ = systemctl(&["clean", "--what=state", &self.unit]);
        for f in &self.files {
            let _ = fs::remove_dir_all(f).or_else(|_| fs::remove_file(f));
        }
        let _ = systemctl(&["daemon-reload"]);
        let _ = systemctl(&["reset-failed", &self.unit]);
    }
}
