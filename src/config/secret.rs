//! Secrets read from `password_env` / `password_file`, never written inline.

use std::fmt;

/// A password or token. Its `Debug` and `Display` never show the value, so it cannot
/// reach a log, a report, the database or an error message by accident; the probes
/// that need it call [`Secret::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value read from the environment or a credentials file.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The value itself, for the one place that sends it to a server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// A URL as a log line or an error may show it: scheme, host and port only. The
/// userinfo (`smtp://user:password@...`), path and query (`/hooks/<token>`) may hold
/// a secret and are never shown; a URL that does not parse shows as nothing of it.
pub fn url_origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) if u.host_str().is_some() => {
            let host = u.host_str().unwrap_or_default();
            match u.port() {
                Some(p) => format!("{}://{host}:{p}", u.scheme()),
                None => format!("{}://{host}", u.scheme()),
            }
        }
        Ok(u) => format!("a {}: URL without a host", u.scheme()),
        Err(_) => "a URL that does not parse".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_origins_hide_userinfo_path_and_query() {
        assert_eq!(
            url_origin("smtps://alerts:hunter2@mail.example.test:465/x?y"),
            "smtps://mail.example.test:465"
        );
        assert_eq!(
            url_origin("https://hooks.example.test/T0/B1/s3cret?token=t0k"),
            "https://hooks.example.test"
        );
        assert_eq!(url_origin("http://[::1]:8080/t"), "http://[::1]:8080");
        assert_eq!(url_origin("s3cret-not-a-url"), "a URL that does not parse");
    }

    #[test]
    fn never_prints_its_value() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }
}
