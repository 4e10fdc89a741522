//! The line splitter with a small, input-chosen cap and read size.
//! The logic and its invariants live in `slawatch::probe::wire::fuzz_lines`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slawatch::probe::wire::fuzz_lines(data);
});
