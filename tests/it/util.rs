//! Helpers shared by the integration tests.

use std::path::PathBuf;

/// `tests/fixtures/...`
pub(crate) fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// The `slawatch` binary under test.
pub(crate) fn slawatch() -> assert_cmd::Command {
    assert_cmd::Command::cargo_bin("slawatch").expect("the slawatch binary is built")
}

/// The path of the `slawatch` binary under test, for processes the test manages itself.
pub(crate) fn slawatch_bin() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("slawatch")
}

/// A loopback address nothing listens on (bound, then released): connections are refused.
pub(crate) fn closed_addr() -> std::net::SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// Runs `slawatch ARGS... FILE`, asserts the exit code and returns standard output.
pub(crate) fn stdout_of(args: &[&str], file: &std::path::Path, code: i32) -> String {
    let out = slawatch()
        .args(args)
        .arg(file)
        .assert()
        .code(code)
        .get_output()
        .stdout
        .clone();
    String::from_utf8(out).unwrap()
}

/// A file of the repository, by its path from the root.
pub(crate) fn repo_file(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}
