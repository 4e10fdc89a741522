//! Test certificates (rcgen, dated against the real clock) and an in-process TLS
//! server. No DNS name is ever needed: certificates carry IP SANs.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use slawatch::model::UtcMillis;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

pub(crate) const DAY: u64 = 86_400;

/// Seconds since the epoch now: certificates must be dated against the verifier's clock.
#[expect(
    clippy::disallowed_methods,
    reason = "test certificates are dated relative to the real clock rustls verifies with"
)]
pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Parameters valid from a day ago until `not_after` (seconds since the epoch).
pub(crate) fn params(sans: &[&str], not_after: u64) -> CertificateParams {
    let mut p =
        CertificateParams::new(sans.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap();
    p.not_before = date_time_ymd(1970, 1, 1) + Duration::from_secs(now_secs() - DAY);
    p.not_after = date_time_ymd(1970, 1, 1) + Duration::from_secs(not_after);
    p
}

pub(crate) fn ca_params(cn: &str, not_after: u64) -> CertificateParams {
    let mut p = params(&[], not_after);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.distinguished_name.push(DnType::CommonName, cn);
    p.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    p
}

/// A server chain and its key.
pub(crate) struct Served {
    pub(crate) chain: Vec<CertificateDer<'static>>,
    pub(crate) key: PrivateKeyDer<'static>,
}

pub(crate) fn key_der(key: &KeyPair) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from(PrivatePkcs8KeyDer::from(key.serialize_der()))
}

/// A root CA (PEM written to `dir/ca.pem`), an intermediate expiring at
/// `intermediate_not_after` and a leaf for `sans` expiring at `leaf_not_after`.
pub(crate) fn ca_chain(
    dir: &Path,
    sans: &[&str],
    intermediate_not_after: u64,
    leaf_not_after: u64,
) -> (Served, std::path::PathBuf) {
    let root = CertifiedIssuer::self_signed(
        ca_params("slawatch test root", now_secs() + 3650 * DAY),
        KeyPair::generate().unwrap(),
    )
    .unwrap();
    let intermediate = CertifiedIssuer::signed_by(
        ca_params("slawatch test intermediate", intermediate_not_after),
        KeyPair::generate().unwrap(),
        &root,
    )
    .unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = params(sans, leaf_not_after)
        .signed_by(&leaf_key, &intermediate)
        .unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, root.pem()).unwrap();
    (
        Served {
            chain: vec![leaf.der().clone(), intermediate.der().clone()],
            key: key_der(&leaf_key),
        },
        ca_file,
    )
}

pub(crate) fn self_signed(sans: &[&str], not_after: u64) -> Served {
    let key = KeyPair::generate().unwrap();
    let cert = params(sans, not_after).self_signed(&key).unwrap();
    Served {
        chain: vec![cert.der().clone()],
        key: key_der(&key),
    }
}

pub(crate) fn secs_to_millis(secs: u64) -> UtcMillis {
    UtcMillis(i64::try_from(secs).unwrap() * 1000)
}

/// The rustls server configuration serving `served`.
pub(crate) fn server_config(served: Served) -> Arc<ServerConfig> {
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    Arc::new(
        ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(served.chain, served.key)
            .unwrap(),
    )
}

/// PEM files for a real server: a root CA (`ca.pem`), and a leaf for 127.0.0.1 and
/// ::1 signed by it (`cert.pem` with the chain, `key.pem`), valid for a year.
pub(crate) struct PemFiles {
    pub(crate) ca: PathBuf,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

/// Writes [`PemFiles`] into `dir`.
pub(crate) fn write_pem_files(dir: &Path) -> PemFiles {
    let now = now_secs();
    let root = CertifiedIssuer::self_signed(
        ca_params("slawatch test root", now + 3650 * DAY),
        KeyPair::generate().unwrap(),
    )
    .unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = params(&["127.0.0.1", "::1"], now + 365 * DAY)
        .signed_by(&leaf_key, &root)
        .unwrap();
    let files = PemFiles {
        ca: dir.join("ca.pem"),
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
    };
    std::fs::write(&files.ca, root.pem()).unwrap();
    std::fs::write(&files.cert, leaf.pem()).unwrap();
    std::fs::write(&files.key, leaf_key.serialize_pem()).unwrap();
    files
}

/// A TLS server on 127.0.0.1 that completes handshakes and then closes.
pub(crate) async fn tls_server(served: Served) -> SocketAddr {
    let acceptor = TlsAcceptor::from(server_config(served));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Ok(mut tls) = acceptor.accept(stream).await {
                    let _ = tls.shutdown().await;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn pem_files_serve_a_chain_the_probes_trust_by_ip() {
    use slawatch::config::{TcpSpec, TlsSettings};
    use slawatch::model::Status;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    let dir = tempfile::tempdir().unwrap();
    let files = write_pem_files(dir.path());
    let served = Served {
        chain: CertificateDer::pem_file_iter(&files.cert)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap(),
        key: PrivateKeyDer::from_pem_file(&files.key).unwrap(),
    };
    let addr = tls_server(served).await;
    let spec = TcpSpec {
        host: addr.ip().to_string(),
        port: addr.port(),
        tls: Some(TlsSettings {
            verify: true,
            ca_file: Some(files.ca.clone()),
            server_name: None,
            cert_expiry_warn: Duration::from_secs(14 * DAY),
        }),
    };
    let c = slawatch::probe::tcp::check("pem", &spec, Duration::from_secs(5)).await;
    assert_eq!(c.status, Status::Up, "{c:?}");
    assert_eq!(c.detail, "TLS ok");
}
