//! IMAP responses: greeting, classification, capabilities, literal skipping.
//! The logic and its invariants live in `slawatch::probe::wire::fuzz_imap`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slawatch::probe::wire::fuzz_imap(data);
});
