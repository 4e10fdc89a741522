//! The whole `probes.toml` path: parse, validate, plans; errors located inside the text.
//! The logic and its invariants live in `slawatch::config::fuzz_config`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slawatch::config::fuzz_config(data);
});
