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
