//! POP3: status lines, multi-line bodies, CAPA keywords.
//! The logic and its invariants live in `slawatch::probe::wire::fuzz_pop3`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slawatch::probe::wire::fuzz_pop3(data);
});
