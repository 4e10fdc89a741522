//! The serde mirror of `probes.toml`, one struct per table, unknown keys rejected.
//!
//! Each array element is deserialized on its own (see `config::load`), so a bad key in
//! the second `[[http]]` is reported at its own line and the other elements are still
//! checked. Fields that later cross-checks point at are `Spanned`.

use super::duration::ConfigDuration;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

/// `[daemon]`: where the evidence goes and the defaults every probe inherits.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Daemon {
    pub(super) database: Option<String>,
    pub(super) vantage: Option<String>,
    pub(super) interval: Option<Spanned<ConfigDuration>>,
    pub(super) timeout: Option<Spanned<ConfigDuration>>,
    pub(super) retry_interval: Option<Spanned<ConfigDuration>>,
    pub(super) confirm_down: Option<Spanned<u32>>,
    pub(super) confirm_up: Option<Spanned<u32>>,
    pub(super) concurrency: Option<Spanned<u32>>,
    pub(super) per_host_concurrency: Option<Spanned<u32>>,
    pub(super) reports_dir: Option<String>,
    pub(super) metrics_listen: Option<Spanned<String>>,
    pub(super) retention: Option<Spanned<ConfigDuration>>,
    pub(super) checkpoint_file: Option<String>,
    pub(super) source_address: Option<Spanned<String>>,
}

/// What every probe table has: its name and the schedule overrides written in it.
pub(super) trait ProbeTable {
    fn name(&self) -> &Spanned<String>;
    fn schedule(&self) -> Schedule<'_>;
    /// `vantages`: a list of vantage names or a count (issue 18).
    fn vantages(&self) -> Option<&Spanned<toml::Value>>;
}

/// Declares a probe table: its own fields, then the schedule keys every probe may
/// override, and (with `mail`) the keys IMAP, POP3 and SMTP share. Written as a macro
/// because serde's `flatten` cannot be combined with `deny_unknown_fields`.
macro_rules! probe_table {
    (@emit $(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub(super) struct $name {
            pub(super) name: Spanned<String>,
            $(pub(super) $field: $ty,)*
            pub(super) interval: Option<Spanned<ConfigDuration>>,
            pub(super) timeout: Option<Spanned<ConfigDuration>>,
            pub(super) retry_interval: Option<Spanned<ConfigDuration>>,
            pub(super) confirm_down: Option<Spanned<u32>>,
            pub(super) confirm_up: Option<Spanned<u32>>,
            pub(super) vantages: Option<Spanned<toml::Value>>,
        }

        impl ProbeTable for $name {
            fn name(&self) -> &Spanned<String> {
                &self.name
            }

            fn vantages(&self) -> Option<&Spanned<toml::Value>> {
                self.vantages.as_ref()
            }

            fn schedule(&self) -> Schedule<'_> {
                Schedule {
                    interval: self.interval.as_ref(),
                    timeout: self.timeout.as_ref(),
                    retry_interval: self.retry_interval.as_ref(),
                    confirm_down: self.confirm_down.as_ref(),
                    confirm_up: self.confirm_up.as_ref(),
                }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty,)* } mail) => {
        probe_table!(@emit $(#[$doc])* $name {
            $($field: $ty,)*
            host: Spanned<String>,
            port: Option<u16>,
            tls: Option<Spanned<String>>,
            tls_verify: Option<bool>,
            ca_file: Option<Spanned<String>>,
            server_name: Option<String>,
            username: Option<Spanned<String>>,
            password: Option<Spanned<toml::Value>>,
            password_env: Option<Spanned<String>>,
            password_file: Option<Spanned<String>>,
        });

        impl $name {
            /// The keys IMAP, POP3 and SMTP share.
            pub(super) fn mail(&self) -> Mail<'_> {
                Mail {
                    host: &self.host,
                    port: self.port,
                    tls: self.tls.as_ref(),
                    tls_verify: self.tls_verify,
                    ca_file: self.ca_file.as_ref(),
                    server_name: self.server_name.as_deref(),
                    username: self.username.as_ref(),
                    password: self.password.as_ref(),
                    password_env: self.password_env.as_ref(),
                    password_file: self.password_file.as_ref(),
                }
            }
        }
    };
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty,)* }) => {
        probe_table!(@emit $(#[$doc])* $name { $($field: $ty,)* });
    };
}

/// The keys IMAP, POP3 and SMTP share, borrowed from their table.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mail<'a> {
    pub(super) host: &'a Spanned<String>,
    pub(super) port: Option<u16>,
    pub(super) tls: Option<&'a Spanned<String>>,
    pub(super) tls_verify: Option<bool>,
    pub(super) ca_file: Option<&'a Spanned<String>>,
    pub(super) server_name: Option<&'a str>,
    pub(super) username: Option<&'a Spanned<String>>,
    /// Present only to be refused with a clear message: secrets are never inline.
    pub(super) password: Option<&'a Spanned<toml::Value>>,
    pub(super) password_env: Option<&'a Spanned<String>>,
    pub(super) password_file: Option<&'a Spanned<String>>,
}

/// Per-probe overrides of the `[daemon]` defaults, borrowed from a probe table.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Schedule<'a> {
    pub(super) interval: Option<&'a Spanned<ConfigDuration>>,
    pub(super) timeout: Option<&'a Spanned<ConfigDuration>>,
    pub(super) retry_interval: Option<&'a Spanned<ConfigDuration>>,
    pub(super) confirm_down: Option<&'a Spanned<u32>>,
    pub(super) confirm_up: Option<&'a Spanned<u32>>,
}

/// `[[control]]`: a target that tells whether this machine itself is on line.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Control {
    pub(super) name: Spanned<String>,
    pub(super) tcp: Option<Spanned<String>>,
    pub(super) http: Option<Spanned<String>>,
    pub(super) resolve: Option<Spanned<String>>,
    pub(super) timeout: Option<Spanned<ConfigDuration>>,
}

/// `expect_status`: a list of codes or a class such as `"2xx"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(super) enum ExpectStatus {
    Codes(Vec<u16>),
    Class(String),
}

probe_table!(
    /// `[[http]]`
    Http {
        url: Spanned<String>,
        method: Option<Spanned<String>>,
        expect_status: Option<Spanned<ExpectStatus>>,
        expect_body: Option<String>,
        expect_body_regex: Option<Spanned<String>>,
        max_response_time: Option<ConfigDuration>,
        follow_redirects: Option<u32>,
        tls_verify: Option<bool>,
        ca_file: Option<Spanned<String>>,
        cert_expiry_warn: Option<ConfigDuration>,
        headers: Option<Spanned<BTreeMap<String, String>>>,
        headers_env: Option<Spanned<BTreeMap<String, String>>>,
        headers_file: Option<Spanned<BTreeMap<String, String>>>,
    }
);

probe_table!(
    /// `[[dns]]`
    Dns {
        query: Spanned<String>,
        record: Option<Spanned<String>>,
        server: Option<Spanned<String>>,
        transport: Option<Spanned<String>>,
        expect_rcode: Option<Spanned<String>>,
        expect_answer: Option<Vec<String>>,
    }
);

probe_table!(
    /// `[[tcp]]`
    Tcp {
        target: Spanned<String>,
        tls: Option<bool>,
        tls_verify: Option<bool>,
        ca_file: Option<Spanned<String>>,
        server_name: Option<String>,
        cert_expiry_warn: Option<ConfigDuration>,
    }
);

probe_table!(
    /// `[[imap]]`
    Imap {
        mailbox: Option<String>,
    }
    mail
);

probe_table!(
    /// `[[pop3]]`
    Pop3 {}
    mail
);

probe_table!(
    /// `[[smtp]]`
    Smtp {
        helo: Option<String>,
    }
    mail
);

probe_table!(
    /// `[[mailflow]]`
    Mailflow {
        smtp: Spanned<String>,
        imap: Spanned<String>,
        from: String,
        to: String,
        max_delivery: Option<ConfigDuration>,
    }
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Contract {
    pub(super) id: Spanned<String>,
    pub(super) plan: Spanned<String>,
    pub(super) customer: Option<String>,
    pub(super) customer_type: Option<Spanned<String>>,
    pub(super) fee: Option<Spanned<String>>,
    pub(super) currency: Option<String>,
    pub(super) fee_period: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) probes: Vec<Spanned<String>>,
    pub(super) unavailable_when: Option<Spanned<String>>,
    pub(super) start: Option<Spanned<String>>,
    pub(super) end: Option<Spanned<String>>,
    pub(super) unmonitored: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) compare_with: Vec<Spanned<String>>,
    pub(super) customer_address: Option<Spanned<String>>,
    pub(super) customer_code: Option<Spanned<String>>,
    pub(super) contract_number: Option<Spanned<String>>,
    pub(super) customer_email: Option<Spanned<String>>,
    pub(super) provider_name: Option<Spanned<String>>,
    pub(super) provider_address: Option<Spanned<String>>,
    pub(super) provider_email: Option<Spanned<String>>,
    pub(super) provider_pec: Option<Spanned<String>>,
    pub(super) lang: Option<Spanned<String>>,
    pub(super) vantages: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Maintenance {
    #[serde(default)]
    pub(super) contracts: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) probes: Vec<Spanned<String>>,
    pub(super) start: Spanned<String>,
    pub(super) end: Spanned<String>,
    pub(super) announced_at: Option<Spanned<String>>,
    pub(super) note: Option<String>,
}

/// `[[goodwill]]`: what a provider offered after an event, not owed by contract.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Goodwill {
    pub(super) event: Spanned<String>,
    pub(super) date: Spanned<String>,
    pub(super) announced: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) contracts: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) plans: Vec<Spanned<String>>,
    pub(super) extension_days: Option<Spanned<u32>>,
    pub(super) amount: Option<Spanned<toml::Value>>,
    pub(super) upgrade: Option<Spanned<String>>,
    pub(super) source: Option<String>,
    pub(super) note: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Email {
    pub(super) smtp_url: Spanned<String>,
    pub(super) username: Option<String>,
    pub(super) password: Option<Spanned<toml::Value>>,
    pub(super) password_env: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) from: String,
    pub(super) to: Vec<String>,
    pub(super) ca_file: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Webhook {
    pub(super) url: Option<Spanned<String>>,
    pub(super) url_env: Option<Spanned<String>>,
    pub(super) url_file: Option<Spanned<String>>,
    pub(super) secret_env: Option<Spanned<String>>,
    pub(super) secret_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, String>,
    /// Per attempt: connect, send, answer (default 10s).
    pub(super) timeout: Option<Spanned<ConfigDuration>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Alerts {
    pub(super) lang: Option<Spanned<String>>,
    pub(super) email: Option<Email>,
    #[serde(default)]
    pub(super) webhook: Vec<Spanned<Webhook>>,
    // When to alert (issue 17, alertpolicy): flap damping and digests.
    pub(super) flap_changes: Option<Spanned<u32>>,
    pub(super) flap_window: Option<Spanned<ConfigDuration>>,
    pub(super) digest_window: Option<Spanned<ConfigDuration>>,
    pub(super) digest_min: Option<Spanned<u32>>,
}

/// `[members]` (issue 13): defaults and addressees for an association's members.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Members {
    pub(super) lang: Option<Spanned<String>>,
    pub(super) unmonitored: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) provider: Vec<MembersProvider>,
    #[serde(default)]
    pub(super) plan: Vec<MembersPlan>,
}

/// `[[members.provider]]`: the addressee of letters, matched on a member's provider.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MembersProvider {
    pub(super) name: Spanned<String>,
    pub(super) address: Option<String>,
    pub(super) email: Option<String>,
    pub(super) pec: Option<String>,
}

/// `[[members.plan]]`: what members on a plan compare with, which probes stand for it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MembersPlan {
    pub(super) plan: Spanned<String>,
    #[serde(default)]
    pub(super) compare_with: Vec<Spanned<String>>,
    #[serde(default)]
    pub(super) probes: Vec<Spanned<String>>,
}

/// `[shared]` (issue 18): the PostgreSQL every vantage ships its sealed evidence to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Shared {
    pub(super) url: Spanned<String>,
    pub(super) password: Option<Spanned<toml::Value>>,
    pub(super) password_env: Option<Spanned<String>>,
    pub(super) password_file: Option<Spanned<String>>,
    pub(super) ca_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) vantages: Vec<Spanned<String>>,
}
