//! What several benches share: settings from the environment, where the target
//! directory is, CPU time of the process, medians. Included with `#[path]` (a bench
//! cannot import another).

#![allow(dead_code, reason = "each bench uses the helpers it needs")]

use std::path::{Path, PathBuf};
use std::time::Duration;

/// `name` from the environment as a number, else `default`.
pub(crate) fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// User + system CPU of this process (all threads), from `/proc/self/stat`.
pub(crate) fn process_cpu() -> Duration {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    let ticks: u64 = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse::<u64>().unwrap())
        .sum();
    Duration::from_millis(ticks * 10)
}

/// `$CARGO_TARGET_DIR`, else the `target/` this bench's executable is in
/// (`target/PROFILE/deps/NAME-HASH`).
pub(crate) fn target_dir() -> PathBuf {
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    let exe = std::env::current_exe().unwrap();
    exe.ancestors()
        .nth(3)
        .map_or_else(|| PathBuf::from("target"), Path::to_path_buf)
}

/// The median of `v` (the upper one of an even count); sorts `v`.
pub(crate) fn median<T: Ord + Copy>(v: &mut [T]) -> T {
    v.sort_unstable();
    v[v.len() / 2]
}
