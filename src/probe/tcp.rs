//! The TCP probe: connect, optionally complete a TLS handshake, and report.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`]. Connect
//! errors are classified by [`super::net::connect`]; the whole check runs under one
//! deadline (`timeout` from its start), see [`super::Run`].
//!
//! With TLS, the handshake is [`super::tls::handshake`]; the chain's earliest
//! `notAfter` goes into `cert_not_after`. An `up` check whose certificate expires
//! within `cert_expiry_warn` keeps `class = None` and says so in its detail
//! (see [`super::tls::expiry_warning`]).

use super::net;
use super::tls;
use super::{Outcome, Run, Up};
use crate::config::TcpSpec;
use crate::model::{Check, UtcMillis};
use std::time::Duration;
use tokio::time::Instant;

/// Checks one `[[tcp]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &TcpSpec, timeout: Duration) -> Check {
    let mut run = Run::begin(timeout);
    let (deadline, started_at) = (run.deadline, run.started_at);
    let outcome = run
        .within(async |phases| steps(spec, deadline, started_at, phases).await)
        .await;
    run.finish(name, outcome)
}

async fn steps(
    spec: &TcpSpec,
    deadline: Instant,
    started_at: UtcMillis,
    phases: &mut crate::model::Phases,
) -> Outcome {
    let stream = net::connect(&spec.host, spec.port, deadline, phases).await?;
    let Some(settings) = &spec.tls else {
        return Ok(Up::new("connected"));
    };
    let name = settings.server_name.as_deref().unwrap_or(&spec.host);
    let t = Instant::now();
    let result = tls::handshake(stream, name, settings, deadline).await;
    // The handshake's own duration excludes reading ca_file and the system roots;
    // a failed handshake only has the whole step's time.
    phases.tls = Some(
        result
            .as_ref()
            .map_or_else(|_| t.elapsed(), |(_, i)| i.duration),
    );
    let (_stream, info) = result?;
    Ok(Up {
        detail: std::iter::once("TLS ok".to_owned())
            .chain(info.notes(started_at, settings))
            .collect::<Vec<_>>()
            .join("; "),
        flag: None,
        cert_not_after: info.cert_not_after,
    })
}
