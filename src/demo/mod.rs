//! `slawatch demo`: a small provider inside this process, on loopback only, failing
//! the way two real incidents did (compressed in time), watched by the real daemon,
//! and the breach report and claim letter it yields.
//!
//! - `http.rs`, `imap.rs`, `smtp.rs`: the provider's fake servers, each switched
//!   between behaviours (`Mode`) by a `watch` channel, on cue from the scenario;
//! - `scenario.rs`: the pace, the story, the configuration written to
//!   `DIR/probes.toml`, `DIR/scenario.json` (what was injected, when) and DIR's
//!   preparation (a rerun removes only what the previous demo wrote);
//! - `ui.rs`: progress on stderr.
//!
//! The daemon is [`crate::daemon::run_with`], the code `slawatch run` uses, with the
//! live probes wrapped only to show each check on the way to the store.

mod http;
mod imap;
mod scenario;
mod smtp;
mod ui;

pub(crate) use scenario::DirError;

use crate::config::Config;
use crate::model::Check;
use crate::report::{self, Format, Lang};
use crate::scheduler::{BoxFuture, Runner};
use scenario::{Addrs, Done, Pace, Service};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

/// How a fake server behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Answers as it should.
    Up,
    /// Not listening: connections are refused.
    Refuse,
    /// Accepts connections and never answers.
    Hang,
    /// IMAP only: answers, but every LOGIN gets `NO`.
    RejectLogin,
}

impl Mode {
    /// The name in `scenario.json`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Up => "up",
            Mode::Refuse => "refuse",
            Mode::Hang => "hang",
            Mode::RejectLogin => "reject_login",
        }
    }
}

/// The longest line a fake server reads.
const MAX_LINE: u64 = 8 * 1024;

/// The longest a hanging connection is held when the mode does not change.
const HANG_LIMIT: Duration = Duration::from_secs(60);

/// Reads one line (at most [`MAX_LINE`] bytes); `None` at the end or on an error.
pub(crate) async fn read_line<R: AsyncRead + Unpin>(r: &mut BufReader<R>) -> Option<String> {
    let mut buf = Vec::new();
    match r.take(MAX_LINE).read_until(b'\n', &mut buf).await {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
    }
}

/// Holds a connection without a byte until the server stops hanging (or for
/// [`HANG_LIMIT`]), then drops it.
pub(crate) async fn hang(stream: TcpStream, mut modes: watch::Receiver<Mode>) {
    let _ = tokio::time::timeout(HANG_LIMIT, modes.wait_for(|m| *m != Mode::Hang)).await;
    drop(stream);
}

/// Accepts connections on `addr` and hands each to `handle` with the mode it came
/// in; in [`Mode::Refuse`] the listener is closed (the kernel refuses connections)
/// and bound again, on the same port, when the mode changes.
async fn serve<F, Fut>(
    listener: TcpListener,
    mut modes: watch::Receiver<Mode>,
    stop: CancellationToken,
    handle: F,
) -> std::io::Result<()>
where
    F: Fn(TcpStream, Mode, watch::Receiver<Mode>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let mut listener = Some(listener);
    loop {
        let mode = *modes.borrow_and_update();
        if mode == Mode::Refuse {
            listener = None;
            tokio::select! {
                r = modes.changed() => if r.is_err() { return Ok(()) },
                () = stop.cancelled() => return Ok(()),
            }
            continue;
        }
        let l = match listener.take() {
            Some(l) => l,
            None => TcpListener::bind(addr).await?,
        };
        tokio::select! {
            accepted = l.accept() => {
                if let Ok((stream, _)) = accepted {
                    tokio::spawn(handle(stream, mode, modes.clone()));
                }
            }
            r = modes.changed() => if r.is_err() { return Ok(()) },
            () = stop.cancelled() => return Ok(()),
        }
        listener = Some(l);
    }
}

/// The live probes, each check also sent to the progress display.
struct Shown {
    inner: Arc<dyn Runner>,
    checks: mpsc::UnboundedSender<Check>,
}

impl Runner for Shown {
    fn check(&self, probe: Arc<crate::config::Probe>) -> BoxFuture<'static, Check> {
        let check = self.inner.check(probe);
        let tx = self.checks.clone();
        Box::pin(async move {
            let c = check.await;
            let _ = tx.send(c.clone());
            c
        })
    }

    fn online(&self) -> BoxFuture<'static, bool> {
        self.inner.online()
    }
}

/// What the user asked for.
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// Where everything goes.
    pub dir: PathBuf,
    /// The short story.
    pub fast: bool,
    /// The letter's and reports' language.
    pub lang: Lang,
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DemoError {
    /// DIR is not the demo's (exit status 2).
    #[error(transparent)]
    Dir(#[from] DirError),
    /// A file, a socket or the daemon failed.
    #[error("{0}")]
    Failed(String),
}

/// How the demo ended.
#[derive(Debug)]
pub(crate) struct Outcome {
    /// Ctrl-C stopped it before the end of the story (no report written).
    pub interrupted: bool,
}

fn failed(what: &str) -> impl Fn(std::io::Error) -> DemoError + '_ {
    move |e| DemoError::Failed(format!("{what}: {e}"))
}

/// Writes `name` in `dir` and notes it among the demo's files.
fn write(dir: &Path, name: &str, content: &str) -> Result<(), DemoError> {
    std::fs::write(dir.join(name), content).map_err(failed(&dir.join(name).display().to_string()))
}

/// Runs the demo in `opts.dir`, printing progress on stderr and the outcome on
/// stdout.
///
/// # Errors
/// DIR holds another database ([`DemoError::Dir`]), or a file, a socket, the daemon
/// or the report failed.
pub(crate) async fn run(opts: &Options) -> Result<Outcome, DemoError> {
    let pace = if opts.fast { Pace::FAST } else { Pace::NORMAL };
    let dir = &opts.dir;
    let shown_dir = std::path::absolute(dir).unwrap_or_else(|_| dir.clone());
    println!(
        "slawatch demo: writing everything under {}",
        shown_dir.display()
    );
    scenario::prepare(dir)?;
    // Installed now, before anything is written: from here Ctrl-C stops the demo
    // cleanly instead of killing it between two writes.
    let mut ctrl_c = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .map_err(failed("the Ctrl-C handler"))?;
    let mut files = scenario::own_files();

    // The provider: ephemeral ports on loopback only.
    let bind = |what: &'static str| async move {
        TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .map_err(failed(what))
    };
    let (site_l, imap_l, smtp_l) = (
        bind("site").await?,
        bind("imap").await?,
        bind("smtp").await?,
    );
    let local = |l: &TcpListener| l.local_addr().map_err(failed("socket"));
    let addrs = Addrs {
        site: local(&site_l)?,
        imap: local(&imap_l)?,
        smtp: local(&smtp_l)?,
    };
    let stop_servers = CancellationToken::new();
    let (site_tx, site_rx) = watch::channel(Mode::Up);
    let (imap_tx, imap_rx) = watch::channel(Mode::Up);
    let (_smtp_tx, smtp_rx) = watch::channel(Mode::Up);
    let password = format!("demo-{}-{}", std::process::id(), addrs.imap.port());
    tokio::spawn(serve(site_l, site_rx, stop_servers.clone(), http::handle));
    let (user, pass) = (scenario::USER.to_owned(), password.clone());
    tokio::spawn(serve(
        imap_l,
        imap_rx,
        stop_servers.clone(),
        move |s, m, r| imap::handle(s, m, r, user.clone(), pass.clone()),
    ));
    tokio::spawn(serve(smtp_l, smtp_rx, stop_servers.clone(), smtp::handle));

    // The files the daemon reads.
    let now = crate::daemon::now();
    let today = jiff::Timestamp::from_millisecond(now.0)
        .map_err(|e| DemoError::Failed(e.to_string()))?
        .to_zoned_datetime(
            jiff::tz::TimeZone::get("Europe/Rome").unwrap_or(jiff::tz::TimeZone::UTC),
        )
        .date();
    write(
        dir,
        scenario::SCENARIO,
        &scenario::json(&pace, &[], None, &files),
    )?;
    write(dir, scenario::PASSWORD, &format!("{password}\n"))?;
    write(
        dir,
        scenario::CONFIG,
        &scenario::config(&pace, &addrs, today),
    )?;
    let config_path = dir.join(scenario::CONFIG);
    let config = crate::config::load(&config_path)
        .map_err(|e| DemoError::Failed(format!("the demo's own configuration: {e}")))?;
    let probes: Vec<(String, u32, u32)> = config
        .probes
        .iter()
        .map(|p| {
            (
                p.name.clone(),
                p.schedule.confirm_down,
                p.schedule.confirm_up,
            )
        })
        .collect();
    eprintln!(
        "Watching a demo provider on loopback: {} (site), {} (IMAP), {} (SMTP); a check every {} ms.",
        addrs.site,
        addrs.imap,
        addrs.smtp,
        pace.interval.as_millis()
    );

    // The daemon, as `slawatch run` runs it.
    let (checks_tx, mut checks) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let daemon = {
        let (stop, path) = (stop.clone(), config_path.clone());
        tokio::spawn(async move {
            let factory = move |c: Arc<Config>| -> Arc<dyn Runner> {
                Arc::new(Shown {
                    inner: crate::scheduler::live::live_runner(c),
                    checks: checks_tx.clone(),
                })
            };
            crate::daemon::run_with(&path, &factory, stop).await
        })
    };

    let mut ui = ui::Ui::new(&probes, pace.story());
    let start = tokio::time::Instant::now();
    let offsets = scenario::offsets(&pace);
    let mut done: Vec<Done> = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut interrupted = false;
    let mut daemon_ended = None;
    let mut daemon = daemon;
    ui.phase("every service up");
    loop {
        let next = done.len();
        let due = offsets.get(next).map(|o| start + *o);
        let settled =
            due.is_none() && (ui.all_up() || start.elapsed() > pace.story() + pace.settle);
        if settled {
            break;
        }
        tokio::select! {
            () = async { tokio::time::sleep_until(due.unwrap_or(start)).await }, if due.is_some() => {
                let step = scenario::STORY[next];
                let tx = match step.service { Service::Site => &site_tx, Service::Mailbox => &imap_tx };
                tx.send_replace(step.mode);
                done.push(Done { step, at: crate::daemon::now() });
                ui.phase(step.label);
            }
            Some(c) = checks.recv() => ui.check(&c),
            _ = tick.tick() => ui.redraw(),
            _ = ctrl_c.recv() => {
                interrupted = true;
                ui.line("interrupted: stopping the daemon (it finishes its checks and commits them)");
                break;
            }
            r = &mut daemon => {
                daemon_ended = Some(r);
                break;
            }
        }
    }
    let finished = crate::daemon::now();
    stop.cancel();
    let result = match daemon_ended {
        Some(r) => r,
        None => daemon.await,
    };
    while let Ok(c) = checks.try_recv() {
        ui.check(&c);
    }
    ui.finish();
    stop_servers.cancel();
    match result {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(DemoError::Failed(format!("the daemon stopped: {e}"))),
        Err(e) => return Err(DemoError::Failed(format!("the daemon failed: {e}"))),
    }
    write(
        dir,
        scenario::SCENARIO,
        &scenario::json(&pace, &done, Some(finished), &files),
    )?;
    if interrupted {
        println!(
            "Interrupted. The evidence so far is in {} and consistent; check it with:\n  \
             slawatch verify --config {}",
            shown_dir.display(),
            shown_dir.join(scenario::CONFIG).display()
        );
        return Ok(Outcome { interrupted });
    }

    // The report of the current period, and the letter.
    let written = reports(&config, dir, opts.lang, &shown_dir)?;
    files.extend(written);
    write(
        dir,
        scenario::SCENARIO,
        &scenario::json(&pace, &done, Some(finished), &files),
    )?;
    Ok(Outcome { interrupted })
}

/// Writes the current period's report (HTML, JSON) and the claim letter with its
/// attached report in `DIR/reports`, prints where they are and the summary; returns
/// the files written, relative to DIR.
fn reports(
    config: &Config,
    dir: &Path,
    lang: Lang,
    shown_dir: &Path,
) -> Result<Vec<String>, DemoError> {
    let generated = crate::daemon::now();
    let tz = config
        .plans
        .first()
        .map(|p| p.window.timezone.clone())
        .unwrap_or(jiff::tz::TimeZone::UTC);
    let period = jiff::Timestamp::from_millisecond(generated.0)
        .map_err(|e| DemoError::Failed(e.to_string()))?
        .to_zoned_datetime(tz.clone())
        .strftime("%Y-%m")
        .to_string();
    let reader = crate::store::Reader::open(&config.daemon.database)
        .map_err(|e| DemoError::Failed(e.to_string()))?;
    let report = report::build(config, &reader, &period, None, generated)
        .map_err(|e| DemoError::Failed(format!("the report: {e}")))?;
    let out = &config.daemon.reports_dir;
    let mut written = Vec::new();
    let mut put = |name: &str, content: &str| -> Result<PathBuf, DemoError> {
        let path = report::auto::write_atomically(out, name, content).map_err(DemoError::Failed)?;
        written.push(format!("{}/{name}", scenario::REPORTS));
        Ok(path)
    };
    let stem = report::file_stem(&report.period, None);
    let mut lines = Vec::new();
    for f in [Format::Html, Format::Json] {
        for (name, content) in report::render(&report, f, &stem, lang) {
            let path = put(&name, &content)?;
            lines.push(format!(
                "  report ({}): {}",
                f.as_str(),
                shown(shown_dir, dir, &path)
            ));
        }
    }
    for c in &report.contracts {
        if !report::letter::claimable(c) {
            lines.push(format!("  {}", report::letter::nothing_to_claim(c, lang)));
            continue;
        }
        let mut attached = String::new();
        for (name, content) in report::letter_attachment(&report, c, lang) {
            put(&name, &content)?;
            attached = name;
        }
        let date = jiff::Timestamp::from_millisecond(generated.0)
            .map_err(|e| DemoError::Failed(e.to_string()))?
            .to_zoned_datetime(c.plan.window.timezone.clone())
            .date();
        if let Some(text) = report::letter::render(c, lang, &attached, &report.vantage, date) {
            let name = report::letter::file_name(&c.contract.id, &report.period, lang);
            let path = put(&name, &text)?;
            lines.push(format!("  claim letter: {}", shown(shown_dir, dir, &path)));
        }
    }
    println!("\nWritten:");
    for l in lines {
        println!("{l}");
    }
    print!("{}", report::summary::render(&report, lang));
    let breached = report.breached() > 0;
    println!(
        "\n{} {}",
        if breached {
            "The SLA was breached, by the minutes measured so far."
        } else {
            "No breach in the minutes measured so far."
        },
        if report.provisional {
            format!(
                "The report is provisional: {} is not over, and its figures can still change.",
                report.period
            )
        } else {
            String::new()
        }
    );
    let config_path = shown_dir.join(scenario::CONFIG);
    println!(
        "\nExplore the evidence ({}):\n  \
         slawatch status --config {c}\n  \
         slawatch outages --config {c}\n  \
         slawatch report --config {c} --period {period} --format all --letter\n  \
         slawatch verify --config {c}",
        shown_dir.display(),
        c = config_path.display(),
    );
    Ok(written)
}

/// `path` under the directory the user named, as the user can find it.
fn shown(shown_dir: &Path, dir: &Path, path: &Path) -> String {
    path.strip_prefix(dir)
        .map_or_else(|_| path.to_path_buf(), |rel| shown_dir.join(rel))
        .display()
        .to_string()
}
