//! The e-mail channel: the SMTP transport `[alerts.email]` names (lettre over
//! rustls), and the sending of one rendered [`render::Mail`](super::render::Mail):
//! `multipart/alternative` with a `text/plain` and a `text/html` part (both UTF-8),
//! or plain text alone when the mail has no HTML.

use super::render::Mail;
use crate::config::EmailAlerts;
use lettre::message::{Mailbox, MultiPart, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// The e-mail channel, ready to send.
pub(crate) struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
    /// `smtp_url`, for logs (it never carries the password: that comes from
    /// `password_env`/`password_file`).
    pub(crate) target: String,
}

/// Sends `mail` to every recipient; the error says why, never with a password.
pub(crate) async fn send(email: &Email, mail: &Mail) -> Result<(), String> {
    let mut b = Message::builder()
        .from(email.from.clone())
        .subject(mail.subject.as_str());
    for to in &email.to {
        b = b.to(to.clone());
    }
    // multipart/alternative: the plain text first, the HTML last (the one a mail
    // client prefers when it can show it).
    let msg = match &mail.html {
        Some(html) => b.multipart(MultiPart::alternative_plain_html(
            mail.text.clone(),
            html.clone(),
        )),
        None => b.header(ContentType::TEXT_PLAIN).body(mail.text.clone()),
    }
    .map_err(|e| e.to_string())?;
    email
        .transport
        .send(msg)
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The channel for `[alerts.email]`; the error names the URL by its origin only.
pub(crate) fn channel(e: &EmailAlerts) -> Result<Email, String> {
    // Errors name the URL by its origin only: its userinfo may hold a password.
    let url =
        reqwest::Url::parse(&e.smtp_url).map_err(|err| format!("smtp_url is not a URL: {err}"))?;
    let implicit = match url.scheme() {
        "smtps" => true,
        "smtp" => false,
        other => {
            return Err(format!(
                "smtp_url scheme '{other}': use smtps:// or smtp://"
            ));
        }
    };
    let host = url
        .host_str()
        .ok_or_else(|| {
            "smtp_url has no host: write smtps://host:465 or smtp://host:587".to_owned()
        })?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port().unwrap_or(if implicit { 465 } else { 587 });
    let mut tls = TlsParameters::builder(host.clone());
    if let Some(ca) = &e.ca_file {
        let pem = std::fs::read(ca).map_err(|err| format!("ca_file {}: {err}", ca.display()))?;
        let cert = Certificate::from_pem(&pem)
            .map_err(|err| format!("ca_file {}: not a PEM certificate: {err}", ca.display()))?;
        tls = tls.add_root_certificate(cert);
    }
    let tls = tls.build_rustls().map_err(|err| format!("TLS: {err}"))?;
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .timeout(Some(super::TIMEOUT))
        .tls(if implicit {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        });
    if let (Some(user), Some(pass)) = (&e.username, &e.password) {
        b = b.credentials(Credentials::new(user.clone(), pass.expose().to_owned()));
    }
    let from: Mailbox = e
        .from
        .parse()
        .map_err(|err| format!("from '{}': {err}", e.from))?;
    let to =
        e.to.iter()
            .map(|t| t.parse().map_err(|err| format!("to '{t}': {err}")))
            .collect::<Result<Vec<Mailbox>, String>>()?;
    Ok(Email {
        transport: b.build(),
        from,
        to,
        target: format!("{}:{port}", url.host_str().unwrap_or_default()),
    })
}
