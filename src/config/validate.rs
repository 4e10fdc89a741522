//! Raw tables -> typed [`Config`], collecting every error with its position.

use super::diag::{Ctx, did_you_mean, line_col, tidy_serde_message};
use super::raw::{self, ProbeTable};
use super::*;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::Range;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// The top-level sections, in the order `check-config` documents them.
const SECTIONS: [&str; 15] = [
    "daemon",
    "control",
    "http",
    "dns",
    "tcp",
    "imap",
    "pop3",
    "smtp",
    "mailflow",
    "plan",
    "contract",
    "maintenance",
    "goodwill",
    "members",
    "shared",
];

/// All raw sections, each element deserialized separately.
#[derive(Default)]
struct RawConfig {
    daemon: Option<raw::Daemon>,
    controls: Vec<raw::Control>,
    http: Vec<raw::Http>,
    dns: Vec<raw::Dns>,
    tcp: Vec<raw::Tcp>,
    imap: Vec<raw::Imap>,
    pop3: Vec<raw::Pop3>,
    smtp: Vec<raw::Smtp>,
    mailflow: Vec<raw::Mailflow>,
    plans: Vec<super::plan::RawPlan>,
    contracts: Vec<raw::Contract>,
    maintenance: Vec<raw::Maintenance>,
    alerts: Option<raw::Alerts>,
    goodwill: Vec<raw::Goodwill>,
    members: Option<raw::Members>,
    shared: Option<raw::Shared>,
}

/// The span-preserving tree of the file, or every syntax error recorded in `cx`.
fn syntax_tree<'i>(cx: &mut Ctx<'_>, text: &'i str) -> Option<Spanned<DeTable<'i>>> {
    let (root, syntax) = DeTable::parse_recoverable(text);
    for e in &syntax {
        let span = e.span().unwrap_or(0..0);
        cx.err(
            span,
            format!("TOML syntax: {}", tidy_serde_message(e.message())),
        );
    }
    syntax.is_empty().then_some(root)
}

/// Records `id` as used, or reports it as a duplicate of its first use.
fn first_use(
    cx: &mut Ctx<'_>,
    ids: &mut HashMap<String, Range<usize>>,
    id: &Spanned<String>,
    what: &str,
) -> bool {
    if let Some(first) = ids.get(id.get_ref()) {
        let (line, col) = line_col(cx.src, first.start);
        cx.err(
            id.span(),
            format!(
                "duplicate {what} id '{}': already used at line {line}, column {col}",
                id.get_ref()
            ),
        );
        return false;
    }
    ids.insert(id.get_ref().clone(), id.span());
    true
}

/// The valid plans, where each plan id was written (for references from
/// contracts), and each plan's `vantages` consensus when it states one.
type CheckedPlans = (
    Vec<crate::sla::Plan>,
    HashMap<String, Range<usize>>,
    HashMap<String, Consensus>,
);

/// Checks `[[plan]]` tables: unique ids, then each plan's terms.
fn check_plans(cx: &mut Ctx<'_>, raw: &[super::plan::RawPlan]) -> CheckedPlans {
    let mut plans = Vec::new();
    let mut ids: HashMap<String, Range<usize>> = HashMap::new();
    let mut consensus = HashMap::new();
    for p in raw {
        if !first_use(cx, &mut ids, &p.id, "plan") {
            continue;
        }
        let built = super::plan::build(cx, p);
        let rule = super::plan::consensus(cx, p);
        if let Some(plan) = built {
            if let Some(rule) = rule {
                consensus.insert(plan.id.clone(), rule);
            }
            plans.push(plan);
        }
    }
    (plans, ids, consensus)
}

pub(super) fn parse(text: &str, path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    let mut cx = Ctx::new(path, text);
    let Some(root) = syntax_tree(&mut cx, text) else {
        return Err(finish(cx));
    };
    let raw = split_sections(&mut cx, root.into_inner());
    let config = build(&mut cx, raw, path, env);
    if cx.errors.is_empty() {
        config.ok_or_else(|| finish(cx))
    } else {
        Err(finish(cx))
    }
}

/// Reads only the `[[plan]]` tables of a file (a probes.toml or a plan catalogue);
/// every other section is left unchecked.
pub(super) fn parse_plans(text: &str, path: &Path) -> Result<Vec<crate::sla::Plan>, ConfigErrors> {
    let mut cx = Ctx::new(path, text);
    let Some(root) = syntax_tree(&mut cx, text) else {
        return Err(finish(cx));
    };
    let mut raw = Vec::new();
    for (key, value) in root.into_inner() {
        if key.get_ref().as_ref() == "plan" {
            raw = elements(&mut cx, value, "plan");
        }
    }
    let (plans, _, _) = check_plans(&mut cx, &raw);
    if cx.errors.is_empty() {
        Ok(plans)
    } else {
        Err(finish(cx))
    }
}

fn finish(cx: Ctx<'_>) -> ConfigErrors {
    let mut errors = cx.errors;
    errors.sort_by_key(|(offset, _)| *offset);
    errors.dedup_by(|a, b| a.1 == b.1);
    ConfigErrors(errors.into_iter().map(|(_, e)| e).collect())
}

fn split_sections<'i>(cx: &mut Ctx<'_>, root: DeTable<'i>) -> RawConfig {
    let mut out = RawConfig::default();
    for (key, value) in root {
        let name = key.get_ref().as_ref();
        let key_span = key.span();
        match name {
            "daemon" => out.daemon = cx.de(value, "[daemon]"),
            "alerts" => out.alerts = cx.de(value, "[alerts]"),
            "control" => out.controls = elements(cx, value, "control"),
            "http" => out.http = elements(cx, value, "http"),
            "dns" => out.dns = elements(cx, value, "dns"),
            "tcp" => out.tcp = elements(cx, value, "tcp"),
            "imap" => out.imap = elements(cx, value, "imap"),
            "pop3" => out.pop3 = elements(cx, value, "pop3"),
            "smtp" => out.smtp = elements(cx, value, "smtp"),
            "mailflow" => out.mailflow = elements(cx, value, "mailflow"),
            "plan" => out.plans = elements(cx, value, "plan"),
            "contract" => out.contracts = elements(cx, value, "contract"),
            "maintenance" => out.maintenance = elements(cx, value, "maintenance"),
            "goodwill" => out.goodwill = elements(cx, value, "goodwill"),
            "members" => out.members = cx.de(value, "[members]"),
            "shared" => out.shared = cx.de(value, "[shared]"),
            "schema" => {} // catalogue files carry `schema = "sla-plan/1"`
            other => {
                let mut all: Vec<&str> = SECTIONS.to_vec();
                all.push("alerts");
                let hint = did_you_mean(other, &all)
                    .map(|s| format!("; did you mean '{s}'?"))
                    .unwrap_or_else(|| {
                        format!("; the sections are {}, alerts", SECTIONS.join(", "))
                    });
                cx.err(key_span, format!("unknown section '{other}'{hint}"));
            }
        }
    }
    out
}

/// Deserializes each element of an array of tables (`[[kind]]`) on its own.
fn elements<'i, T: Deserialize<'i>>(
    cx: &mut Ctx<'_>,
    value: Spanned<DeValue<'i>>,
    kind: &str,
) -> Vec<T> {
    let span = value.span();
    match value.into_inner() {
        DeValue::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                if let Some(t) = cx.de(item.clone(), &format!("[[{kind}]] #{}", i + 1)) {
                    out.push(t);
                }
            }
            out
        }
        _ => {
            cx.err(span, format!("'{kind}' must be an array of tables: write each one under its own [[{kind}]] header"));
            Vec::new()
        }
    }
}

const NAME_RULE: &str = "names use only lower-case letters, digits, '.', '_' and '-'";

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        })
}

/// A contract id names report and letter files: a letter or digit, then letters,
/// digits, '.', '_' and '-', at most 64 bytes (no '/', no '..' prefix, no space).
fn valid_contract_id(s: &str) -> bool {
    s.len() <= 64
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The typed configuration: one function per section, in the order the sections
/// depend on each other (names before the contracts that cite them, plans before the
/// contracts, contracts before maintenance, goodwill and `[members]`), all writing their errors
/// into `cx`.
fn build(cx: &mut Ctx<'_>, mut raw: RawConfig, path: &Path, env: EnvLookup<'_>) -> Option<Config> {
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let resolve = |p: &str| -> PathBuf {
        let p = Path::new(p);
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let d = raw.daemon.take().unwrap_or_default();
    let mut daemon = daemon(cx, &d, env, &resolve);
    // The vantages' names as written, for the probes' `vantages` even when another
    // key of `[shared]` is wrong (each mistake is reported once, at its place).
    let listed: Option<Vec<String>> = raw
        .shared
        .as_ref()
        .map(|s| s.vantages.iter().map(|v| v.get_ref().clone()).collect());
    let shared = raw
        .shared
        .take()
        .and_then(|s| shared(cx, s, &daemon.vantage, env, &resolve));
    let mut names = Names::default();
    let controls = controls(cx, &raw.controls, &mut names, &daemon.schedule);
    let known_vantages = listed.as_deref();
    let probes = probes(
        cx,
        &raw,
        &mut names,
        &daemon.schedule,
        known_vantages,
        env,
        &resolve,
    );
    mailflow_references(cx, &raw.mailflow, &probes, &names);
    let (plans, plan_ids, plan_consensus) = check_plans(cx, &raw.plans);
    daemon.retention = retention(cx, d.retention.as_ref(), &plans, daemon.retention);
    let (mut contracts, contract_ids) = contracts(cx, &raw.contracts, &plan_ids, &names, &probes);
    // A contract's `vantages` overrides its plan's.
    for c in &mut contracts {
        if c.vantages.is_none() {
            c.vantages = plan_consensus.get(&c.plan).copied();
        }
    }
    let plan_vantages = plan_consensus;
    let maintenance = maintenance(cx, &raw.maintenance, &contract_ids, &names);
    let goodwill = goodwill(cx, &raw.goodwill, &contract_ids, &plan_ids);
    let members = raw
        .members
        .as_ref()
        .map(|m| members(cx, m, &plan_ids, &names.0))
        .unwrap_or_default();
    let alert_damping = raw
        .alerts
        .as_ref()
        .map(|a| damping(cx, a))
        .unwrap_or_default();
    let alerts = alerts(cx, raw.alerts, env, &resolve);
    Some(Config {
        path: path.to_path_buf(),
        daemon,
        controls,
        probes,
        plans,
        contracts,
        maintenance,
        alerts,
        alert_damping,
        goodwill,
        members,
        shared,
        plan_vantages,
    })
}

/// `[shared]` (issue 18): a `postgres://` URL without a password in it, the password
/// from `password_env` or `password_file`, `ca_file`, and the vantages' names (this
/// vantage among them when they are listed).
fn shared(
    cx: &mut Ctx<'_>,
    s: raw::Shared,
    this_vantage: &str,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<SharedSettings> {
    let mut ok = true;
    let url = s.url.get_ref();
    match reqwest::Url::parse(url) {
        Ok(u) if matches!(u.scheme(), "postgres" | "postgresql") && u.host_str().is_some() => {
            if u.password().is_some() {
                cx.err(s.url.span(), format!("[shared] url {} holds a password: secrets never go in probes.toml; use password_env = \"VARIABLE\" or password_file = \"PATH\"", url_origin(url)));
                ok = false;
            }
        }
        _ => {
            cx.err(s.url.span(), format!("[shared] url {} must be postgres://USER@HOST[:PORT]/DATABASE, such as \"postgres://slawatch@db.example.test/slawatch\"", url_origin(url)));
            ok = false;
        }
    }
    let password = secret(
        cx,
        s.password.as_ref(),
        s.password_env.as_ref(),
        s.password_file.as_ref(),
        env,
        resolve,
    );
    let ca_file = s
        .ca_file
        .as_ref()
        .and_then(|f| readable_file(cx, f, "ca_file", resolve));
    let mut vantages: Vec<String> = Vec::new();
    for v in &s.vantages {
        if vantages.contains(v.get_ref()) {
            cx.err(
                v.span(),
                format!("[shared] vantages names '{}' twice", v.get_ref()),
            );
            ok = false;
        } else {
            vantages.push(v.get_ref().clone());
        }
    }
    if let Some(first) = s.vantages.first()
        && !vantages.iter().any(|v| v == this_vantage)
    {
        cx.err(
            first.span(),
            format!(
                "[shared] vantages does not list this vantage '{this_vantage}' ([daemon] vantage)"
            ),
        );
        ok = false;
    }
    ok.then(|| SharedSettings {
        url: url.clone(),
        password,
        ca_file,
        vantages,
    })
}

/// `vantages` of a probe table: a list of vantage names (each in `[shared]
/// vantages` when that is given) or a count (at most as many as `[shared]
/// vantages` lists, which it needs).
fn probe_vantages(
    cx: &mut Ctx<'_>,
    v: Option<&Spanned<toml::Value>>,
    known: Option<&[String]>,
) -> ProbeVantages {
    let Some(v) = v else {
        return ProbeVantages::All;
    };
    match v.get_ref() {
        toml::Value::Integer(n) => {
            let Ok(n) = u32::try_from(*n) else {
                cx.err(v.span(), "vantages must be at least 1");
                return ProbeVantages::All;
            };
            match known {
                _ if n == 0 => {
                    cx.err(v.span(), "vantages must be at least 1");
                    ProbeVantages::All
                }
                Some(all) if !all.is_empty() && n as usize <= all.len() => ProbeVantages::Count(n),
                Some(all) if !all.is_empty() => {
                    cx.err(
                        v.span(),
                        format!("vantages = {n}, but [shared] vantages lists {}", all.len()),
                    );
                    ProbeVantages::All
                }
                _ => {
                    cx.err(v.span(), format!("vantages = {n} spreads the probe over [shared] vantages, which is not set: list every vantage there, such as vantages = [\"milano-1\", \"roma-1\"]"));
                    ProbeVantages::All
                }
            }
        }
        toml::Value::Array(items) => {
            let mut names = Vec::new();
            for item in items {
                match item.as_str() {
                    Some(name)
                        if known.is_none_or(|k| k.is_empty() || k.iter().any(|x| x == name)) =>
                    {
                        if !names.iter().any(|n: &String| n == name) {
                            names.push(name.to_owned());
                        }
                    }
                    Some(name) => {
                        let all = known.unwrap_or_default();
                        let list: Vec<&str> = all.iter().map(String::as_str).collect();
                        let hint = did_you_mean(name, &list)
                            .map(|s| format!("; did you mean '{s}'?"))
                            .unwrap_or_default();
                        cx.err(v.span(), format!("vantages names '{name}', which [shared] vantages does not list{hint}"));
                    }
                    None => cx.err(
                        v.span(),
                        "vantages must be a list of vantage names or a count",
                    ),
                }
            }
            if names.is_empty() {
                cx.err(v.span(), "vantages is an empty list: name at least one vantage, or leave it out to run the probe everywhere");
                return ProbeVantages::All;
            }
            ProbeVantages::Named(names)
        }
        _ => {
            cx.err(v.span(), "vantages must be a list of vantage names, such as [\"milano-1\"], or a count, such as 2");
            ProbeVantages::All
        }
    }
}

/// `[daemon]`: the default schedule, where the database and reports go (the
/// configuration's folder, or `$STATE_DIRECTORY` under systemd), limits and the
/// metrics address. `retention` is the written one or 400 days; [`retention`] raises
/// the default to what the plans need.
fn daemon(
    cx: &mut Ctx<'_>,
    d: &raw::Daemon,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> DaemonSettings {
    let defaults = schedule(
        cx,
        &DEFAULT_SCHEDULE,
        raw::Schedule {
            interval: d.interval.as_ref(),
            timeout: d.timeout.as_ref(),
            retry_interval: d.retry_interval.as_ref(),
            confirm_down: d.confirm_down.as_ref(),
            confirm_up: d.confirm_up.as_ref(),
        },
    );
    let state_dir = env("STATE_DIRECTORY").map(PathBuf::from);
    let database = match (&d.database, &state_dir) {
        (Some(db), _) => resolve(db),
        (None, Some(dir)) => dir.join("slawatch.db"),
        (None, None) => resolve("slawatch.db"),
    };
    let reports_dir = match (&d.reports_dir, &state_dir) {
        (Some(r), _) => resolve(r),
        (None, Some(dir)) => dir.join("reports"),
        (None, None) => resolve("reports"),
    };
    let metrics_listen = d.metrics_listen.as_ref().and_then(|m| match m.get_ref().parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            cx.err(m.span(), format!("metrics_listen '{}' is not an address: write IP:PORT such as \"127.0.0.1:9187\"", m.get_ref()));
            None
        }
    });
    let positive = |cx: &mut Ctx<'_>, v: Option<&Spanned<u32>>, key: &str, default: u32| match v {
        Some(v) if *v.get_ref() == 0 => {
            cx.err(v.span(), format!("{key} must be at least 1"));
            default
        }
        Some(v) => *v.get_ref(),
        None => default,
    };
    let concurrency = positive(cx, d.concurrency.as_ref(), "concurrency", 256);
    let per_host_concurrency = positive(
        cx,
        d.per_host_concurrency.as_ref(),
        "per_host_concurrency",
        4,
    );
    let source_address = d.source_address.as_ref().and_then(|a| {
        match a.get_ref().parse::<std::net::IpAddr>() {
            Ok(ip) => Some(ip),
            Err(_) => {
                cx.err(a.span(), format!("source_address '{}' is not an IP address: write one of this machine's addresses, such as \"127.0.0.2\" or \"::1\"", a.get_ref()));
                None
            }
        }
    });
    DaemonSettings {
        source_address,
        database,
        vantage: d.vantage.clone().unwrap_or_else(|| "default".to_owned()),
        schedule: defaults,
        concurrency,
        per_host_concurrency,
        reports_dir,
        metrics_listen,
        retention: d
            .retention
            .as_ref()
            .map_or(Duration::from_secs(400 * 86_400), |r| r.get_ref().get()),
        checkpoint_file: d.checkpoint_file.as_deref().map(resolve),
    }
}

/// The names of probes and control targets, unique across both, and where each was
/// written.
#[derive(Default)]
struct Names(HashMap<String, Range<usize>>);

impl Names {
    /// Records `name`, or reports it as not allowed or as a duplicate.
    fn claim(&mut self, cx: &mut Ctx<'_>, name: &Spanned<String>, kind: &str) -> bool {
        let n = name.get_ref();
        if !valid_name(n) {
            cx.err(
                name.span(),
                format!("{kind} name '{n}' is not allowed: {NAME_RULE}"),
            );
            return false;
        }
        if let Some(first) = self.0.get(n) {
            let (line, col) = line_col(cx.src, first.start);
            cx.err(name.span(), format!("duplicate name '{n}': already used at line {line}, column {col}; names are unique across all probes and control targets"));
            return false;
        }
        self.0.insert(n.clone(), name.span());
        true
    }

    fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

/// `[[control]]`: targets of the local-fault check, each exactly one of tcp, http or
/// resolve.
fn controls(
    cx: &mut Ctx<'_>,
    raw: &[raw::Control],
    names: &mut Names,
    defaults: &Schedule,
) -> Vec<Control> {
    let mut controls = Vec::new();
    for c in raw {
        names.claim(cx, &c.name, "control");
        let target = match (&c.tcp, &c.http, &c.resolve) {
            (Some(t), None, None) => {
                host_port(cx, t, None).map(|(host, port)| ControlTarget::Tcp { host, port })
            }
            (None, Some(h), None) => {
                http_url(cx, h).map(|_| ControlTarget::Http(h.get_ref().clone()))
            }
            (None, None, Some(r)) => resolve_name(cx, r).map(ControlTarget::Resolve),
            _ => {
                cx.err(
                    c.name.span(),
                    format!(
                        "control '{}' needs exactly one of tcp = \"HOST:PORT\", http = \"URL\" or resolve = \"NAME\"",
                        c.name.get_ref()
                    ),
                );
                None
            }
        };
        let timeout = c
            .timeout
            .as_ref()
            .map_or(defaults.timeout, |t| t.get_ref().get());
        if let Some(target) = target {
            controls.push(Control {
                name: c.name.get_ref().clone(),
                target,
                timeout,
            });
        }
    }
    controls
}

/// Every probe section (`[[http]]`, `[[dns]]`, `[[tcp]]`, `[[imap]]`, `[[pop3]]`,
/// `[[smtp]]`, `[[mailflow]]`), in that order.
fn probes(
    cx: &mut Ctx<'_>,
    raw: &RawConfig,
    names: &mut Names,
    defaults: &Schedule,
    vantages: Option<&[String]>,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Vec<Probe> {
    let mut out = Vec::new();
    let mut section = ProbeSection {
        names,
        vantages,
        defaults,
        out: &mut out,
    };
    section.add(cx, &raw.http, |cx, h| {
        http_spec(cx, h, env, resolve).map(ProbeSpec::Http)
    });
    section.add(cx, &raw.dns, |cx, d| dns_spec(cx, d).map(ProbeSpec::Dns));
    section.add(cx, &raw.tcp, |cx, t| {
        tcp_spec(cx, t, resolve).map(ProbeSpec::Tcp)
    });
    section.add(cx, &raw.imap, |cx, i| {
        imap_spec(cx, i, env, resolve).map(ProbeSpec::Imap)
    });
    section.add(cx, &raw.pop3, |cx, p| {
        pop3_spec(cx, p, env, resolve).map(ProbeSpec::Pop3)
    });
    section.add(cx, &raw.smtp, |cx, m| {
        smtp_spec(cx, m, env, resolve).map(ProbeSpec::Smtp)
    });
    section.add(cx, &raw.mailflow, |_, f| {
        Some(ProbeSpec::Mailflow(mailflow_spec(f)))
    });
    out
}

/// What the probe sections share: the names claimed so far, the `[daemon]` schedule
/// and the probes built so far.
struct ProbeSection<'s> {
    names: &'s mut Names,
    /// `[shared] vantages`, when `[shared]` is set.
    vantages: Option<&'s [String]>,
    defaults: &'s Schedule,
    out: &'s mut Vec<Probe>,
}

impl ProbeSection<'_> {
    /// One section: each table's name claimed, its schedule checked, its spec built
    /// by `spec` (a probe whose spec has an error is left out).
    fn add<T: ProbeTable>(
        &mut self,
        cx: &mut Ctx<'_>,
        tables: &[T],
        mut spec: impl FnMut(&mut Ctx<'_>, &T) -> Option<ProbeSpec>,
    ) {
        for t in tables {
            self.names.claim(cx, t.name(), "probe");
            let schedule = schedule(cx, self.defaults, t.schedule());
            let vantages = probe_vantages(cx, t.vantages(), self.vantages);
            if let Some(spec) = spec(cx, t) {
                self.out.push(Probe {
                    name: t.name().get_ref().clone(),
                    schedule,
                    spec,
                    vantages,
                });
            }
        }
    }
}

/// `[[tcp]]`: a target, and TLS when asked for.
fn tcp_spec(cx: &mut Ctx<'_>, t: &raw::Tcp, resolve: &dyn Fn(&str) -> PathBuf) -> Option<TcpSpec> {
    host_port(cx, &t.target, None).map(|(host, port)| {
        let tls = t.tls.unwrap_or(false).then(|| TlsSettings {
            verify: t.tls_verify.unwrap_or(true),
            ca_file: t
                .ca_file
                .as_ref()
                .and_then(|f| readable_file(cx, f, "ca_file", resolve)),
            server_name: t.server_name.clone(),
            cert_expiry_warn: t
                .cert_expiry_warn
                .map_or(DEFAULT_CERT_WARN, ConfigDuration::get),
        });
        TcpSpec { host, port, tls }
    })
}

/// `[[imap]]`: the mail endpoint (993, or 143 with STARTTLS) and the mailbox.
fn imap_spec(
    cx: &mut Ctx<'_>,
    i: &raw::Imap,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<ImapSpec> {
    mail_endpoint(cx, i.mail(), [993, 143], env, resolve).map(|endpoint| ImapSpec {
        endpoint,
        mailbox: i.mailbox.clone().unwrap_or_else(|| "INBOX".into()),
    })
}

/// `[[pop3]]`: the mail endpoint (995, or 110 with STARTTLS).
fn pop3_spec(
    cx: &mut Ctx<'_>,
    p: &raw::Pop3,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<Pop3Spec> {
    mail_endpoint(cx, p.mail(), [995, 110], env, resolve).map(|endpoint| Pop3Spec { endpoint })
}

/// `[[smtp]]`: the mail endpoint (465, or 587 with STARTTLS) and the HELO name.
fn smtp_spec(
    cx: &mut Ctx<'_>,
    m: &raw::Smtp,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<SmtpSpec> {
    mail_endpoint(cx, m.mail(), [465, 587], env, resolve).map(|endpoint| SmtpSpec {
        endpoint,
        helo: m.helo.clone().unwrap_or_else(|| "slawatch.invalid".into()),
    })
}

/// `[[mailflow]]`: copied as written; its references are checked by
/// [`mailflow_references`] once every probe is built.
fn mailflow_spec(f: &raw::Mailflow) -> MailflowSpec {
    MailflowSpec {
        smtp: f.smtp.get_ref().clone(),
        imap: f.imap.get_ref().clone(),
        from: f.from.clone(),
        to: f.to.clone(),
        max_delivery: f
            .max_delivery
            .map_or(Duration::from_secs(300), ConfigDuration::get),
    }
}

/// Mail round trips name an SMTP and an IMAP probe with credentials.
fn mailflow_references(cx: &mut Ctx<'_>, raw: &[raw::Mailflow], probes: &[Probe], names: &Names) {
    for f in raw {
        for (reference, kind) in [(&f.smtp, "smtp"), (&f.imap, "imap")] {
            let target = probes.iter().find(|p| &p.name == reference.get_ref());
            let (ok_kind, has_login) = match target.map(|p| &p.spec) {
                Some(ProbeSpec::Smtp(s)) if kind == "smtp" => {
                    (true, s.endpoint.credentials.is_some())
                }
                Some(ProbeSpec::Imap(i)) if kind == "imap" => {
                    (true, i.endpoint.credentials.is_some())
                }
                _ => (false, false),
            };
            if target.is_none() {
                if !names.contains(reference.get_ref()) {
                    cx.err(
                        reference.span(),
                        format!(
                            "mailflow '{}' names {kind} probe '{}', which does not exist",
                            f.name.get_ref(),
                            reference.get_ref()
                        ),
                    );
                }
            } else if !ok_kind {
                cx.err(
                    reference.span(),
                    format!(
                        "mailflow '{}': '{}' is not an [[{kind}]] probe",
                        f.name.get_ref(),
                        reference.get_ref()
                    ),
                );
            } else if !has_login {
                cx.err(reference.span(), format!("mailflow '{}': the {kind} probe '{}' needs username and password_env or password_file", f.name.get_ref(), reference.get_ref()));
            }
        }
    }
}

/// `retention`: a written one is checked against the plans' needs
/// ([`check_retention`]); left out, `default` is raised to what they need.
fn retention(
    cx: &mut Ctx<'_>,
    written: Option<&Spanned<ConfigDuration>>,
    plans: &[crate::sla::Plan],
    default: Duration,
) -> Duration {
    check_retention(cx, written, plans);
    if written.is_some() {
        return default;
    }
    let floor = u64::try_from(retention_floor_days(plans)).unwrap_or(400);
    default.max(Duration::from_secs(floor * 86_400))
}

/// `[[contract]]`: unique ids that can name a file, then each contract's terms.
/// Returns the valid contracts and where each id was written.
fn contracts(
    cx: &mut Ctx<'_>,
    raw: &[raw::Contract],
    plan_ids: &HashMap<String, Range<usize>>,
    names: &Names,
    probes: &[Probe],
) -> (Vec<Contract>, HashMap<String, Range<usize>>) {
    let mut contracts = Vec::new();
    let mut ids: HashMap<String, Range<usize>> = HashMap::new();
    for c in raw {
        // A duplicate is reported, and its contract is still checked.
        first_use(cx, &mut ids, &c.id, "contract");
        if !valid_contract_id(c.id.get_ref()) {
            cx.err(
                c.id.span(),
                format!(
                    "contract id '{}' cannot name a report file: use letters, digits, '.', '_' \
                     and '-' (a letter or digit first, at most 64), such as \"rossi-shop\"",
                    c.id.get_ref().escape_debug()
                ),
            );
        }
        if let Some(contract) = contract(cx, c, plan_ids, &names.0, probes) {
            contracts.push(contract);
        }
    }
    (contracts, ids)
}

/// `[[maintenance]]`: the contracts and probes it names exist, and it ends after it
/// starts.
fn maintenance(
    cx: &mut Ctx<'_>,
    raw: &[raw::Maintenance],
    contract_ids: &HashMap<String, Range<usize>>,
    names: &Names,
) -> Vec<Maintenance> {
    let mut maintenance = Vec::new();
    for m in raw {
        for c in &m.contracts {
            if !contract_ids.contains_key(c.get_ref()) {
                cx.err(
                    c.span(),
                    format!(
                        "maintenance names contract '{}', which does not exist",
                        c.get_ref()
                    ),
                );
            }
        }
        for p in &m.probes {
            if !names.contains(p.get_ref()) {
                cx.err(
                    p.span(),
                    format!(
                        "maintenance names probe '{}', which does not exist",
                        p.get_ref()
                    ),
                );
            }
        }
        let start = instant(cx, &m.start, "start");
        let end = instant(cx, &m.end, "end");
        let announced_at = m
            .announced_at
            .as_ref()
            .and_then(|a| instant(cx, a, "announced_at"));
        if m.contracts.is_empty() && m.probes.is_empty() {
            cx.err(
                m.start.span(),
                "maintenance applies to nothing: add contracts = [...] or probes = [...]",
            );
        }
        if let (Some(s), Some(e)) = (start, end) {
            if e <= s {
                cx.err(
                    m.end.span(),
                    format!(
                        "maintenance end {} is not after its start {}",
                        m.end.get_ref(),
                        m.start.get_ref()
                    ),
                );
            } else {
                maintenance.push(Maintenance {
                    contracts: m.contracts.iter().map(|c| c.get_ref().clone()).collect(),
                    probes: m.probes.iter().map(|p| p.get_ref().clone()).collect(),
                    start: s,
                    end: e,
                    announced_at,
                    note: m.note.clone(),
                });
            }
        }
    }
    maintenance
}

/// `[alerts]`: the e-mail channel (an smtp(s):// URL, a secret, recipients) and the
/// webhooks.
fn alerts(
    cx: &mut Ctx<'_>,
    raw: Option<raw::Alerts>,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Alerts {
    let mut alerts = Alerts::default();
    let Some(a) = raw else { return alerts };
    alerts.lang = a.lang.as_ref().and_then(|l| lang(cx, l, "[alerts] lang"));
    if let Some(e) = a.email {
        let url = e.smtp_url.get_ref();
        if !(url.starts_with("smtps://") || url.starts_with("smtp://")) {
            // Only the origin: the URL's userinfo may hold a password.
            cx.err(e.smtp_url.span(), format!("smtp_url '{}' must start with smtps:// (TLS, port 465) or smtp:// (STARTTLS, port 587)", url_origin(url)));
        }
        let password = secret(
            cx,
            e.password.as_ref(),
            e.password_env.as_ref(),
            e.password_file.as_ref(),
            env,
            resolve,
        );
        if e.to.is_empty() {
            cx.err(
                e.smtp_url.span(),
                "[alerts.email] has no recipient: add to = [\"ops@example.test\"]",
            );
        }
        alerts.email = Some(EmailAlerts {
            smtp_url: url.clone(),
            username: e.username,
            password,
            from: e.from,
            to: e.to,
            ca_file: e
                .ca_file
                .as_ref()
                .and_then(|f| readable_file(cx, f, "ca_file", resolve)),
        });
    }
    for w in a.webhook {
        let span = w.span();
        let w = w.into_inner();
        if let Some(hook) = webhook(cx, w, span, env, resolve) {
            alerts.webhooks.push(hook);
        }
    }
    alerts
}

/// `[alerts]` `flap_changes`, `flap_window`, `digest_window`, `digest_min`.
fn damping(cx: &mut Ctx<'_>, a: &raw::Alerts) -> crate::config::Damping {
    let mut d = crate::config::Damping::default();
    if let Some(v) = &a.flap_changes {
        if *v.get_ref() < 2 {
            cx.err(v.span(), format!("flap_changes = {} is too few: a probe changes state at least twice in an outage (DOWN, UP); write 2 or more, such as 3", v.get_ref()));
        } else {
            d.flap_changes = *v.get_ref();
        }
    }
    if let Some(v) = &a.flap_window {
        if v.get_ref().get().is_zero() {
            cx.err(
                v.span(),
                "flap_window must be longer than 0s: write a window such as \"10m\"",
            );
        } else {
            d.flap_window = v.get_ref().get();
        }
    }
    if let Some(v) = &a.digest_window {
        d.digest_window = v.get_ref().get();
    }
    if let Some(v) = &a.digest_min {
        if *v.get_ref() < 2 {
            cx.err(v.span(), format!("digest_min = {} is too few: a digest gathers several alerts; write 2 or more, such as 5 (digest_window = \"0s\" turns digests off)", v.get_ref()));
        } else {
            d.digest_min = *v.get_ref();
        }
    }
    d
}

const DEFAULT_CERT_WARN: Duration = Duration::from_secs(14 * 86_400);

fn schedule(cx: &mut Ctx<'_>, defaults: &Schedule, raw: raw::Schedule<'_>) -> Schedule {
    let dur = |v: Option<&Spanned<ConfigDuration>>, d: Duration| v.map_or(d, |v| v.get_ref().get());
    let s = Schedule {
        interval: dur(raw.interval, defaults.interval),
        timeout: dur(raw.timeout, defaults.timeout),
        retry_interval: dur(raw.retry_interval, defaults.retry_interval),
        confirm_down: raw
            .confirm_down
            .map_or(defaults.confirm_down, |v| *v.get_ref()),
        confirm_up: raw.confirm_up.map_or(defaults.confirm_up, |v| *v.get_ref()),
    };
    for (v, key) in [
        (raw.confirm_down, "confirm_down"),
        (raw.confirm_up, "confirm_up"),
    ] {
        if let Some(v) = v.filter(|v| *v.get_ref() == 0) {
            cx.err(v.span(), format!("{key} must be at least 1"));
        }
    }
    if let Some(i) = raw
        .interval
        .filter(|i| i.get_ref().get() < Duration::from_secs(1))
    {
        cx.err(
            i.span(),
            format!("interval {} is shorter than 1s", i.get_ref()),
        );
    }
    if let Some(t) = raw.timeout.filter(|t| t.get_ref().get().is_zero()) {
        cx.err(t.span(), "timeout must be longer than 0s");
    }
    if s.timeout > s.interval {
        let at = raw.timeout.or(raw.interval).map(Spanned::span);
        if let Some(at) = at {
            cx.err(at, format!("timeout {} is longer than interval {}: a check would still run when the next is due", format_duration(s.timeout), format_duration(s.interval)));
        }
    }
    if s.retry_interval > s.interval
        && let Some(at) = raw.retry_interval.or(raw.interval).map(Spanned::span)
    {
        cx.err(at, format!("retry_interval {} is longer than interval {}: retries must come sooner than regular checks", format_duration(s.retry_interval), format_duration(s.interval)));
    }
    s
}

fn http_url(cx: &mut Ctx<'_>, url: &Spanned<String>) -> Option<(String, bool)> {
    let u = url.get_ref();
    match reqwest::Url::parse(u) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some() => Some((
            p.host_str()
                .unwrap_or_default()
                .trim_matches(['[', ']'])
                .to_owned(),
            p.scheme() == "https",
        )),
        Ok(p) => {
            cx.err(
                url.span(),
                format!(
                    "url '{u}' has scheme '{}': use http:// or https:// with a host",
                    p.scheme()
                ),
            );
            None
        }
        Err(e) => {
            cx.err(url.span(), format!("url '{u}' does not parse: {e}"));
            None
        }
    }
}

fn http_spec(
    cx: &mut Ctx<'_>,
    h: &raw::Http,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<HttpSpec> {
    let (host, _) = http_url(cx, &h.url)?;
    let method = match h.method.as_ref().map(|m| m.get_ref().to_ascii_uppercase()) {
        None => HttpMethod::Get,
        Some(m) if m == "GET" => HttpMethod::Get,
        Some(m) if m == "HEAD" => HttpMethod::Head,
        Some(m) => {
            cx.err(
                h.method.as_ref().map_or(0..0, Spanned::span),
                format!("method '{m}' is not supported: use \"GET\" or \"HEAD\""),
            );
            HttpMethod::Get
        }
    };
    let expect_status = match &h.expect_status {
        None => StatusMatcher::Default,
        Some(s) => match s.get_ref() {
            raw::ExpectStatus::Codes(c)
                if !c.is_empty() && c.iter().all(|c| (100..600).contains(c)) =>
            {
                StatusMatcher::Codes(c.clone())
            }
            raw::ExpectStatus::Class(k)
                if k.len() == 3
                    && k[1..].eq_ignore_ascii_case("xx")
                    && (b'1'..=b'5').contains(&k.as_bytes()[0]) =>
            {
                StatusMatcher::Class(u16::from(k.as_bytes()[0] - b'0'))
            }
            _ => {
                cx.err(s.span(), "expect_status must be a list of HTTP codes such as [200, 204] or a class such as \"2xx\"");
                StatusMatcher::Default
            }
        },
    };
    let expect_body_regex =
        h.expect_body_regex
            .as_ref()
            .and_then(|r| match regex::Regex::new(r.get_ref()) {
                Ok(re) => Some(re),
                Err(e) => {
                    let first = e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .trim_start_matches("error: ")
                        .to_owned();
                    cx.err(
                        r.span(),
                        format!("expect_body_regex does not compile: {first}"),
                    );
                    None
                }
            });
    if method == HttpMethod::Head && (h.expect_body.is_some() || h.expect_body_regex.is_some()) {
        cx.err(
            h.name.span(),
            format!(
                "probe '{}' uses method HEAD, which has no body to match expect_body against",
                h.name.get_ref()
            ),
        );
    }
    Some(HttpSpec {
        url: h.url.get_ref().clone(),
        host,
        method,
        expect_status,
        expect_body: h.expect_body.clone(),
        expect_body_regex,
        max_response_time: h.max_response_time.map(ConfigDuration::get),
        follow_redirects: h.follow_redirects.unwrap_or(5),
        tls_verify: h.tls_verify.unwrap_or(true),
        ca_file: h
            .ca_file
            .as_ref()
            .and_then(|f| readable_file(cx, f, "ca_file", resolve)),
        cert_expiry_warn: h
            .cert_expiry_warn
            .map_or(DEFAULT_CERT_WARN, ConfigDuration::get),
        headers: h
            .headers
            .as_ref()
            .map(|hs| http_headers(cx, hs))
            .unwrap_or_default(),
        secret_headers: http_secret_headers(cx, h, env, resolve),
    })
}

/// One `[[alerts.webhook]]` (at `span`): its URL from exactly one of `url`,
/// `url_env` and `url_file`, and its signing secret. The URL may hold a token, so no
/// message here quotes it.
fn webhook(
    cx: &mut Ctx<'_>,
    w: raw::Webhook,
    span: Range<usize>,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<Webhook> {
    let given = [
        w.url.as_ref().map(|v| ("url", v)),
        w.url_env.as_ref().map(|v| ("url_env", v)),
        w.url_file.as_ref().map(|v| ("url_file", v)),
    ];
    let mut given = given.into_iter().flatten();
    let url = match (given.next(), given.next()) {
        (None, _) => {
            cx.err(
                span.clone(),
                "[[alerts.webhook]] has no URL: add url = \"https://...\", or url_env = \"VARIABLE\" or url_file = \"PATH\" when it holds a token",
            );
            None
        }
        (Some(_), Some((second, v))) => {
            cx.err(
                v.span(),
                format!("{second}: give only one of url, url_env and url_file"),
            );
            None
        }
        (Some(("url", v)), None) => Some(Secret::new(v.get_ref().clone())),
        (Some(("url_env", v)), None) => env_secret(cx, v.get_ref(), v.span(), "url_env", env),
        (Some((key, v)), None) => file_secret(cx, v.get_ref(), v.span(), key, env, resolve),
    };
    let url_span = [&w.url, &w.url_env, &w.url_file]
        .into_iter()
        .flatten()
        .next()
        .map_or(span, Spanned::span);
    let url = url.filter(|u| match reqwest::Url::parse(u.expose()) {
        Ok(p) if matches!(p.scheme(), "http" | "https") && p.host_str().is_some() => true,
        Ok(p) => {
            cx.err(
                url_span.clone(),
                format!(
                    "the webhook URL has scheme '{}': use http:// or https:// with a host",
                    p.scheme()
                ),
            );
            false
        }
        Err(e) => {
            cx.err(
                url_span.clone(),
                format!("the webhook URL does not parse: {e}"),
            );
            false
        }
    });
    let secret = match (&w.secret_env, &w.secret_file) {
        (Some(_), Some(f)) => {
            cx.err(f.span(), "give either secret_env or secret_file, not both");
            None
        }
        (Some(v), None) => Some(env_secret(cx, v.get_ref(), v.span(), "secret_env", env)),
        (None, Some(f)) => Some(file_secret(
            cx,
            f.get_ref(),
            f.span(),
            "secret_file",
            env,
            resolve,
        )),
        (None, None) => Some(None),
    };
    let timeout = match &w.timeout {
        None => super::WEBHOOK_TIMEOUT,
        Some(t) => {
            let d = t.get_ref().get();
            if d.is_zero() || d > super::WEBHOOK_TIMEOUT_MAX {
                cx.err(
                    t.span(),
                    format!(
                        "webhook timeout {}: write a duration above 0s and at most {} (e.g. timeout = \"10s\")",
                        format_duration(d),
                        format_duration(super::WEBHOOK_TIMEOUT_MAX)
                    ),
                );
            }
            d
        }
    };
    Some(Webhook {
        url: url?,
        secret: secret?,
        headers: w.headers.into_iter().collect(),
        timeout,
    })
}

/// The header values of `headers_env` / `headers_file`, read as secrets. A name may
/// be given once over `headers`, `headers_env` and `headers_file`. No message here
/// contains a value.
fn http_secret_headers(
    cx: &mut Ctx<'_>,
    h: &raw::Http,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Vec<(String, Secret)> {
    use hyper::header::{HeaderName, HeaderValue};
    let mut seen: Vec<String> = h
        .headers
        .iter()
        .flat_map(|m| m.get_ref().keys().map(|k| k.to_ascii_lowercase()))
        .collect();
    let mut out = Vec::new();
    for (key, map) in [
        ("headers_env", h.headers_env.as_ref()),
        ("headers_file", h.headers_file.as_ref()),
    ] {
        let Some(map) = map else { continue };
        for (name, source) in map.get_ref() {
            if HeaderName::from_bytes(name.as_bytes()).is_err() {
                cx.err(
                    map.span(),
                    format!(
                        "{key}: '{}' is not an HTTP header name: use letters, digits and '-', \
                         such as \"Authorization\"",
                        name.escape_debug()
                    ),
                );
                continue;
            }
            let lower = name.to_ascii_lowercase();
            if seen.contains(&lower) {
                cx.err(
                    map.span(),
                    format!(
                        "{key}: header '{name}' is already given in headers, headers_env or \
                         headers_file: keep one"
                    ),
                );
                continue;
            }
            seen.push(lower);
            let what = format!("{key} '{name}'");
            let value = if key == "headers_env" {
                env_secret(cx, source, map.span(), &what, env)
            } else {
                file_secret(cx, source, map.span(), &format!("{what}:"), env, resolve)
            };
            let Some(value) = value else { continue };
            if HeaderValue::from_str(value.expose()).is_err() {
                cx.err(
                    map.span(),
                    format!(
                        "{what}: the value has a character HTTP does not allow in a header \
                         (a line break, a control character or non-ASCII text)"
                    ),
                );
            } else {
                out.push((name.clone(), value));
            }
        }
    }
    out
}

/// The headers of an `[[http]]` probe, each checked as HTTP allows it: a name of
/// token characters, a value without line breaks or control characters. A bad one is
/// an error here rather than an `unknown` check every minute.
fn http_headers(
    cx: &mut Ctx<'_>,
    headers: &Spanned<std::collections::BTreeMap<String, String>>,
) -> Vec<(String, String)> {
    use hyper::header::{HeaderName, HeaderValue};
    for (name, value) in headers.get_ref() {
        if HeaderName::from_bytes(name.as_bytes()).is_err() {
            cx.err(
                headers.span(),
                format!(
                    "headers: '{}' is not an HTTP header name: use letters, digits and '-', \
                     such as \"X-Request-Source\"",
                    name.escape_debug()
                ),
            );
        } else if HeaderValue::from_str(value).is_err() {
            cx.err(
                headers.span(),
                format!(
                    "headers: the value of '{name}' has a character HTTP does not allow in a \
                     header (a line break, a control character or non-ASCII text)"
                ),
            );
        }
    }
    headers.get_ref().clone().into_iter().collect()
}

const RCODES: [&str; 6] = [
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
];

fn dns_spec(cx: &mut Ctx<'_>, d: &raw::Dns) -> Option<DnsSpec> {
    let record = match &d.record {
        None => RecordType::A,
        Some(r) => RecordType::parse(r.get_ref()).unwrap_or_else(|| {
            cx.err(r.span(), format!("record '{}' is not supported: use one of A, AAAA, MX, TXT, NS, CNAME, SOA, CAA", r.get_ref()));
            RecordType::A
        }),
    };
    let server = match &d.server {
        None => None,
        Some(s) => {
            let text = s.get_ref();
            let parsed = text.parse::<SocketAddr>().ok().or_else(|| {
                text.parse::<std::net::IpAddr>()
                    .ok()
                    .map(|ip| SocketAddr::new(ip, 53))
            });
            match parsed {
                Some(a) => Some(a),
                None => {
                    cx.err(s.span(), format!("server '{text}' must be an IP address with an optional port, such as \"127.0.0.1:53\" or \"[::1]:53\" (a name would need a resolver to find the resolver)"));
                    return None;
                }
            }
        }
    };
    let transport = match d.transport.as_ref().map(|t| t.get_ref().as_str()) {
        None | Some("udp") => DnsTransport::Udp,
        Some("tcp") => DnsTransport::Tcp,
        Some(other) => {
            cx.err(
                d.transport.as_ref().map_or(0..0, Spanned::span),
                format!("transport '{other}' is not supported: use \"udp\" or \"tcp\""),
            );
            DnsTransport::Udp
        }
    };
    let expect_rcode = match &d.expect_rcode {
        None => "NOERROR".to_owned(),
        Some(r) => {
            let up = r.get_ref().to_ascii_uppercase();
            if !RCODES.contains(&up.as_str()) {
                cx.err(
                    r.span(),
                    format!(
                        "expect_rcode '{}' is not an rcode: use one of {}",
                        r.get_ref(),
                        RCODES.join(", ")
                    ),
                );
            }
            up
        }
    };
    Some(DnsSpec {
        query: d.query.get_ref().clone(),
        record,
        server_host: server.map(|s| s.ip().to_string()).unwrap_or_default(),
        server,
        transport,
        expect_rcode,
        expect_answer: d.expect_answer.clone().unwrap_or_default(),
    })
}

/// `"host:port"`, `"[::1]:port"`, or a bare host when `default_port` is given.
/// A `[[control]]` `resolve` name: a host name (an IP literal is never looked up, so
/// it could not tell whether the resolver works).
fn resolve_name(cx: &mut Ctx<'_>, v: &Spanned<String>) -> Option<String> {
    let s = v.get_ref();
    let bare = s
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(s);
    let is_name = !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if bare.parse::<std::net::IpAddr>().is_ok() || !is_name {
        cx.err(
            v.span(),
            format!(
                "resolve '{s}' is not a host name: write a name this machine's resolver always \
                 knows, such as your own domain's \"www.example.test\" (an IP address is \
                 never looked up)"
            ),
        );
        return None;
    }
    Some(s.clone())
}

fn host_port(
    cx: &mut Ctx<'_>,
    v: &Spanned<String>,
    default_port: Option<u16>,
) -> Option<(String, u16)> {
    let s = v.get_ref();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some((a.ip().to_string(), a.port()));
    }
    let split = s.rsplit_once(':').filter(|(h, _)| !h.contains(':'));
    match (split, default_port) {
        (Some((h, p)), _) if !h.is_empty() => match p.parse::<u16>() {
            Ok(port) if port > 0 => Some((h.to_owned(), port)),
            _ => {
                cx.err(
                    v.span(),
                    format!("'{s}': port '{p}' is not a number from 1 to 65535"),
                );
                None
            }
        },
        (None, Some(port)) if !s.is_empty() => Some((s.clone(), port)),
        _ => {
            cx.err(
                v.span(),
                format!(
                    "'{s}' must be HOST:PORT, such as \"shop.example.test:22\" or \"[::1]:22\""
                ),
            );
            None
        }
    }
}

fn readable_file(
    cx: &mut Ctx<'_>,
    f: &Spanned<String>,
    key: &str,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<PathBuf> {
    let p = resolve(f.get_ref());
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() => Some(p),
        Ok(_) => {
            cx.err(f.span(), format!("{key} '{}' is not a file", p.display()));
            None
        }
        Err(e) => {
            cx.err(
                f.span(),
                format!("{key} '{}' cannot be read: {e}", p.display()),
            );
            None
        }
    }
}

fn mail_endpoint(
    cx: &mut Ctx<'_>,
    m: raw::Mail<'_>,
    [implicit_port, plain_port]: [u16; 2],
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<MailEndpoint> {
    let tls_mode = match m.tls.map(|t| t.get_ref().as_str()) {
        None | Some("implicit") => TlsMode::Implicit,
        Some("starttls") => TlsMode::Starttls,
        Some("none") => TlsMode::None,
        Some(other) => {
            cx.err(
                m.tls.map_or(0..0, Spanned::span),
                format!("tls '{other}' is not a mode: use \"implicit\", \"starttls\" or \"none\""),
            );
            TlsMode::Implicit
        }
    };
    let host = m.host.get_ref().trim_matches(['[', ']']).to_owned();
    if host.is_empty() {
        cx.err(m.host.span(), "host is empty");
    }
    let password = secret(
        cx,
        m.password,
        m.password_env,
        m.password_file,
        env,
        resolve,
    );
    let credentials = match (m.username, password) {
        (Some(u), Some(p)) => Some(Credentials {
            username: u.get_ref().clone(),
            password: p,
        }),
        (Some(u), None) => {
            if m.password.is_none() && m.password_env.is_none() && m.password_file.is_none() {
                cx.err(u.span(), "username is set but no password: add password_env = \"VARIABLE\" or password_file = \"PATH\"");
            }
            None
        }
        (None, Some(_)) => {
            let at = m
                .password_env
                .or(m.password_file)
                .map_or(0..0, Spanned::span);
            cx.err(
                at,
                "a password is given but no username: add username = \"...\"",
            );
            None
        }
        (None, None) => None,
    };
    Some(MailEndpoint {
        host,
        port: m.port.unwrap_or(if tls_mode == TlsMode::Implicit {
            implicit_port
        } else {
            plain_port
        }),
        tls_mode,
        tls: TlsSettings {
            verify: m.tls_verify.unwrap_or(true),
            ca_file: m
                .ca_file
                .and_then(|f| readable_file(cx, f, "ca_file", resolve)),
            server_name: m.server_name.map(str::to_owned),
            cert_expiry_warn: DEFAULT_CERT_WARN,
        },
        credentials,
    })
}

/// Resolves `password_env` / `password_file`; refuses an inline `password` without
/// repeating it. No message here ever contains the secret's value.
fn secret(
    cx: &mut Ctx<'_>,
    inline: Option<&Spanned<toml::Value>>,
    from_env: Option<&Spanned<String>>,
    from_file: Option<&Spanned<String>>,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<Secret> {
    if let Some(p) = inline {
        cx.err(p.span(), "a password is written inline: secrets never go in probes.toml; use password_env = \"VARIABLE\" or password_file = \"PATH\" (systemd's LoadCredential= puts one under $CREDENTIALS_DIRECTORY)");
        return None;
    }
    match (from_env, from_file) {
        (Some(e), Some(_)) => {
            cx.err(
                e.span(),
                "give either password_env or password_file, not both",
            );
            None
        }
        (Some(var), None) => env_secret(cx, var.get_ref(), var.span(), "password_env", env),
        (None, Some(file)) => file_secret(
            cx,
            file.get_ref(),
            file.span(),
            "password_file",
            env,
            resolve,
        ),
        (None, None) => None,
    }
}

/// The secret in the environment variable `var`, which `key` (such as
/// `password_env`) names; an error at `span` when it is unset or empty.
fn env_secret(
    cx: &mut Ctx<'_>,
    var: &str,
    span: Range<usize>,
    key: &str,
    env: EnvLookup<'_>,
) -> Option<Secret> {
    match env(var) {
        Some(v) if !v.is_empty() => Some(Secret::new(v)),
        Some(_) => {
            cx.err(span, format!("{key} names ${var}, which is empty"));
            None
        }
        None => {
            cx.err(
                span,
                format!("{key} names ${var}, which is not set in the environment"),
            );
            None
        }
    }
}

/// The secret in `file` (relative to the configuration's folder, or under
/// `$CREDENTIALS_DIRECTORY/`), one trailing line break dropped; an error at `span`
/// naming the path and the OS reason, never the content.
fn file_secret(
    cx: &mut Ctx<'_>,
    file: &str,
    span: Range<usize>,
    key: &str,
    env: EnvLookup<'_>,
    resolve: &dyn Fn(&str) -> PathBuf,
) -> Option<Secret> {
    let path = match file.strip_prefix("$CREDENTIALS_DIRECTORY/") {
        Some(rest) => env("CREDENTIALS_DIRECTORY")
            .map(|d| Path::new(&d).join(rest))
            .unwrap_or_else(|| resolve(file)),
        None => resolve(file),
    };
    match read_secret_file(&path) {
        Ok(v) => {
            let v = v
                .strip_suffix('\n')
                .map(|v| v.strip_suffix('\r').unwrap_or(v))
                .unwrap_or(&v)
                .to_owned();
            if v.is_empty() {
                cx.err(span, format!("{key} '{}' is empty", path.display()));
                None
            } else {
                Some(Secret::new(v))
            }
        }
        Err(e) => {
            cx.err(
                span,
                format!("{key} '{}' cannot be read: {e}", path.display()),
            );
            None
        }
    }
}

/// The most a secret file may hold: a password, a token or a URL is far smaller, and
/// a path such as `/dev/zero` or a log file must not hang or fill memory.
const MAX_SECRET_FILE: u64 = 64 * 1024;

/// Reads a secret file of at most [`MAX_SECRET_FILE`] bytes of UTF-8.
fn read_secret_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > MAX_SECRET_FILE {
        return Err(std::io::Error::other(format!(
            "it holds more than {} KiB, too much for a secret: name the file that holds \
             only the password or token",
            MAX_SECRET_FILE / 1024
        )));
    }
    String::from_utf8(bytes)
        .map_err(|_| std::io::Error::other("it is not UTF-8 text: a secret file holds text"))
}

fn instant(cx: &mut Ctx<'_>, v: &Spanned<String>, key: &str) -> Option<UtcMillis> {
    match v.get_ref().parse::<jiff::Timestamp>() {
        Ok(ts) => Some(UtcMillis::from_timestamp(ts)),
        Err(_) => {
            cx.err(v.span(), format!("{key} '{}' is not an instant: write RFC 3339 with an offset, such as \"2023-02-05T01:00:00+01:00\" or \"2023-02-05T00:00:00Z\"", v.get_ref()));
            None
        }
    }
}

fn date(cx: &mut Ctx<'_>, v: &Spanned<String>, key: &str) -> Option<jiff::civil::Date> {
    match v.get_ref().parse::<jiff::civil::Date>() {
        Ok(d) => Some(d),
        Err(_) => {
            cx.err(
                v.span(),
                format!(
                    "{key} '{}' is not a date: write YYYY-MM-DD, such as \"2023-01-01\"",
                    v.get_ref()
                ),
            );
            None
        }
    }
}

fn contract(
    cx: &mut Ctx<'_>,
    c: &raw::Contract,
    plan_ids: &HashMap<String, Range<usize>>,
    names: &HashMap<String, Range<usize>>,
    probes: &[Probe],
) -> Option<Contract> {
    let mut ok = true;
    if !plan_ids.contains_key(c.plan.get_ref()) {
        let ids: Vec<&str> = plan_ids.keys().map(String::as_str).collect();
        let hint = did_you_mean(c.plan.get_ref(), &ids)
            .map(|s| format!("; did you mean '{s}'?"))
            .unwrap_or_default();
        cx.err(
            c.plan.span(),
            format!(
                "contract '{}' names plan '{}', which does not exist{hint}",
                c.id.get_ref(),
                c.plan.get_ref()
            ),
        );
        ok = false;
    }
    if c.probes.is_empty() {
        cx.err(
            c.id.span(),
            format!(
                "contract '{}' lists no probes: add probes = [\"...\"]",
                c.id.get_ref()
            ),
        );
        ok = false;
    }
    for p in &c.probes {
        if !names.contains_key(p.get_ref()) {
            let all: Vec<&str> = probes.iter().map(|p| p.name.as_str()).collect();
            let hint = did_you_mean(p.get_ref(), &all)
                .map(|s| format!("; did you mean '{s}'?"))
                .unwrap_or_default();
            cx.err(
                p.span(),
                format!(
                    "contract '{}' names probe '{}', which does not exist{hint}",
                    c.id.get_ref(),
                    p.get_ref()
                ),
            );
            ok = false;
        }
    }
    let n = u32::try_from(c.probes.len()).unwrap_or(u32::MAX);
    let unavailable_when = match &c.unavailable_when {
        None => Unavailability::Any,
        Some(u) => {
            let text = u.get_ref().trim();
            let k_of_n = text.split_once(" of ").and_then(|(k, m)| {
                Some((k.trim().parse::<u32>().ok()?, m.trim().parse::<u32>().ok()?))
            });
            match (text, k_of_n) {
                ("any", _) => Unavailability::Any,
                ("all", _) => Unavailability::All,
                (_, Some((k, m))) if m == n && (1..=n).contains(&k) => Unavailability::AtLeast(k),
                (_, Some((_, m))) if m != n => {
                    cx.err(
                        u.span(),
                        format!(
                            "unavailable_when '{text}' counts {m} probes but the contract lists {n}"
                        ),
                    );
                    ok = false;
                    Unavailability::Any
                }
                _ => {
                    cx.err(u.span(), format!("unavailable_when '{text}' must be \"any\", \"all\" or \"K of N\" with 1 <= K <= N"));
                    ok = false;
                    Unavailability::Any
                }
            }
        }
    };
    let customer_type = match c.customer_type.as_ref().map(|t| t.get_ref().as_str()) {
        None => None,
        Some(t) if CustomerType::parse(t).is_some() => CustomerType::parse(t),
        Some(other) => {
            cx.err(
                c.customer_type.as_ref().map_or(0..0, Spanned::span),
                format!("customer_type '{other}' must be \"consumer\" or \"business\""),
            );
            None
        }
    };
    let fee = c
        .fee
        .as_ref()
        .and_then(|f| match f.get_ref().parse::<rust_decimal::Decimal>() {
            Ok(v) if v.is_sign_negative() => {
                cx.err(f.span(), format!("fee '{}' is negative", f.get_ref()));
                None
            }
            Ok(v) => Some(v),
            Err(_) => {
                cx.err(
                    f.span(),
                    format!(
                        "fee '{}' is not a decimal amount: write it as a string such as \"9.99\"",
                        f.get_ref()
                    ),
                );
                None
            }
        });
    let fee_period = c
        .fee_period
        .as_ref()
        .and_then(|p| match p.get_ref().as_str() {
            "month" => Some(FeePeriod::Month),
            "year" => Some(FeePeriod::Year),
            _ => {
                cx.err(
                    p.span(),
                    format!("fee_period '{}' must be \"month\" or \"year\"", p.get_ref()),
                );
                None
            }
        });
    let start = c.start.as_ref().and_then(|s| date(cx, s, "start"));
    let end = c.end.as_ref().and_then(|e| date(cx, e, "end"));
    if let (Some(s), Some(e), Some(end_span)) = (start, end, c.end.as_ref())
        && e <= s
    {
        cx.err(
            end_span.span(),
            format!(
                "contract '{}' ends {e}, which is not after its start {s}",
                c.id.get_ref()
            ),
        );
        ok = false;
    }
    let unmonitored = match &c.unmonitored {
        None => Unmonitored::Plan,
        Some(u) => Unmonitored::parse(u.get_ref()).unwrap_or_else(|| {
            let all: Vec<&str> = Unmonitored::ALL.iter().map(|u| u.as_str()).collect();
            let hint = did_you_mean(u.get_ref(), &all)
                .map(|s| format!(" (did you mean '{s}'?)"))
                .unwrap_or_default();
            cx.err(
                u.span(),
                format!(
                    "unmonitored '{}' is not a choice{hint}: write one of \"plan\" (the plan's missing_data), \"as_up\", \"as_down\" or \"exclude\"",
                    u.get_ref()
                ),
            );
            ok = false;
            Unmonitored::Plan
        }),
    };
    let compare_with = compare_with(cx, c, plan_ids);
    let customer_address = letter_field(cx, c, "customer_address", &c.customer_address, &mut ok);
    let customer_code = letter_field(cx, c, "customer_code", &c.customer_code, &mut ok);
    let contract_number = letter_field(cx, c, "contract_number", &c.contract_number, &mut ok);
    let customer_email = letter_field(cx, c, "customer_email", &c.customer_email, &mut ok);
    let provider_name = letter_field(cx, c, "provider_name", &c.provider_name, &mut ok);
    let provider_address = letter_field(cx, c, "provider_address", &c.provider_address, &mut ok);
    let provider_email = letter_field(cx, c, "provider_email", &c.provider_email, &mut ok);
    let provider_pec = letter_field(cx, c, "provider_pec", &c.provider_pec, &mut ok);
    let lang = c.lang.as_ref().and_then(|l| {
        let v = lang(cx, l, "lang");
        ok &= v.is_some();
        v
    });
    let vantages = c
        .vantages
        .as_ref()
        .and_then(|v| match Consensus::parse(v.get_ref()) {
            Ok(c) => Some(c),
            Err(message) => {
                cx.err(v.span(), message);
                ok = false;
                None
            }
        });
    ok.then(|| Contract {
        vantages,
        id: c.id.get_ref().clone(),
        plan: c.plan.get_ref().clone(),
        customer: c.customer.clone(),
        customer_type,
        fee,
        currency: c.currency.clone(),
        fee_period,
        probes: c.probes.iter().map(|p| p.get_ref().clone()).collect(),
        unavailable_when,
        start,
        end,
        unmonitored,
        compare_with,
        customer_address,
        customer_code,
        contract_number,
        customer_email,
        provider_name,
        provider_address,
        provider_email,
        provider_pec,
        lang,
    })
}

/// " did you mean 'x'?" for an unknown id among `ids`, or nothing.
fn id_hint(word: &str, ids: &HashMap<String, Range<usize>>) -> String {
    let all: Vec<&str> = ids.keys().map(String::as_str).collect();
    did_you_mean(word, &all)
        .map(|s| format!("; did you mean '{s}'?"))
        .unwrap_or_default()
}

/// `compare_with`: plan ids other than the contract's own, each defined.
fn compare_with(
    cx: &mut Ctx<'_>,
    c: &raw::Contract,
    plan_ids: &HashMap<String, Range<usize>>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in &c.compare_with {
        let id = p.get_ref();
        if !plan_ids.contains_key(id) {
            let hint = id_hint(id, plan_ids);
            cx.err(
                p.span(),
                format!(
                    "contract '{}' compares with plan '{id}', which does not exist \
                     (compare_with lists ids of [[plan]] tables){hint}",
                    c.id.get_ref()
                ),
            );
        } else if id == c.plan.get_ref() {
            cx.err(
                p.span(),
                format!(
                    "contract '{}' compares with its own plan '{id}': list other plans \
                     (a regulation, a competing offer)",
                    c.id.get_ref()
                ),
            );
        } else if !out.contains(id) {
            out.push(id.clone());
        }
    }
    out
}

/// `[members]`: a language, an `unmonitored` choice, providers named once, and plans
/// whose ids, comparisons and probes exist.
fn members(
    cx: &mut Ctx<'_>,
    m: &raw::Members,
    plan_ids: &HashMap<String, Range<usize>>,
    probe_names: &HashMap<String, Range<usize>>,
) -> MembersSettings {
    let mut out = MembersSettings {
        lang: m.lang.as_ref().and_then(|l| lang(cx, l, "[members] lang")),
        ..MembersSettings::default()
    };
    if let Some(u) = &m.unmonitored {
        match Unmonitored::parse(u.get_ref()) {
            Some(v) => out.unmonitored = v,
            None => {
                let all: Vec<&str> = Unmonitored::ALL.iter().map(|u| u.as_str()).collect();
                let hint = did_you_mean(u.get_ref(), &all)
                    .map(|s| format!(" (did you mean '{s}'?)"))
                    .unwrap_or_default();
                cx.err(
                    u.span(),
                    format!(
                        "[members] unmonitored '{}' is not a choice{hint}: write one of \"plan\" (the plan's missing_data), \"as_up\", \"as_down\" or \"exclude\"",
                        u.get_ref()
                    ),
                );
            }
        }
    }
    let mut providers: HashMap<String, Range<usize>> = HashMap::new();
    for p in &m.provider {
        if !first_use(cx, &mut providers, &p.name, "[[members.provider]] name") {
            continue;
        }
        out.providers.push(MembersProvider {
            name: p.name.get_ref().clone(),
            address: p.address.clone(),
            email: p.email.clone(),
            pec: p.pec.clone(),
        });
    }
    let mut plans: HashMap<String, Range<usize>> = HashMap::new();
    for p in &m.plan {
        let id = p.plan.get_ref();
        let mut ok = first_use(cx, &mut plans, &p.plan, "[[members.plan]] plan");
        if !plan_ids.contains_key(id) {
            let hint = id_hint(id, plan_ids);
            cx.err(
                p.plan.span(),
                format!(
                    "[[members.plan]] names plan '{id}', which does not exist (write the id of \
                     a [[plan]] table){hint}"
                ),
            );
            ok = false;
        }
        let mut compare: Vec<String> = Vec::new();
        for c in &p.compare_with {
            let other = c.get_ref();
            if !plan_ids.contains_key(other) {
                let hint = id_hint(other, plan_ids);
                cx.err(
                    c.span(),
                    format!(
                        "[[members.plan]] '{id}' compares with plan '{other}', which does not \
                         exist (compare_with lists ids of [[plan]] tables){hint}"
                    ),
                );
                ok = false;
            } else if other == id {
                cx.err(
                    c.span(),
                    format!(
                        "[[members.plan]] '{id}' compares with its own plan: list other plans \
                         (a regulation, a competing offer)"
                    ),
                );
                ok = false;
            } else if !compare.contains(other) {
                compare.push(other.clone());
            }
        }
        let mut probes: Vec<String> = Vec::new();
        for q in &p.probes {
            if !probe_names.contains_key(q.get_ref()) {
                let hint = id_hint(q.get_ref(), probe_names);
                cx.err(
                    q.span(),
                    format!(
                        "[[members.plan]] '{id}' names probe '{}', which does not exist{hint}",
                        q.get_ref()
                    ),
                );
                ok = false;
            } else if !probes.contains(q.get_ref()) {
                probes.push(q.get_ref().clone());
            }
        }
        if ok {
            out.plans.push(MembersPlan {
                plan: id.clone(),
                compare_with: compare,
                probes,
            });
        }
    }
    out
}

/// The languages letters and alerts can be written in.
const LANGS: [&str; 2] = ["it", "en"];

/// A language of letters and alerts (`it` or `en`); `key` names where it was written.
fn lang(cx: &mut Ctx<'_>, l: &Spanned<String>, key: &str) -> Option<String> {
    if LANGS.contains(&l.get_ref().as_str()) {
        return Some(l.get_ref().clone());
    }
    let hint = did_you_mean(l.get_ref(), &LANGS)
        .map(|s| format!(" (did you mean '{s}'?)"))
        .unwrap_or_default();
    cx.err(
        l.span(),
        format!(
            "{key} '{}' is not a language of letters{hint}: write \"it\" or \"en\"",
            l.get_ref()
        ),
    );
    None
}

/// A non-negative decimal amount written as a string ("10.00") or an integer.
fn amount(cx: &mut Ctx<'_>, v: &Spanned<toml::Value>, key: &str) -> Option<rust_decimal::Decimal> {
    let parsed = match v.get_ref() {
        toml::Value::String(s) => s.trim().parse::<rust_decimal::Decimal>().ok(),
        toml::Value::Integer(i) => Some(rust_decimal::Decimal::from(*i)),
        _ => None,
    };
    match parsed {
        Some(d) if !d.is_sign_negative() => Some(d),
        _ => {
            cx.err(
                v.span(),
                format!(
                    "{key} {} is not a non-negative decimal amount: write it as a string \
                     such as \"10.00\" (in the contract's currency)",
                    v.get_ref()
                ),
            );
            None
        }
    }
}

/// `[[goodwill]]`: dates, what it gives, and the contracts and plans it names.
fn goodwill(
    cx: &mut Ctx<'_>,
    raw: &[raw::Goodwill],
    contract_ids: &HashMap<String, Range<usize>>,
    plan_ids: &HashMap<String, Range<usize>>,
) -> Vec<Goodwill> {
    let mut out = Vec::new();
    for g in raw {
        let mut ok = true;
        for c in &g.contracts {
            if !contract_ids.contains_key(c.get_ref()) {
                let hint = id_hint(c.get_ref(), contract_ids);
                cx.err(
                    c.span(),
                    format!(
                        "goodwill names contract '{}', which does not exist{hint}",
                        c.get_ref()
                    ),
                );
                ok = false;
            }
        }
        for p in &g.plans {
            if !plan_ids.contains_key(p.get_ref()) {
                let hint = id_hint(p.get_ref(), plan_ids);
                cx.err(
                    p.span(),
                    format!(
                        "goodwill names plan '{}', which does not exist{hint}",
                        p.get_ref()
                    ),
                );
                ok = false;
            }
        }
        if g.contracts.is_empty() && g.plans.is_empty() {
            cx.err(
                g.event.span(),
                "goodwill applies to nothing: add contracts = [\"...\"] or plans = [\"...\"]",
            );
            ok = false;
        }
        let event_date = date(cx, &g.date, "date");
        let announced = g.announced.as_ref().and_then(|a| date(cx, a, "announced"));
        if let (Some(d), Some(a), Some(span)) = (event_date, announced, g.announced.as_ref())
            && a < d
        {
            cx.err(
                span.span(),
                format!("goodwill announced {a}, before the event's date {d}: check both dates"),
            );
            ok = false;
        }
        let money = g.amount.as_ref().map(|a| amount(cx, a, "amount"));
        let days = g.extension_days.as_ref().map(|d| *d.get_ref());
        let upgrade = g
            .upgrade
            .as_ref()
            .map(|u| u.get_ref().trim().to_owned())
            .filter(|u| !u.is_empty());
        let gives_money = matches!(money, Some(Some(m)) if !m.is_zero());
        if matches!(money, Some(None)) {
            ok = false;
        } else if days.unwrap_or(0) == 0 && !gives_money && upgrade.is_none() {
            cx.err(
                g.event.span(),
                format!(
                    "goodwill '{}' gives nothing: add extension_days = 15, amount = \"10.00\" \
                     or upgrade = \"...\"",
                    g.event.get_ref()
                ),
            );
            ok = false;
        }
        if let (true, Some(date)) = (ok, event_date) {
            out.push(Goodwill {
                event: g.event.get_ref().clone(),
                date,
                announced,
                contracts: g.contracts.iter().map(|c| c.get_ref().clone()).collect(),
                plans: g.plans.iter().map(|p| p.get_ref().clone()).collect(),
                extension_days: days.filter(|d| *d > 0),
                amount: money.flatten().filter(|m| !m.is_zero()),
                upgrade,
                source: g.source.clone(),
                note: g.note.clone(),
            });
        }
    }
    out
}

/// A letter field of a contract: written as is, but never empty, and the e-mail
/// fields (`*_email`, `provider_pec`) an address with an `@`.
fn letter_field(
    cx: &mut Ctx<'_>,
    c: &raw::Contract,
    key: &str,
    value: &Option<toml::Spanned<String>>,
    ok: &mut bool,
) -> Option<String> {
    let v = value.as_ref()?;
    let text = v.get_ref().trim();
    let email = key.ends_with("_email") || key == "provider_pec";
    let problem = if text.is_empty() {
        Some(format!("{key} is empty: write it, or remove the key"))
    } else if email && !text.contains('@') {
        Some(format!(
            "{key} '{text}' is not an e-mail address: write it as name@domain"
        ))
    } else {
        None
    };
    if let Some(p) = problem {
        cx.err(v.span(), format!("contract '{}': {p}", c.id.get_ref()));
        *ok = false;
    }
    Some(text.to_owned())
}

/// Days a plan's evidence is needed for after a period begins: the longest period
/// plus the claim deadline (0 when the plan states none).
fn claim_horizon_days(plan: &crate::sla::Plan) -> i64 {
    use crate::sla::plan::{Deadline, WindowKind};
    let period = match plan.window.kind {
        WindowKind::CalendarMonth | WindowKind::BillingCycle { .. } => 31,
        WindowKind::CalendarYear => 366,
        WindowKind::Rolling { length_ms, .. } => length_ms.div_euclid(86_400_000) + 1,
    };
    let deadline = match plan.claim.deadline {
        Deadline::None => 0,
        Deadline::DaysAfterPeriodEnd(n) | Deadline::DaysAfterIncidentStart(n) => i64::from(n),
        Deadline::CyclesAfterPeriod(n) | Deadline::MonthsAfterPeriodEnd(n) => 31 * i64::from(n),
    };
    period + deadline
}

/// Margin kept beyond the longest claim horizon, in days.
const RETENTION_MARGIN_DAYS: i64 = 30;

/// The shortest retention allowed, in days: 400, or the longest claim horizon of
/// the plans plus [`RETENTION_MARGIN_DAYS`] when that is longer.
pub(crate) fn retention_floor_days(plans: &[crate::sla::Plan]) -> i64 {
    plans
        .iter()
        .map(|p| claim_horizon_days(p) + RETENTION_MARGIN_DAYS)
        .fold(crate::store::MIN_RETENTION_MS / 86_400_000, i64::max)
}

/// `retention` must keep every check a claim can still rest on.
fn check_retention(
    cx: &mut Ctx<'_>,
    retention: Option<&Spanned<super::duration::ConfigDuration>>,
    plans: &[crate::sla::Plan],
) {
    let Some(r) = retention else { return };
    let floor = retention_floor_days(plans);
    let ms = i64::try_from(r.get_ref().get().as_millis()).unwrap_or(i64::MAX);
    if ms >= floor * 86_400_000 {
        return;
    }
    let written = cx
        .src
        .get(r.span())
        .unwrap_or_default()
        .trim_matches('"')
        .to_owned();
    // "6m" meant as months is the classic slip: say what it is and what was meant.
    let minutes = written
        .strip_suffix('m')
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<i64>().ok());
    let what = match minutes {
        Some(n) => format!(
            "'{written}' is {n} minute{} (m is minutes); did you mean \"{}d\" ({n} months)?",
            if n == 1 { "" } else { "s" },
            n.saturating_mul(30)
        ),
        None => format!("'{written}' is too short."),
    };
    cx.err(
        r.span(),
        format!(
            "retention {what} Checks are evidence for claims: retention must be at least \
             {floor} days (a year of checks plus the plans' longest claim window and a \
             margin); write retention = \"{floor}d\" or more"
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn here(p: &str) -> PathBuf {
        Path::new("/etc/slawatch").join(p)
    }

    #[test]
    fn the_daemon_section_reports_each_bad_key_and_keeps_the_defaults() {
        let text = "concurrency = 0\nmetrics_listen = \"localhost\"\ndatabase = \"x.db\"\n";
        let d: raw::Daemon = toml::from_str(text).unwrap();
        let mut cx = Ctx::new(Path::new("probes.toml"), text);
        let daemon = daemon(&mut cx, &d, &|_| None, &here);
        assert_eq!(daemon.concurrency, 256);
        assert_eq!(daemon.metrics_listen, None);
        assert_eq!(daemon.database, here("x.db"));
        assert_eq!(daemon.reports_dir, here("reports"));
        let m = cx.messages();
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[1].starts_with("1:15 concurrency must be at least 1"),
            "{m:?}"
        );
        assert!(m[0].starts_with("2:18 metrics_listen 'localhost'"), "{m:?}");
        // Under systemd, what is not written goes to the state directory.
        let state = |k: &str| (k == "STATE_DIRECTORY").then(|| "/var/lib/s".to_owned());
        let d: raw::Daemon = toml::from_str("").unwrap();
        let under_systemd = super::daemon(&mut Ctx::new(Path::new("p"), ""), &d, &state, &here);
        assert_eq!(under_systemd.database, Path::new("/var/lib/s/slawatch.db"));
    }

    #[test]
    fn names_are_unique_across_probes_and_controls() {
        let text = "a = \"web\"\nb = \"web\"\nc = \"Web site\"\n";
        #[derive(Deserialize)]
        struct Three {
            a: Spanned<String>,
            b: Spanned<String>,
            c: Spanned<String>,
        }
        let n: Three = toml::from_str(text).unwrap();
        let mut cx = Ctx::new(Path::new("probes.toml"), text);
        let mut names = Names::default();
        assert!(names.claim(&mut cx, &n.a, "control"));
        assert!(!names.claim(&mut cx, &n.b, "probe"));
        assert!(!names.claim(&mut cx, &n.c, "probe"));
        assert!(names.contains("web") && !names.contains("Web site"));
        let m = cx.messages();
        assert!(
            m[0].starts_with("2:5 duplicate name 'web': already used at line 1, column 5"),
            "{m:?}"
        );
        assert!(
            m[1].starts_with("3:5 probe name 'Web site' is not allowed"),
            "{m:?}"
        );
    }

    #[test]
    fn a_control_needs_exactly_one_target() {
        let text = "[[c]]\nname = \"gw\"\ntcp = \"127.0.0.1:53\"\nhttp = \"http://127.0.0.1/\"\n\
                    [[c]]\nname = \"dns\"\nresolve = \"example.test\"\ntimeout = \"2s\"\n";
        #[derive(Deserialize)]
        struct File {
            c: Vec<raw::Control>,
        }
        let f: File = toml::from_str(text).unwrap();
        let mut cx = Ctx::new(Path::new("probes.toml"), text);
        let controls = controls(&mut cx, &f.c, &mut Names::default(), &DEFAULT_SCHEDULE);
        assert_eq!(controls.len(), 1);
        assert_eq!(controls[0].name, "dns");
        assert_eq!(controls[0].timeout, Duration::from_secs(2));
        let m = cx.messages();
        assert_eq!(m.len(), 1, "{m:?}");
        assert!(
            m[0].starts_with("2:8 control 'gw' needs exactly one of"),
            "{m:?}"
        );
    }

    #[test]
    fn maintenance_names_what_exists_and_ends_after_it_starts() {
        let text = "[[m]]\ncontracts = [\"shop\", \"shopp\"]\n\
                    start = \"2026-01-02T00:00:00Z\"\nend = \"2026-01-01T00:00:00Z\"\n\
                    [[m]]\nprobes = [\"web\"]\n\
                    start = \"2026-01-01T00:00:00Z\"\nend = \"2026-01-01T01:00:00Z\"\n";
        #[derive(Deserialize)]
        struct File {
            m: Vec<raw::Maintenance>,
        }
        let f: File = toml::from_str(text).unwrap();
        let mut cx = Ctx::new(Path::new("probes.toml"), text);
        let contracts = HashMap::from([("shop".to_owned(), 0..0)]);
        let mut names = Names::default();
        names.0.insert("web".to_owned(), 0..0);
        let windows = maintenance(&mut cx, &f.m, &contracts, &names);
        assert_eq!(windows.len(), 1);
        assert_eq!(windows[0].probes, ["web"]);
        assert_eq!(windows[0].end.0 - windows[0].start.0, 3_600_000);
        let m = cx.messages();
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].starts_with("2:22 maintenance names contract 'shopp'"),
            "{m:?}"
        );
        assert!(
            m[1].starts_with("4:7 maintenance end 2026-01-01T00:00:00Z is not after"),
            "{m:?}"
        );
    }

    #[test]
    fn a_retention_left_out_is_what_the_plans_need() {
        let mut cx = Ctx::new(Path::new("probes.toml"), "");
        let default = Duration::from_secs(400 * 86_400);
        assert_eq!(retention(&mut cx, None, &[], default), default);
        let longer = Duration::from_secs(900 * 86_400);
        assert_eq!(retention(&mut cx, None, &[], longer), longer);
        assert!(cx.errors.is_empty());
    }

    #[test]
    fn the_default_retention_keeps_what_the_longest_claim_needs() {
        let parse = |text: &str| {
            super::super::parse_str(text, Path::new("probes.toml"), &|_| None)
                .unwrap()
                .daemon
                .retention
        };
        assert_eq!(parse("").as_secs(), 400 * 86_400);
        let yearly = "[[plan]]\nid = \"y\"\nobjective.target = \"99.9\"\n\
                      window.kind = \"calendar_year\"\n\
                      claim.deadline = { kind = \"days_after_period_end\", days = 60 }\n";
        assert_eq!(parse(yearly).as_secs(), (366 + 60 + 30) * 86_400);
        let written = format!("[daemon]\nretention = \"500d\"\n{yearly}");
        assert_eq!(parse(&written).as_secs(), 500 * 86_400);
    }

    #[test]
    fn a_webhook_timeout_defaults_to_10s_and_must_be_above_0s_and_at_most_5m() {
        let text = "url = \"http://127.0.0.1:9/a\"\n[[h]]\nurl = \"http://127.0.0.1:9/b\"\ntimeout = \"2s\"\n[[h]]\nurl = \"http://127.0.0.1:9/c\"\ntimeout = \"0s\"\n[[h]]\nurl = \"http://127.0.0.1:9/d\"\ntimeout = \"6m\"\n";
        let text = format!("[[h]]\n{text}");
        #[derive(Deserialize)]
        struct Hooks {
            h: Vec<raw::Webhook>,
        }
        let hooks: Hooks = toml::from_str(&text).unwrap();
        let mut cx = Ctx::new(Path::new("probes.toml"), &text);
        let got: Vec<Duration> = hooks
            .h
            .into_iter()
            .map(|w| webhook(&mut cx, w, 0..1, &|_| None, &here).unwrap().timeout)
            .collect();
        assert_eq!(got[0], Duration::from_secs(10));
        assert_eq!(got[1], Duration::from_secs(2));
        let m = cx.messages();
        assert_eq!(m.len(), 2, "{m:?}");
        assert!(
            m[0].starts_with("8:11 webhook timeout 0s: write a duration above 0s and at most 5m"),
            "{m:?}"
        );
        assert!(m[1].starts_with("11:11 webhook timeout 6m:"), "{m:?}");
    }
}
