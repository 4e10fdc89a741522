//! `slawatch init`: a commented starter probes.toml for one site and one mailbox, from
//! flags, asking nothing. The file it writes passes `slawatch check-config` as it is
//! (tests hold it to that) and says in its comments what to do next.
//!
//! Invariant: no secret is ever written: the mailbox password is named by
//! `password_env` or `password_file`, never inline.

use super::CliError;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

/// Write a commented starter probes.toml for a site and a mailbox.
#[derive(Debug, clap::Args)]
#[command(
    group = clap::ArgGroup::new("services").required(true).multiple(true).args(["site", "imap", "smtp"]),
    after_help = "Examples:\n  \
    slawatch init --site https://shop.example.test/ --provider \"Example Hosting\"\n  \
    slawatch init --site https://shop.example.test/ --imap mail.example.test \\\n      \
    --smtp smtp.example.test --user probe@example.test --password-env MAILBOX_PASSWORD \\\n      \
    --provider \"Example Hosting\" --plan hosting-pro --target 99.9 --fee 9.99\n  \
    slawatch init --imap mail.example.test:143 --user probe@example.test \\\n      \
    --password-file /etc/slawatch/mailbox.password --out /etc/slawatch/probes.toml\n\n\
    Nothing is asked and no server is contacted. The file names the password with \
    password_env or password_file, never inline. Then: `slawatch check-config --config FILE`, \
    and `slawatch run` under systemd/slawatch.service. Every plan key is described in \
    docs/plans.md. Exit status: 0 written, 2 bad flags or FILE exists (add --force)."
)]
pub(super) struct Args {
    /// A web page to watch (http:// or https://); repeat for several.
    #[arg(long, value_name = "URL")]
    site: Vec<String>,
    /// The IMAP server of the mailbox: HOST or HOST:PORT (993 implicit TLS by default;
    /// any other port uses STARTTLS).
    #[arg(long, value_name = "HOST[:PORT]")]
    imap: Option<String>,
    /// The SMTP submission server: HOST or HOST:PORT (587 STARTTLS by default; 465 is
    /// implicit TLS).
    #[arg(long, value_name = "HOST[:PORT]")]
    smtp: Option<String>,
    /// The mailbox login; without it the mail probes check greeting and TLS only.
    #[arg(long, value_name = "LOGIN", requires = "password")]
    user: Option<String>,
    /// The environment variable that holds the mailbox password.
    #[arg(long, value_name = "NAME", group = "password", requires = "user")]
    password_env: Option<String>,
    /// A file that holds the mailbox password, relative to FILE's directory
    /// ("$CREDENTIALS_DIRECTORY/NAME" under systemd's LoadCredential=).
    #[arg(long, value_name = "FILE", group = "password", requires = "user")]
    password_file: Option<String>,
    /// The provider's name, as on its contract.
    #[arg(long, value_name = "NAME", default_value = "My provider")]
    provider: String,
    /// The plan's id: lower-case letters, digits, '.', '_', '-'.
    #[arg(long, value_name = "ID", default_value = "my-plan")]
    plan: String,
    /// The availability the plan promises, in percent.
    #[arg(long, value_name = "PERCENT", default_value = "99.9")]
    target: String,
    /// The fee you pay per month.
    #[arg(long, value_name = "AMOUNT", default_value = "10.00")]
    fee: String,
    /// The fee's currency (ISO 4217).
    #[arg(long, value_name = "CODE", default_value = "EUR")]
    currency: String,
    /// The time zone the billing months are counted in (IANA name).
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    timezone: String,
    /// Where this machine probes from; stored with every check.
    #[arg(long, value_name = "NAME", default_value = "my-office")]
    vantage: String,
    /// Where to write the file; `-` prints it instead.
    #[arg(long, short = 'o', value_name = "FILE", default_value = "probes.toml")]
    out: PathBuf,
    /// Overwrite FILE if it exists.
    #[arg(long)]
    force: bool,
}

pub(super) fn run(a: Args) -> Result<(), CliError> {
    let text = render(&a).map_err(CliError::bad)?;
    if a.out.as_os_str() == "-" {
        print!("{text}");
        return Ok(());
    }
    let mut open = std::fs::OpenOptions::new();
    open.write(true);
    if a.force {
        open.create(true).truncate(true);
    } else {
        open.create_new(true);
    }
    let written = open
        .open(&a.out)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            let out = a.out.display();
            println!("wrote {out}");
            if let Some(var) = &a.password_env {
                println!("next: export {var}=... (the mailbox password), then");
            }
            println!("next: slawatch check-config --config {out}");
            println!("then: slawatch run --config {out} (under systemd: systemd/slawatch.service)");
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(CliError::bad(format!(
            "{} already exists: add --force to overwrite it, or write elsewhere with --out FILE",
            a.out.display()
        ))),
        Err(e) => Err(CliError::bad(format!(
            "{}: {e}: name a file in an existing directory you can write to with --out FILE",
            a.out.display()
        ))),
    }
}

/// A TOML basic string, quoted and escaped.
fn q(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// `HOST` or `HOST:PORT` (an IPv6 literal in brackets).
fn host_port(flag: &str, v: &str) -> Result<(String, Option<u16>), String> {
    let bad =
        || format!("--{flag} '{v}': write a host name such as mail.example.test, or HOST:PORT");
    let (host, port) = match v.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') || h.ends_with(']') => {
            let port = p.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(bad)?;
            (h, Some(port))
        }
        _ => (v, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() || host.contains(['/', ' ', '@']) {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

fn check_decimal(flag: &str, v: &str, example: &str) -> Result<(), String> {
    let ok = v
        .parse::<rust_decimal::Decimal>()
        .is_ok_and(|d| !d.is_sign_negative());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "--{flag} '{v}' is not a decimal number: write e.g. {example}"
        ))
    }
}

fn render(a: &Args) -> Result<String, String> {
    if a.plan.is_empty()
        || !a
            .plan
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(format!(
            "--plan '{}': an id is lower-case letters, digits, '.', '_' and '-', e.g. hosting-pro",
            a.plan
        ));
    }
    check_decimal("target", &a.target, "99.9")?;
    check_decimal("fee", &a.fee, "9.99")?;
    if a.target
        .parse::<rust_decimal::Decimal>()
        .is_ok_and(|t| t > rust_decimal::Decimal::ONE_HUNDRED)
    {
        return Err(format!(
            "--target '{}' is above 100 %: write e.g. 99.9",
            a.target
        ));
    }
    if !(a.currency.len() == 3 && a.currency.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(format!(
            "--currency '{}': write an ISO 4217 code in capitals, e.g. EUR or USD",
            a.currency
        ));
    }
    if jiff::tz::TimeZone::get(&a.timezone).is_err() {
        return Err(format!(
            "--timezone '{}' is not a known time zone: write an IANA name, e.g. Europe/Rome or UTC",
            a.timezone
        ));
    }
    if let Some(var) = &a.password_env {
        let ok = !var.is_empty()
            && !var.starts_with(|c: char| c.is_ascii_digit())
            && var.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !ok {
            return Err(format!(
                "--password-env '{var}' is not an environment variable name: write e.g. MAILBOX_PASSWORD"
            ));
        }
    }
    for url in &a.site {
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            return Err(format!(
                "--site '{url}': write the page's full URL, e.g. https://shop.example.test/"
            ));
        }
    }
    let imap = a
        .imap
        .as_deref()
        .map(|v| host_port("imap", v))
        .transpose()?;
    let smtp = a
        .smtp
        .as_deref()
        .map(|v| host_port("smtp", v))
        .transpose()?;

    // The file's own name, for the commands its comments show.
    let file = if a.out.as_os_str() == "-" {
        "probes.toml".to_owned()
    } else {
        a.out.display().to_string()
    };
    // A second, deeper band only when it sits below the target.
    let deep = rust_decimal::Decimal::from(95);
    let tiers = if a
        .target
        .parse::<rust_decimal::Decimal>()
        .is_ok_and(|t| t > deep)
    {
        format!(
            "[{{ below = {}, pct = \"10\" }}, {{ below = \"95\", pct = \"25\" }}]",
            q(&a.target)
        )
    } else {
        format!("[{{ below = {}, pct = \"10\" }}]", q(&a.target))
    };
    let mut t = String::new();
    let w = &mut t;
    // Writing to a String cannot fail.
    let _ = writeln!(
        w,
        "# probes.toml: what slawatch watches, and the contract it holds {} to.\n\
         # Written by `slawatch init`; edit freely: every section is commented.\n\
         #\n\
         # Next steps:\n\
         #   1. Check it (every mistake at once, with line and column):\n\
         #        slawatch check-config --config {file}\n\
         #   2. Try one probe now and see each phase:\n\
         #        slawatch probe NAME --config {file}\n\
         #   3. Run it for good under systemd (systemd/slawatch.service of the slawatch\n\
         #      repository says how to install it): copy this file to\n\
         #      /etc/slawatch/probes.toml, then\n\
         #        systemctl enable --now slawatch\n\
         #      Under systemd, give the password with LoadCredential=mailbox-password:FILE\n\
         #      and write password_file = \"$CREDENTIALS_DIRECTORY/mailbox-password\".\n\
         #\n\
         # Durations are \"30s\", \"5m\", \"1h 30m\", \"14d\". Secrets never go in this file:\n\
         # password_env names an environment variable, password_file a file.",
        a.provider.replace('\n', " "),
    );
    let _ = writeln!(
        w,
        "\n[daemon]\n\
         # Where the evidence goes: left out, $STATE_DIRECTORY/slawatch.db under systemd and\n\
         # slawatch.db next to this file otherwise (check-config prints the path).\n\
         # database = \"/var/lib/slawatch/slawatch.db\"\n\
         vantage = {}   # where this machine probes from; stored with every check\n\
         interval = \"60s\"           # how often each probe runs\n\
         timeout = \"10s\"\n\
         retry_interval = \"10s\"     # after a failure, check again this soon\n\
         confirm_down = 2           # consecutive failures before a service is DOWN\n\
         confirm_up = 1",
        q(&a.vantage)
    );
    let _ = writeln!(
        w,
        "\n# Is this machine itself on line? When every control target fails at once, checks\n\
         # are \"unknown\" (no data), never the provider's downtime. Name targets that do NOT\n\
         # depend on the provider: your router, another network's host, a name your resolver\n\
         # always knows. Without any, a fault on this side may be held against the provider.\n\
         # [[control]]\n\
         # name = \"control-gateway\"\n\
         # tcp = \"gateway.example.test:443\"\n\
         # [[control]]\n\
         # name = \"control-dns\"\n\
         # resolve = \"www.example.test\""
    );

    let mut site_probes = Vec::new();
    for (i, url) in a.site.iter().enumerate() {
        let name = if i == 0 {
            "site".to_owned()
        } else {
            format!("site-{}", i + 1)
        };
        let _ = writeln!(
            w,
            "\n[[http]]\n\
             name = {}\n\
             url = {}\n\
             expect_status = \"2xx\"\n\
             # expect_body = \"Shop\"        # the page must really be yours, not a parking page\n\
             max_response_time = \"3s\"      # slower still counts as up, flagged \"slow\"\n\
             cert_expiry_warn = \"14d\"",
            q(&name),
            q(url)
        );
        site_probes.push(name);
    }

    let login = |w: &mut String| {
        if let Some(user) = &a.user {
            let _ = writeln!(w, "username = {}", q(user));
            if let Some(var) = &a.password_env {
                let _ = writeln!(
                    w,
                    "password_env = {}   # the password is read from this variable",
                    q(var)
                );
            }
            if let Some(file) = &a.password_file {
                let _ = writeln!(
                    w,
                    "password_file = {}   # the password is read from this file",
                    q(file)
                );
            }
        } else {
            let _ = writeln!(
                w,
                "# Add username and password_env (or password_file) to log in, not just greet:\n\
                 # username = \"probe@example.test\"\n\
                 # password_env = \"MAILBOX_PASSWORD\""
            );
        }
    };
    let mut mail_probes = Vec::new();
    if let Some((host, port)) = &imap {
        let port = port.unwrap_or(993);
        let tls = if port == 993 { "implicit" } else { "starttls" };
        let _ = writeln!(
            w,
            "\n[[imap]]\n\
             name = \"mail-imap\"\n\
             host = {}\n\
             port = {port}\n\
             tls = \"{tls}\"",
            q(host)
        );
        login(w);
        mail_probes.push("mail-imap");
    }
    if let Some((host, port)) = &smtp {
        let port = port.unwrap_or(587);
        let tls = if port == 465 { "implicit" } else { "starttls" };
        let _ = writeln!(
            w,
            "\n[[smtp]]\n\
             name = \"mail-smtp\"\n\
             host = {}\n\
             port = {port}\n\
             tls = \"{tls}\"             # a server that stops offering STARTTLS is DOWN, not plain",
            q(host)
        );
        login(w);
        mail_probes.push("mail-smtp");
    }
    if imap.is_some() && smtp.is_some() {
        let to = a.user.as_deref().unwrap_or("probe@example.test");
        let _ = writeln!(
            w,
            "\n# End to end: send a message through SMTP and see it arrive over IMAP (needs the\n\
             # login above). Uncomment to use it.\n\
             # [[mailflow]]\n\
             # name = \"mail-roundtrip\"\n\
             # smtp = \"mail-smtp\"\n\
             # imap = \"mail-imap\"\n\
             # from = {to}\n\
             # to = {to}\n\
             # max_delivery = \"5m\"\n\
             # interval = \"15m\"\n\
             # timeout = \"5m\"",
            to = q(to)
        );
    }

    let _ = writeln!(
        w,
        "\n# The provider's published terms. Copy them from the contract: docs/plans.md in the\n\
         # slawatch repository describes every key and credit scheme, with examples.\n\
         # `slawatch plans --plans {file}` reads the plan back in one line.\n\
         [[plan]]\n\
         id = {id}\n\
         provider = {provider}\n\
         service = \"Hosting and mail\"\n\
         verified = \"synthetic\"         # text | partial | memory | synthetic: how firm these terms are\n\
         currency = {currency}\n\
         fee = {fee}                  # per month\n\
         window.kind = \"calendar_month\"\n\
         window.timezone = {tz}\n\
         objective.target = {target}      # percent\n\
         measurement.method = \"time\"\n\
         credit.scheme = \"tiered_percent\"  # a share of the fee, by how low availability fell\n\
         credit.tiers = {tiers}\n\
         credit.cap_pct_of_fee = \"100\"\n\
         claim.deadline = {{ kind = \"days_after_period_end\", days = 30 }}",
        id = q(&a.plan),
        provider = q(&a.provider),
        currency = q(&a.currency),
        fee = q(&a.fee),
        tz = q(&a.timezone),
        target = q(&a.target),
    );
    let list = |names: &[String]| names.iter().map(|n| q(n)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        w,
        "\n# A contract binds your probes to the plan, with the fee you actually pay.\n\
         # unavailable_when: any | all | \"2 of 3\" (how many probes down make the service down)."
    );
    if !site_probes.is_empty() {
        let _ = writeln!(
            w,
            "[[contract]]\n\
             id = \"site\"\n\
             plan = {}\n\
             probes = [{}]\n\
             unavailable_when = \"any\"",
            q(&a.plan),
            list(&site_probes)
        );
    }
    if !mail_probes.is_empty() {
        let names: Vec<String> = mail_probes.iter().map(|s| (*s).to_owned()).collect();
        let _ = writeln!(
            w,
            "{}[[contract]]\n\
             id = \"mail\"\n\
             plan = {}\n\
             probes = [{}]\n\
             unavailable_when = \"any\"",
            if site_probes.is_empty() { "" } else { "\n" },
            q(&a.plan),
            list(&names)
        );
    }
    Ok(t)
}
