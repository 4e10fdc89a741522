//! The live runner: the real probes behind the scheduler, and the `[[control]]`
//! targets that tell a fault of this machine from the provider's outage.
//!
//! The scheduler calls a [`Runner`]; this is the one the daemon uses ([`live_runner`]).
//! It runs each check through [`probe::run`] and asks [`probe::control`] whether this
//! machine is on line and whether its resolver works, sharing each answer for
//! [`ONLINE_FRESH`] so a provider's outage failing hundreds of probes at once costs
//! one round of control checks, not hundreds.

use super::{BoxFuture, Runner};
use crate::config::{Config, ControlTarget, Probe, ProbeSpec};
use crate::model::{Check, ErrorClass, Status};
use crate::probe::{self, net};
use std::sync::Arc;
use std::time::Duration;

/// The host names the `[[control]]` targets name (IP literals left out): the names
/// that tell whether this machine's resolver works. Every `resolve` target, and the
/// hosts of `tcp` and `http` targets written as names.
fn resolver_names(controls: &[crate::config::Control]) -> Vec<(String, Duration)> {
    let is_name = |h: &str| net::bare_host(h).parse::<std::net::IpAddr>().is_err();
    controls
        .iter()
        .filter_map(|c| {
            let host = match &c.target {
                ControlTarget::Resolve(name) => name.clone(),
                ControlTarget::Tcp { host, .. } => host.clone(),
                ControlTarget::Http(url) => reqwest::Url::parse(url).ok()?.host_str()?.to_owned(),
            };
            is_name(&host).then_some((host, c.timeout))
        })
        .collect()
}

/// Whether this machine's resolver works: `Some(true)` when any of `names` resolves,
/// `Some(false)` when none does, `None` when there is no name to try (no way to
/// tell). They are tried together.
async fn resolver_works(names: Vec<(String, Duration)>) -> Option<bool> {
    if names.is_empty() {
        return None;
    }
    let targets = names
        .into_iter()
        .map(|(name, timeout)| (ControlTarget::Resolve(name), timeout))
        .collect();
    Some(any_answers(targets).await)
}

/// How long an answer to "is this machine on line?" stands. When a provider's outage
/// fails hundreds of probes at once, each failed check asks; within this window they
/// share one round of control checks instead of each starting its own.
pub const ONLINE_FRESH: Duration = Duration::from_secs(1);

/// A shared answer and when it was learnt. The lock is held while a round runs, so
/// callers arriving meanwhile wait for its answer.
type SharedAnswer<T> = Arc<tokio::sync::Mutex<Option<(tokio::time::Instant, T)>>>;

/// The answer in `last` if fresher than [`ONLINE_FRESH`], else a new one from `round`.
async fn shared_round<T: Copy, F: std::future::Future<Output = T>>(
    last: &SharedAnswer<T>,
    round: impl FnOnce() -> F,
) -> T {
    let mut last = last.lock().await;
    if let Some((at, answer)) = *last
        && at.elapsed() < ONLINE_FRESH
    {
        return answer;
    }
    let answer = round().await;
    *last = Some((tokio::time::Instant::now(), answer));
    answer
}

/// The real probes behind the scheduler.
#[derive(Debug)]
struct LiveRunner {
    config: Arc<Config>,
    /// Where names are looked up (the system's resolver, except in tests).
    resolver: net::Resolver,
    /// The last answer about the network control targets (`tcp`, `http`).
    online: SharedAnswer<bool>,
    /// The last answer about the resolver (`None`: no name to tell by).
    resolver_ok: SharedAnswer<Option<bool>>,
}

impl Runner for LiveRunner {
    fn check(&self, probe: Arc<Probe>) -> BoxFuture<'static, Check> {
        let config = self.config.clone();
        let resolver = self.resolver;
        let last = self.resolver_ok.clone();
        let source = self.config.daemon.source_address;
        Box::pin(net::with_resolver(
            resolver,
            net::with_source(source, async move {
                let mut check = crate::probe::run(&config, &probe).await;
                // Class `dns` is only ever a failed name lookup (net::resolve); a [[dns]]
                // probe without `server` asks this machine's resolver itself, so its
                // silence or refusal may be ours too. Whether it is the provider's DNS or
                // this machine's resolver, the control names tell.
                let asks_our_resolver = matches!(&probe.spec, ProbeSpec::Dns(d) if d.server.is_none())
                    && matches!(check.class, Some(ErrorClass::Refused | ErrorClass::Timeout));
                if check.status == Status::Down
                    && (check.class == Some(ErrorClass::Dns) || asks_our_resolver)
                {
                    let names = resolver_names(&config.controls);
                    if shared_round(&last, || resolver_works(names)).await == Some(false) {
                        check.status = Status::Unknown;
                        check.class = Some(ErrorClass::Unknown);
                        check.detail = format!(
                            "this machine's resolver failed (no [[control]] name resolves \
                         either): {}",
                            check.detail
                        );
                    }
                }
                check
            }),
        ))
    }

    fn online(&self) -> BoxFuture<'static, bool> {
        // `resolve` targets ask about the resolver, not about being on line.
        let controls: Vec<_> = self
            .config
            .controls
            .iter()
            .filter(|c| !matches!(c.target, ControlTarget::Resolve(_)))
            .cloned()
            .collect();
        let last = self.online.clone();
        let resolver = self.resolver;
        let source = self.config.daemon.source_address;
        Box::pin(net::with_resolver(
            resolver,
            net::with_source(source, async move {
                if controls.is_empty() {
                    return true;
                }
                shared_round(&last, || any_control_answers(controls)).await
            }),
        ))
    }
}

/// Whether any of `controls` answers; they are tried together.
async fn any_control_answers(controls: Vec<crate::config::Control>) -> bool {
    any_answers(
        controls
            .into_iter()
            .map(|c| (c.target, c.timeout))
            .collect(),
    )
    .await
}

/// Whether any of `targets` answers within its timeout ([`probe::control`]), through
/// the running task's resolver; they are tried together and the first yes ends it.
async fn any_answers(targets: Vec<(ControlTarget, Duration)>) -> bool {
    let (resolver, source) = (net::current_resolver(), net::current_source());
    let mut set = tokio::task::JoinSet::new();
    for (target, timeout) in targets {
        set.spawn(net::with_resolver(
            resolver,
            net::with_source(
                source,
                async move { probe::control(&target, timeout).await },
            ),
        ));
    }
    while let Some(r) = set.join_next().await {
        if r.unwrap_or(false) {
            return true;
        }
    }
    false
}

/// The runner the daemon uses: every probe kind, and the `[[control]]` targets.
///
/// A check that fails looking its host name up (class `dns`, or `refused`/`timeout`
/// from a `[[dns]]` probe without `server`, which asks this machine's resolver) while
/// no `[[control]]` name resolves either (a `resolve` target, or the host name of a
/// `tcp` or `http` target) is `unknown`: this machine's resolver failed, not the
/// provider's DNS. With no control name to try there is no way to tell, and the check
/// stays as it was: counting every lookup failure as ours would hide real DNS outages
/// of the provider; a `resolve` control is what decides.
pub(crate) fn live_runner(config: Arc<Config>) -> Arc<dyn Runner> {
    live_runner_with(config, net::Resolver::System)
}

/// [`live_runner`] looking names up through `resolver` (tests use a real server they
/// can kill instead of the system's resolver).
pub fn live_runner_with(config: Arc<Config>, resolver: net::Resolver) -> Arc<dyn Runner> {
    Arc::new(LiveRunner {
        config,
        resolver,
        online: Arc::default(),
        resolver_ok: Arc::default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Many failed checks asking at once share one round of control checks.
    #[tokio::test]
    async fn concurrent_online_questions_share_one_round() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let a = accepted.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                a.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        let text = format!("[[control]]\nname = \"c\"\ntcp = \"{addr}\"\n");
        let config =
            crate::config::parse_str(&text, std::path::Path::new("probes.toml"), &|_| None)
                .unwrap();
        let runner = live_runner(Arc::new(config));
        let answers = futures_join_all((0..20).map(|_| runner.online()).collect::<Vec<_>>()).await;
        assert!(answers.iter().all(|a| *a));
        // Give the listener task a moment to count what arrived.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    }

    /// The names that tell whether the resolver works: `resolve` targets and the
    /// hosts of `tcp`/`http` targets, never IP literals.
    #[test]
    fn resolver_names_leave_ip_literals_out() {
        let text = "[[control]]\nname = \"a\"\ntcp = \"192.0.2.1:53\"\n\
                    [[control]]\nname = \"b\"\nhttp = \"https://[2001:db8::1]/\"\n\
                    [[control]]\nname = \"c\"\nresolve = \"www.example.test\"\n\
                    [[control]]\nname = \"d\"\nhttp = \"https://gw.example.test:8443/x\"\n\
                    [[control]]\nname = \"e\"\ntcp = \"ns.example.test:53\"\n";
        let config =
            crate::config::parse_str(text, std::path::Path::new("probes.toml"), &|_| None).unwrap();
        let names: Vec<String> = resolver_names(&config.controls)
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(
            names,
            ["www.example.test", "gw.example.test", "ns.example.test"]
        );
    }

    async fn futures_join_all(futs: Vec<BoxFuture<'static, bool>>) -> Vec<bool> {
        let mut set = tokio::task::JoinSet::new();
        for f in futs {
            set.spawn(f);
        }
        let mut out = Vec::new();
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    }
}
