//! SMTP replies: lines, reply assembly, EHLO keywords.
//! The logic and its invariants live in `slawatch::probe::wire::fuzz_smtp`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slawatch::probe::wire::fuzz_smtp(data);
});
