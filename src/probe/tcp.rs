//! The TCP probe: connect, optionally complete a TLS handshake, and report.
//!
//! [`check`] never fails and never panics: every outcome is a [`Check`]. Connect
//! errors are classified by [`super::net::connect`]; the whole check runs under one
//! deadline (`timeout` from its start), see [`super::Run`].
//!
//! With TLS, the handshake is the context's TLS step ([`super::Run::tls`]); the
//! chain's earliest `notAfter` goes into `cert_not_after`. An `up` check whose certificate expires
//! within `cert_expiry_warn` keeps `class = None` and says so in its detail
//! (see [`super::tls::expiry_warning`]).

use super::net;
use super::{Outcome, Run, Up};
use crate::config::TcpSpec;
use crate::model::Check;
use std::time::Duration;

/// Checks one `[[tcp]]` probe named `name`, within `timeout` overall.
pub async fn check(name: &str, spec: &TcpSpec, timeout: Duration) -> Check {
    Run::check(name, timeout, async |run| steps(spec, run).await)
        .await
        .0
}

async fn steps(spec: &TcpSpec, run: &mut Run) -> Outcome {
    let stream = net::connect(&spec.host, spec.port, run.deadline, &mut run.phases).await?;
    let Some(settings) = &spec.tls else {
        return Ok(Up::new("connected"));
    };
    let name = settings.server_name.as_deref().unwrap_or(&spec.host);
    run.tls(stream, name, settings).await?;
    Ok(Up::new("TLS ok"))
}
