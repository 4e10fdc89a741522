//! The canonical evidence line the seals and the digest hash: split(join(fields)) == fields.
//! The logic and its invariants live in `slawatch::store::fuzz_canonical_line`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    slawatch::store::fuzz_canonical_line(data);
});
