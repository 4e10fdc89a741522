//! The timeline file of `slawatch sla` and the engine over it, with the plans of
//! `fuzz/plans.toml`. The logic and its invariants live in
//! `slawatch::sla::timeline::fuzz_timeline`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use slawatch::sla::Plan;
use std::path::Path;
use std::sync::LazyLock;

static PLANS: LazyLock<Vec<Plan>> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans.toml");
    slawatch::config::load_plans(&path).expect("fuzz/plans.toml is valid")
});

fuzz_target!(|data: &[u8]| {
    slawatch::sla::timeline::fuzz_timeline(data, &PLANS);
});
