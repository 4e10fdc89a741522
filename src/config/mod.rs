//! `probes.toml`: parse, validate, and turn into typed settings.
//!
//! The file is parsed once into a span-preserving tree; every table (each element of
//! `[[http]]`, `[[plan]]`, ...) is then deserialized on its own, so one bad key does not
//! hide the next, and every error names `file:line:column`. Cross-checks (duplicate
//! names, references between sections, readable secrets) run after, over everything
//! that did parse. Nothing is returned unless the whole file is valid.

mod diag;
mod duration;
mod plan;
mod raw;
mod secret;
mod validate;

pub use crate::sla::{CustomerType, FeePeriod, Plan};
pub(crate) use diag::did_you_mean;
pub use duration::{ConfigDuration, format as format_duration, parse as parse_duration};
pub use secret::{Secret, url_origin};

use crate::model::UtcMillis;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One problem in a configuration file, located precisely.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The file, as the user named it.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong and what to write instead. Never contains a secret.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

/// Every problem found in one pass, in file order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "error: {e}")?;
        }
        let n = self.0.len();
        write!(
            f,
            "{n} error{} in the configuration; nothing was changed",
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for ConfigErrors {}

/// A valid configuration.
#[derive(Debug)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    /// `[daemon]` with defaults filled in.
    pub daemon: DaemonSettings,
    /// `[[control]]` targets.
    pub controls: Vec<Control>,
    /// Every probe of every kind, in file order within each kind.
    pub probes: Vec<Probe>,
    /// `[[plan]]` tables, with their full terms.
    pub plans: Vec<Plan>,
    /// `[[contract]]` tables.
    pub contracts: Vec<Contract>,
    /// `[[maintenance]]` windows announced by providers.
    pub maintenance: Vec<Maintenance>,
    /// `[alerts]`.
    pub alerts: Alerts,
    /// `[alerts]`' damping keys (kept out of [`Alerts`], which tests build field by field).
    pub alert_damping: Damping,
    /// `[[goodwill]]`: what providers offered after an event, beyond the contract.
    pub goodwill: Vec<Goodwill>,
    /// `[members]`: defaults for an association's members (issue 13); empty when absent.
    pub members: MembersSettings,
    /// `[shared]` (issue 18): the PostgreSQL the vantages ship their evidence to;
    /// `None`: this vantage keeps its evidence in SQLite only, as before.
    pub shared: Option<SharedSettings>,
    /// Each plan's `vantages = "K of N"`, by plan id, for the contracts that state
    /// none (those of the configuration already carry it; members' contracts,
    /// built from their rows, read it here).
    pub plan_vantages: std::collections::HashMap<String, Consensus>,
}

impl Config {
    /// Finds a probe by name.
    pub fn probe(&self, name: &str) -> Option<&Probe> {
        self.probes.iter().find(|p| p.name == name)
    }

    /// The vantages that run `probe`: those its `vantages` names, or the `n` of
    /// `[shared] vantages` with the highest rendezvous weight SHA-256(vantage NUL
    /// probe) (stable: adding a vantage moves only the probes it wins), or every
    /// vantage listed; empty when `[shared] vantages` is not listed and the probe
    /// names none (every vantage runs it, whichever there are).
    pub fn vantages_of(&self, probe: &Probe) -> Vec<String> {
        let known: &[String] = self.shared.as_ref().map_or(&[], |s| s.vantages.as_slice());
        match &probe.vantages {
            ProbeVantages::All => known.to_vec(),
            ProbeVantages::Named(names) => names.clone(),
            ProbeVantages::Count(n) => {
                use sha2::{Digest, Sha256};
                let mut weighted: Vec<([u8; 32], &String)> = known
                    .iter()
                    .map(|v| {
                        let mut h = Sha256::new();
                        h.update(v.as_bytes());
                        h.update([0]);
                        h.update(probe.name.as_bytes());
                        (h.finalize().into(), v)
                    })
                    .collect();
                weighted.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
                let mut chosen: Vec<String> = weighted
                    .into_iter()
                    .take(*n as usize)
                    .map(|(_, v)| v.clone())
                    .collect();
                chosen.sort();
                chosen
            }
        }
    }

    /// Whether this vantage (`[daemon] vantage`) runs `probe`.
    pub fn runs_here(&self, probe: &Probe) -> bool {
        match &probe.vantages {
            ProbeVantages::All => true,
            _ => self.vantages_of(probe).contains(&self.daemon.vantage),
        }
    }

    /// "3 probes (http 1, imap 1, smtp 1), 2 plans, 1 contract, 1 maintenance window".
    pub fn summary(&self) -> String {
        let mut kinds: Vec<(&str, usize)> = Vec::new();
        for p in &self.probes {
            match kinds.iter_mut().find(|(k, _)| *k == p.spec.kind()) {
                Some((_, n)) => *n += 1,
                None => kinds.push((p.spec.kind(), 1)),
            }
        }
        let per_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut s = plural(self.probes.len(), "probe");
        if !per_kind.is_empty() {
            s.push_str(&format!(" ({})", per_kind.join(", ")));
        }
        s.push_str(&format!(
            ", {}, {}, {}, {}",
            plural(self.controls.len(), "control target"),
            plural(self.plans.len(), "plan"),
            plural(self.contracts.len(), "contract"),
            plural(self.maintenance.len(), "maintenance window"),
        ));
        s
    }
}

/// `[daemon]`, defaults applied.
#[derive(Debug, Clone)]
pub struct DaemonSettings {
    /// The SQLite evidence database.
    pub database: PathBuf,
    /// The name of this probing location, stored with every check.
    pub vantage: String,
    /// Defaults every probe inherits.
    pub schedule: Schedule,
    /// Checks in flight, all probes.
    pub concurrency: u32,
    /// Checks in flight against one host.
    pub per_host_concurrency: u32,
    /// Where periodic reports are written.
    pub reports_dir: PathBuf,
    /// `/metrics` and `/healthz`, off unless set.
    pub metrics_listen: Option<SocketAddr>,
    /// How long individual checks are kept; outages, incidents and coverage are kept forever.
    /// Never less than [`crate::store::MIN_RETENTION_MS`] nor the plans' longest claim
    /// horizon plus a margin (`validate::retention_floor_days`).
    pub retention: Duration,
    /// Where the daemon appends its chain checkpoints (`[daemon] checkpoint_file`),
    /// so the chain head leaves the database; none when unset.
    pub checkpoint_file: Option<PathBuf>,
    /// The local address every probe's connections and queries leave from
    /// (`[daemon] source_address`); `None`: the system picks. Several vantages on
    /// one machine (tests) or a machine with several uplinks name theirs here.
    pub source_address: Option<std::net::IpAddr>,
}

/// When and how often a probe runs, and how failures are confirmed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Time between checks.
    pub interval: Duration,
    /// Deadline of one whole check.
    pub timeout: Duration,
    /// Time between checks after a failure, until the state is confirmed.
    pub retry_interval: Duration,
    /// Consecutive failures before DOWN.
    pub confirm_down: u32,
    /// Consecutive successes before UP again.
    pub confirm_up: u32,
}

/// The defaults of `[daemon]` when the file is silent.
pub const DEFAULT_SCHEDULE: Schedule = Schedule {
    interval: Duration::from_secs(60),
    timeout: Duration::from_secs(10),
    retry_interval: Duration::from_secs(10),
    confirm_down: 2,
    confirm_up: 1,
};

/// `[[control]]`: is this machine on line? All failing at once means "unknown", not "down".
#[derive(Debug, Clone)]
pub struct Control {
    /// Unique name.
    pub name: String,
    /// What to reach.
    pub target: ControlTarget,
    /// Deadline of one check.
    pub timeout: Duration,
}

/// What a control target connects to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlTarget {
    /// A TCP connect to `host:port`.
    Tcp {
        /// Host name or IP literal.
        host: String,
        /// Port.
        port: u16,
    },
    /// An HTTP(S) GET; any response counts as on line.
    Http(String),
    /// A host name this machine's resolver always knows: when it does not resolve
    /// either, a probe's failed name lookup is this machine's resolver failing
    /// (`unknown`), not the provider's DNS. Not part of "is this machine on line?".
    Resolve(String),
}

/// One probe: a name, a schedule and what to check.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Unique across all probes and control targets: `[a-z0-9._-]`.
    pub name: String,
    /// Interval, timeout, retries and confirmation.
    pub schedule: Schedule,
    /// The protocol-specific settings.
    pub spec: ProbeSpec,
    /// Which vantages run it (`vantages` of the probe table, issue 18).
    pub vantages: ProbeVantages,
}

/// `vantages` of a probe table: which vantages run the probe. The daemon of a
/// vantage schedules only the probes that name it (`Config::runs_here`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ProbeVantages {
    /// Every vantage (the default, and the only choice without `[shared]`).
    #[default]
    All,
    /// The vantages named (each one of `[shared] vantages`).
    Named(Vec<String>),
    /// This many of `[shared] vantages`, chosen by the probe's name (rendezvous
    /// hashing: stable when vantages are added or removed).
    Count(u32),
}

/// `vantages = "K of N"` of a contract or plan (issue 18): a moment counts as down
/// when at least `k` of the vantages that were measuring saw the service down; when
/// fewer than `k` were measuring it is no data. `n` is how many vantages the
/// contract expects to probe it (stated, and checked against `[shared] vantages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Consensus {
    /// Vantages that must see the service down at once.
    pub k: u32,
    /// Vantages expected to probe it.
    pub n: u32,
}

impl Consensus {
    /// Parses `"2 of 3"`; `k` at least 1 and at most `n`.
    ///
    /// # Errors
    /// What to write instead, for the configuration's error message.
    pub fn parse(text: &str) -> Result<Consensus, String> {
        let bad =
            || format!("vantages '{text}' must be \"K of N\" with 1 <= K <= N, such as \"2 of 3\"");
        let (k, n) = text.trim().split_once(" of ").ok_or_else(bad)?;
        let k: u32 = k.trim().parse().map_err(|_| bad())?;
        let n: u32 = n.trim().parse().map_err(|_| bad())?;
        if k == 0 || k > n {
            return Err(bad());
        }
        Ok(Consensus { k, n })
    }
}

impl std::fmt::Display for Consensus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} of {}", self.k, self.n)
    }
}

/// `[shared]` (issue 18): the PostgreSQL the vantages ship their sealed evidence to
/// and `--shared` commands read from.
#[derive(Debug, Clone)]
pub struct SharedSettings {
    /// `postgres://USER@HOST[:PORT]/DB[?sslmode=...]`, never holding a password.
    pub url: String,
    /// From `password_env` or `password_file`.
    pub password: Option<Secret>,
    /// PEM roots the server's certificate must chain to (`ca_file`); `None`: the
    /// system's roots.
    pub ca_file: Option<PathBuf>,
    /// Every vantage's name (`vantages`), for probes spread by count; empty: unknown.
    pub vantages: Vec<String>,
}

/// The protocol-specific settings of a probe.
#[derive(Debug, Clone)]
pub enum ProbeSpec {
    /// `[[http]]`
    Http(HttpSpec),
    /// `[[dns]]`
    Dns(DnsSpec),
    /// `[[tcp]]`
    Tcp(TcpSpec),
    /// `[[imap]]`
    Imap(ImapSpec),
    /// `[[pop3]]`
    Pop3(Pop3Spec),
    /// `[[smtp]]`
    Smtp(SmtpSpec),
    /// `[[mailflow]]`
    Mailflow(MailflowSpec),
}

impl ProbeSpec {
    /// The table name of this kind in `probes.toml`.
    pub fn kind(&self) -> &'static str {
        match self {
            ProbeSpec::Http(_) => "http",
            ProbeSpec::Dns(_) => "dns",
            ProbeSpec::Tcp(_) => "tcp",
            ProbeSpec::Imap(_) => "imap",
            ProbeSpec::Pop3(_) => "pop3",
            ProbeSpec::Smtp(_) => "smtp",
            ProbeSpec::Mailflow(_) => "mailflow",
        }
    }

    /// How close to expiry the probe's certificate may come before it is flagged, for
    /// a probe that checks a certificate of its own (HTTPS, TCP with `tls`, IMAP, POP3
    /// and SMTP with `tls` other than `none`); `None` for one that makes no TLS
    /// handshake, and for a mail round trip (its IMAP and SMTP probes carry it).
    pub fn cert_expiry_warn(&self) -> Option<Duration> {
        let mail =
            |e: &MailEndpoint| (e.tls_mode != TlsMode::None).then_some(e.tls.cert_expiry_warn);
        match self {
            ProbeSpec::Http(h) if h.url.starts_with("https://") => Some(h.cert_expiry_warn),
            ProbeSpec::Tcp(t) => t.tls.as_ref().map(|t| t.cert_expiry_warn),
            ProbeSpec::Imap(s) => mail(&s.endpoint),
            ProbeSpec::Pop3(s) => mail(&s.endpoint),
            ProbeSpec::Smtp(s) => mail(&s.endpoint),
            ProbeSpec::Http(_) | ProbeSpec::Dns(_) | ProbeSpec::Mailflow(_) => None,
        }
    }

    /// The host this probe talks to, for per-host concurrency limits.
    pub fn host(&self) -> Option<&str> {
        match self {
            ProbeSpec::Http(h) => Some(h.host.as_str()),
            ProbeSpec::Dns(d) => d.server.as_ref().map(|_| d.server_host.as_str()),
            ProbeSpec::Tcp(t) => Some(t.host.as_str()),
            ProbeSpec::Imap(i) => Some(i.endpoint.host.as_str()),
            ProbeSpec::Pop3(p) => Some(p.endpoint.host.as_str()),
            ProbeSpec::Smtp(s) => Some(s.endpoint.host.as_str()),
            ProbeSpec::Mailflow(_) => None,
        }
    }
}

/// HTTP method of an `[[http]]` probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET (default): the body can be checked.
    Get,
    /// HEAD: status and headers only.
    Head,
}

/// Which HTTP statuses count as up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusMatcher {
    /// 200–399 when the file is silent.
    Default,
    /// Exactly these codes.
    Codes(Vec<u16>),
    /// A class: `2` for `"2xx"`.
    Class(u16),
}

impl StatusMatcher {
    /// Whether `code` counts as up.
    pub(crate) fn matches(&self, code: u16) -> bool {
        match self {
            StatusMatcher::Default => (200..400).contains(&code),
            StatusMatcher::Codes(c) => c.contains(&code),
            StatusMatcher::Class(k) => code / 100 == *k,
        }
    }
}

/// `[[http]]`
#[derive(Debug, Clone)]
pub struct HttpSpec {
    /// The URL, `http://` or `https://`.
    pub url: String,
    /// The URL's host, for per-host limits and messages.
    pub host: String,
    /// GET or HEAD.
    pub method: HttpMethod,
    /// Statuses that count as up.
    pub expect_status: StatusMatcher,
    /// A substring of the first 1 MiB of the body.
    pub expect_body: Option<String>,
    /// A regex over the first 1 MiB of the body.
    pub expect_body_regex: Option<regex::Regex>,
    /// Slower than this: up, flagged `slow`.
    pub max_response_time: Option<Duration>,
    /// Redirects followed at most; 0 = none.
    pub follow_redirects: u32,
    /// Verify the certificate chain and name.
    pub tls_verify: bool,
    /// An extra trust anchor (PEM), resolved against the config file's folder.
    pub ca_file: Option<PathBuf>,
    /// A certificate closer to expiry than this is flagged.
    pub cert_expiry_warn: Duration,
    /// Extra request headers written inline (`Authorization`, `Proxy-Authorization`
    /// and `Cookie` among them are still treated as secrets on redirects).
    pub headers: Vec<(String, String)>,
    /// Header values from `headers_env` / `headers_file`: secrets, sent only to the
    /// configured URL's origin.
    pub secret_headers: Vec<(String, Secret)>,
}

/// DNS record types a `[[dns]]` probe can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordType {
    /// IPv4 address
    A,
    /// IPv6 address
    Aaaa,
    /// Mail exchanger
    Mx,
    /// Text
    Txt,
    /// Name server
    Ns,
    /// Canonical name
    Cname,
    /// Start of authority
    Soa,
    /// Certification authority authorization
    Caa,
}

impl RecordType {
    const ALL: [(&'static str, RecordType); 8] = [
        ("A", RecordType::A),
        ("AAAA", RecordType::Aaaa),
        ("MX", RecordType::Mx),
        ("TXT", RecordType::Txt),
        ("NS", RecordType::Ns),
        ("CNAME", RecordType::Cname),
        ("SOA", RecordType::Soa),
        ("CAA", RecordType::Caa),
    ];

    /// The upper-case mnemonic.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, r)| *r == self)
            .map_or("A", |(s, _)| s)
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, r)| *r)
    }
}

/// UDP or TCP for DNS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DnsTransport {
    /// UDP (default)
    Udp,
    /// TCP
    Tcp,
}

/// `[[dns]]`
#[derive(Debug, Clone)]
pub struct DnsSpec {
    /// The name asked for.
    pub query: String,
    /// The record type.
    pub record: RecordType,
    /// The server asked; `None` = the system resolver.
    pub server: Option<SocketAddr>,
    /// The server's address as text, for per-host limits.
    pub server_host: String,
    /// UDP or TCP.
    pub transport: DnsTransport,
    /// The rcode that counts as up, upper case (`NOERROR`, `NXDOMAIN`, ...).
    pub expect_rcode: String,
    /// Each must be present in the answer (as the record's text form).
    pub expect_answer: Vec<String>,
}

/// `[[tcp]]`
#[derive(Debug, Clone)]
pub struct TcpSpec {
    /// Host name or IP literal.
    pub host: String,
    /// Port.
    pub port: u16,
    /// TLS right after connecting.
    pub tls: Option<TlsSettings>,
}

/// How a TLS connection is verified.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    /// Verify chain and name.
    pub verify: bool,
    /// Extra trust anchor (PEM).
    pub ca_file: Option<PathBuf>,
    /// The name sent as SNI and checked in the certificate (default: the host).
    pub server_name: Option<String>,
    /// A certificate closer to expiry than this is flagged.
    pub cert_expiry_warn: Duration,
}

/// How a mail protocol is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// TLS from the first byte (IMAPS 993, POP3S 995, SMTPS 465).
    Implicit,
    /// Plain, then STARTTLS/STLS, required: a server that does not offer it is down.
    Starttls,
    /// No TLS at all.
    None,
}

/// A user name and its password.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The login.
    pub username: String,
    /// From `password_env` or `password_file`.
    pub password: Secret,
}

/// Where an IMAP, POP3 or SMTP server is and how to talk to it.
#[derive(Debug, Clone)]
pub struct MailEndpoint {
    /// Host name or IP literal.
    pub host: String,
    /// Port (defaults by protocol and TLS mode).
    pub port: u16,
    /// Implicit, STARTTLS or none.
    pub tls_mode: TlsMode,
    /// Verification settings when TLS is used.
    pub tls: TlsSettings,
    /// Optional login.
    pub credentials: Option<Credentials>,
}

/// `[[imap]]`
#[derive(Debug, Clone)]
pub struct ImapSpec {
    /// Server and login.
    pub endpoint: MailEndpoint,
    /// Opened read-only with EXAMINE after login.
    pub mailbox: String,
}

/// `[[pop3]]`
#[derive(Debug, Clone)]
pub struct Pop3Spec {
    /// Server and login.
    pub endpoint: MailEndpoint,
}

/// `[[smtp]]`
#[derive(Debug, Clone)]
pub struct SmtpSpec {
    /// Server and login.
    pub endpoint: MailEndpoint,
    /// The EHLO name.
    pub helo: String,
}

/// `[[mailflow]]`: send through an SMTP probe's server, find it through an IMAP probe's.
#[derive(Debug, Clone)]
pub struct MailflowSpec {
    /// The `[[smtp]]` probe to send through (has credentials).
    pub smtp: String,
    /// The `[[imap]]` probe to look in (has credentials).
    pub imap: String,
    /// Envelope and header sender.
    pub from: String,
    /// Recipient, whose mailbox the IMAP probe opens.
    pub to: String,
    /// Not arrived by then: down, class `delivery`.
    pub max_delivery: Duration,
}

/// Which of a contract's probes must be down for the service to be unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unavailability {
    /// Any one of them.
    #[default]
    Any,
    /// All of them.
    All,
    /// At least k of them.
    AtLeast(u32),
}

/// `[[contract]]`: a customer's probes bound to a plan.
#[derive(Debug, Clone, Default)]
pub struct Contract {
    /// Unique id.
    pub id: String,
    /// The `[[plan]]` id.
    pub plan: String,
    /// Who the customer is, for reports and letters.
    pub customer: Option<String>,
    /// Overrides the plan's customer type.
    pub customer_type: Option<CustomerType>,
    /// Overrides the plan's fee.
    pub fee: Option<rust_decimal::Decimal>,
    /// Overrides the plan's currency.
    pub currency: Option<String>,
    /// Overrides the plan's fee period.
    pub fee_period: Option<FeePeriod>,
    /// The probes that make up the service.
    pub probes: Vec<String>,
    /// Any, all, or k of n probes down.
    pub unavailable_when: Unavailability,
    /// First day of the contract.
    pub start: Option<jiff::civil::Date>,
    /// Day after the last day of the contract.
    pub end: Option<jiff::civil::Date>,
    /// What time with neither checks nor a recorded incident means (`unmonitored`).
    pub unmonitored: Unmonitored,
    /// Other plans (a regulator's indemnity, a competing offer) evaluated on the
    /// same timeline, by analogy, for comparison (`compare_with`).
    pub compare_with: Vec<String>,
    /// The customer's postal address, for letters (may span lines).
    pub customer_address: Option<String>,
    /// The customer code the provider gave.
    pub customer_code: Option<String>,
    /// The contract's number as the provider writes it.
    pub contract_number: Option<String>,
    /// The customer's e-mail address, for letters.
    pub customer_email: Option<String>,
    /// The provider's legal name (default: the plan's `provider`).
    pub provider_name: Option<String>,
    /// The provider's postal address (may span lines).
    pub provider_address: Option<String>,
    /// The provider's e-mail address for claims.
    pub provider_email: Option<String>,
    /// The provider's certified e-mail (PEC) address.
    pub provider_pec: Option<String>,
    /// The language of this contract's alerts (`it` or `en`); `None`: `[alerts] lang`.
    pub lang: Option<String>,
    /// `vantages = "K of N"` (issue 18); `None`: the plan's, else any one vantage.
    pub vantages: Option<Consensus>,
}

/// `unmonitored` of a `[[contract]]`: what the contract's time with neither checks
/// nor a recorded incident deciding it counts as. It replaces the plan's
/// `missing_data` for this contract only (`sla::Overrides::missing_data`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Unmonitored {
    /// The plan's `missing_data` decides (the default).
    #[default]
    Plan,
    /// Up, unless a recorded incident says otherwise: the provider's record stands.
    AsUp,
    /// Down.
    AsDown,
    /// Left out of the measured time.
    Exclude,
}

impl Unmonitored {
    /// Every value, in the order the configuration documents them.
    pub(crate) const ALL: [Unmonitored; 4] = [
        Unmonitored::Plan,
        Unmonitored::AsUp,
        Unmonitored::AsDown,
        Unmonitored::Exclude,
    ];

    /// The configuration's spelling: `plan`, `as_up`, `as_down`, `exclude`.
    pub fn as_str(self) -> &'static str {
        match self {
            Unmonitored::Plan => "plan",
            Unmonitored::AsUp => "as_up",
            Unmonitored::AsDown => "as_down",
            Unmonitored::Exclude => "exclude",
        }
    }

    /// Reads the configuration's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.as_str() == s)
    }

    /// The engine's policy this choice stands for: none keeps the plan's.
    pub(crate) fn missing_data(self) -> Option<crate::sla::plan::MissingData> {
        use crate::sla::plan::MissingData;
        match self {
            Unmonitored::Plan => None,
            Unmonitored::AsUp => Some(MissingData::AsUp),
            Unmonitored::AsDown => Some(MissingData::AsDown),
            Unmonitored::Exclude => Some(MissingData::Exclude),
        }
    }
}

/// `[members]` (issue 13): what an association's members' contracts take from the
/// configuration (`crate::members::Member::contract`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersSettings {
    /// The default language of members' letters and reports (`it` or `en`).
    pub lang: Option<String>,
    /// What members' time with no record counts as.
    pub unmonitored: Unmonitored,
    /// `[[members.provider]]`: the addressees of letters.
    pub providers: Vec<MembersProvider>,
    /// `[[members.plan]]`: per plan, comparisons and probes.
    pub plans: Vec<MembersPlan>,
}

/// `[[members.provider]]`: the addressee of members' letters, matched on the
/// member's provider (or the plan's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersProvider {
    /// The provider's name, as members' rows or the plan write it.
    pub name: String,
    /// Postal address (may span lines).
    pub address: Option<String>,
    /// E-mail address for claims.
    pub email: Option<String>,
    /// Certified e-mail (PEC) address.
    pub pec: Option<String>,
}

/// `[[members.plan]]`: what members on a plan compare with, which probes stand for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MembersPlan {
    /// The `[[plan]]` id.
    pub plan: String,
    /// Other plans evaluated on the same timeline (a regulation).
    pub compare_with: Vec<String>,
    /// Probes that stand for the service; none: all time is unmonitored.
    pub probes: Vec<String>,
}

/// `[[goodwill]]`: a remedy a provider offered after an event, beyond the contract.
/// Reports value it in money next to what the contract owes (`report::compare`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goodwill {
    /// What happened: "Arezzo data-centre fire".
    pub event: String,
    /// The event's date (local date, in the plan's zone).
    pub date: jiff::civil::Date,
    /// When the provider offered it.
    pub announced: Option<jiff::civil::Date>,
    /// The contracts it applies to.
    pub contracts: Vec<String>,
    /// The plans it applies to (every contract on them).
    pub plans: Vec<String>,
    /// Free days of service.
    pub extension_days: Option<u32>,
    /// Money, in the contract's currency.
    pub amount: Option<rust_decimal::Decimal>,
    /// A service given, shown but not valued: "Business Mail".
    pub upgrade: Option<String>,
    /// Where it was announced.
    pub source: Option<String>,
    /// Free text.
    pub note: Option<String>,
}

impl Goodwill {
    /// Whether it names `contract` or the contract's plan.
    pub(crate) fn names(&self, contract: &Contract) -> bool {
        self.contracts.contains(&contract.id) || self.plans.contains(&contract.plan)
    }
}

/// `[[maintenance]]`: a window announced by the provider.
#[derive(Debug, Clone)]
pub struct Maintenance {
    /// Contracts it applies to.
    pub contracts: Vec<String>,
    /// Probes it applies to.
    pub probes: Vec<String>,
    /// Start (inclusive).
    pub start: UtcMillis,
    /// End (exclusive).
    pub end: UtcMillis,
    /// When it was announced.
    pub announced_at: Option<UtcMillis>,
    /// Free text.
    pub note: Option<String>,
}

/// `[alerts]`
#[derive(Debug, Clone, Default)]
pub struct Alerts {
    /// The language of alerts whose contracts do not say (`it` or `en`); `None`: English.
    pub lang: Option<String>,
    /// `[alerts.email]`
    pub email: Option<EmailAlerts>,
    /// `[[alerts.webhook]]`
    pub webhooks: Vec<Webhook>,
}

/// `[alerts]` `flap_changes`, `flap_window`, `digest_window`, `digest_min`: how
/// alerts are damped (`crate::alert::policy`, docs/alerts.md "When slawatch alerts").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damping {
    /// This many state changes of one probe within `flap_window`: it is flapping.
    pub flap_changes: u32,
    /// The flap window; also how long a flapping probe must hold its state to be
    /// stable again, and the least time between two of its summaries.
    pub flap_window: Duration,
    /// How long DOWN and UP alerts are held to gather a digest; zero: never held.
    pub digest_window: Duration,
    /// At least this many alerts of one group held in a window: one digest.
    pub digest_min: u32,
}

impl Default for Damping {
    fn default() -> Damping {
        Damping {
            flap_changes: 3,
            flap_window: Duration::from_secs(600),
            digest_window: Duration::from_secs(30),
            digest_min: 5,
        }
    }
}

/// `[alerts.email]`
#[derive(Clone)]
pub struct EmailAlerts {
    /// `smtps://host:465` or `smtp://host:587` (STARTTLS).
    pub smtp_url: String,
    /// Login, with `password`.
    pub username: Option<String>,
    /// From `password_env` or `password_file`.
    pub password: Option<Secret>,
    /// Sender.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// A CA (PEM) trusted besides the system's, for a server with a private CA.
    pub ca_file: Option<PathBuf>,
}

/// Shows `smtp_url` by its origin only: its userinfo may hold a password.
impl fmt::Debug for EmailAlerts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmailAlerts")
            .field("smtp_url", &url_origin(&self.smtp_url))
            .field("username", &self.username)
            .field("password", &self.password)
            .field("from", &self.from)
            .field("to", &self.to)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// `[[alerts.webhook]]`
#[derive(Debug, Clone)]
pub struct Webhook {
    /// Where the JSON is POSTed: `url`, or from `url_env` / `url_file` when it holds
    /// a token. Held as a secret; logs name a webhook by number and origin
    /// ([`secret::url_origin`]).
    pub url: Secret,
    /// The signing secret from `secret_env` / `secret_file`.
    pub secret: Option<Secret>,
    /// Extra headers.
    pub headers: Vec<(String, String)>,
    /// `timeout`: one attempt's limit, from connecting to the end of the answer
    /// (default [`WEBHOOK_TIMEOUT`]).
    pub timeout: Duration,
}

/// A webhook's `timeout` when it gives none.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest webhook `timeout` accepted: one slow receiver must not hold a
/// delivery slot for long.
pub(crate) const WEBHOOK_TIMEOUT_MAX: Duration = Duration::from_secs(300);

/// Where the process gets environment variables; tests inject their own.
pub(crate) type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Reads and validates a configuration file, with the process environment for
/// `password_env` and `$STATE_DIRECTORY`.
pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    load_with_env(path, &|k| std::env::var(k).ok())
}

/// [`load`] with an injected environment.
pub fn load_with_env(path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("cannot read the configuration file: {e}"),
        }])
    })?;
    parse_str(&text, path, env)
}

/// Reads the `[[plan]]` tables of a file (a probes.toml or a plan catalogue) and
/// nothing else: `slawatch sla` and `slawatch plans` need no probes or secrets.
pub fn load_plans(path: &Path) -> Result<Vec<Plan>, ConfigErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigErrors(vec![ConfigError {
            file: path.to_path_buf(),
            line: 1,
            column: 1,
            message: format!("cannot read the plans file: {e}"),
        }])
    })?;
    validate::parse_plans(&text, path)
}

/// Validates configuration text as if read from `path` (relative paths in it are
/// resolved against `path`'s folder).
pub fn parse_str(text: &str, path: &Path, env: EnvLookup<'_>) -> Result<Config, ConfigErrors> {
    validate::parse(text, path, env)
}

/// The value the environment gives every variable in [`fuzz_config`]: no error
/// message may quote it.
const FUZZ_SECRET: &str = "fuzz-planted-secret-7f3a";

/// Fuzz entry point of `fuzz/fuzz_targets/config.rs`: `data` is a `probes.toml`
/// (decoded lossily), validated as `/nonexistent/slawatch-fuzz/probes.toml` with
/// an environment that sets every variable to a planted secret, then its plans
/// alone as `load_plans` reads them. Either the text is valid, or every error is
/// located inside it (line and column of a character of the text, or just past
/// its end), names the file, says something, and quotes no secret. Returns the
/// number of errors.
///
/// # Panics
/// If an invariant breaks, which is what the fuzzer looks for.
#[doc(hidden)]
pub fn fuzz_config(data: &[u8]) -> usize {
    let text = String::from_utf8_lossy(data);
    let path = Path::new("/nonexistent/slawatch-fuzz/probes.toml");
    let env = |_: &str| Some(FUZZ_SECRET.to_owned());
    let lines: Vec<usize> = text.split('\n').map(|l| l.chars().count()).collect();
    let mut count = 0;
    for result in [
        parse_str(&text, path, &env).err(),
        validate::parse_plans(&text, path).err(),
    ] {
        let Some(errors) = result else { continue };
        assert!(!errors.0.is_empty(), "an empty error list");
        for e in &errors.0 {
            assert_eq!(e.file, path, "{e}");
            assert!(
                e.line >= 1 && e.line <= lines.len(),
                "{e}: the text has {} lines",
                lines.len()
            );
            assert!(
                e.column >= 1 && e.column <= lines[e.line - 1] + 1,
                "{e}: line {} has {} characters",
                e.line,
                lines[e.line - 1]
            );
            assert!(!e.message.trim().is_empty(), "{e}");
            assert!(!e.message.contains(FUZZ_SECRET), "{e}");
        }
        assert!(!errors.to_string().contains(FUZZ_SECRET));
        count += errors.0.len();
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of `fuzz/corpus/<target>/` (the findings are kept there).
    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|f| std::fs::read(f.unwrap().path()).unwrap())
            .collect();
        assert!(
            seeds.len() >= 10,
            "only {} seeds in {}",
            seeds.len(),
            dir.display()
        );
        seeds
    }

    /// A new target without a corpus replayed on stable would be fuzzed and then
    /// forgotten: every target is listed here, and each list entry is replayed by
    /// a unit test (`probe::wire`, `store::digest` and this module).
    #[test]
    fn every_fuzz_target_has_a_replayed_corpus() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        let mut targets: Vec<String> = std::fs::read_dir(root.join("fuzz_targets"))
            .unwrap()
            .map(|f| {
                f.unwrap()
                    .path()
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        targets.sort();
        let replayed = [
            "canonical_line",
            "config",
            "imap_response",
            "lines",
            "pop3",
            "smtp_reply",
            "timeline",
        ];
        assert_eq!(targets, replayed);
        for t in replayed {
            assert!(root.join("corpus").join(t).is_dir(), "no corpus for {t}");
        }
    }

    #[test]
    fn fuzz_corpus_config_replays() {
        let errors: usize = corpus("config").iter().map(|s| fuzz_config(s)).sum();
        assert!(errors > 0, "no seed exercised an error");
    }

    /// The timeline target's replay lives here, not in `sla`: its plans are read
    /// with `load_plans`, and the engine may not import `config`.
    #[test]
    fn fuzz_corpus_timeline_replays() {
        let plans =
            load_plans(&Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/plans.toml")).unwrap();
        assert_eq!(plans.len(), 21);
        let incidents: usize = corpus("timeline")
            .iter()
            .map(|s| crate::sla::timeline::fuzz_timeline(s, &plans))
            .sum();
        assert!(incidents > 0, "no seed held an incident");
    }
}
