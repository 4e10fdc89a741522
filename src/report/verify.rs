//! Verification of the evidence (`slawatch verify`): the hash chain walked by the
//! store, each claim of a report ([`super::evidence::Claim`]: its digest recomputed,
//! its chain head looked up) and each line of a checkpoint file held against the
//! chain. [`verify`] returns what it found as a [`Verification`]; the CLI only reads
//! the files, calls it and prints.

use super::evidence::{ChainHead, Claim};
use crate::store::{ChainReport, EvidenceDigest, Reader, RetentionPolicy, StoreError};

/// Why nothing could be verified.
#[derive(Debug)]
pub(crate) enum VerifyError {
    /// The database has no hash chain yet (written by an older slawatch).
    NoChain,
    /// The database could not be read.
    Store(StoreError),
}

impl From<StoreError> for VerifyError {
    fn from(e: StoreError) -> Self {
        VerifyError::Store(e)
    }
}

/// The first line of a checkpoint file that disagrees with the chain (1-based), and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Disagreement {
    /// The line, 1-based.
    pub(crate) line: usize,
    /// Why, in a sentence.
    pub(crate) why: String,
}

/// What checking one claim of a report against the database found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CheckedClaim {
    /// The claim as the report states it.
    pub(crate) claim: Claim,
    /// The digest recomputed from the database over the claim's probes and period.
    pub(crate) found: EvidenceDigest,
    /// The chain value the database holds at the claimed seal: `None` when the
    /// claim states no chain head, `Some(None)` when the seal is gone.
    pub(crate) found_chain: Option<Option<String>>,
}

impl CheckedClaim {
    /// The stated digest and every stated count match the database's.
    pub(crate) fn digest_ok(&self) -> bool {
        let e = &self.claim.evidence;
        self.found.sha256 == e.sha256
            && self.found.checks == e.checks
            && self.found.runs == e.runs
            && self.found.failures == e.failed_checks
    }

    /// The stated chain head is the value the database holds at its seal (true when
    /// the claim states none).
    pub(crate) fn chain_ok(&self) -> bool {
        match (&self.claim.evidence.chain, &self.found_chain) {
            (Some(ChainHead { head, .. }), Some(found)) => found.as_deref() == Some(head.as_str()),
            _ => true,
        }
    }
}

/// Everything [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verification {
    /// The walk of the hash chain.
    pub(crate) chain: ChainReport,
    /// Each claim of the report, checked.
    pub(crate) claims: Vec<CheckedClaim>,
    /// The checkpoint file: `Ok` with the lines checked, or the first that disagrees;
    /// `None` without one.
    pub(crate) checkpoints: Option<Result<usize, Disagreement>>,
}

impl Verification {
    /// The chain is intact, every claim matches and every checkpoint line agrees.
    pub(crate) fn ok(&self) -> bool {
        self.chain.intact()
            && self.checkpoints.as_ref().is_none_or(Result::is_ok)
            && self.claims.iter().all(|c| c.digest_ok() && c.chain_ok())
    }
}

/// Walks the chain under `policy`, checks each claim of a report and, given the
/// text of a checkpoint file, each of its lines.
///
/// # Errors
/// [`VerifyError::NoChain`] for a database without the chain; a store error.
pub(crate) fn verify(
    reader: &Reader,
    policy: RetentionPolicy,
    claims: Vec<Claim>,
    checkpoint_file: Option<&str>,
) -> Result<Verification, VerifyError> {
    if !reader.has_chain()? {
        return Err(VerifyError::NoChain);
    }
    let chain = reader.verify_chain_with(policy)?;
    let claims = claims
        .into_iter()
        .map(|claim| check_claim(reader, claim))
        .collect::<Result<_, _>>()?;
    let checkpoints = checkpoint_file
        .map(|text| check_checkpoints(reader, text))
        .transpose()?;
    Ok(Verification {
        chain,
        claims,
        checkpoints,
    })
}

fn check_claim(reader: &Reader, claim: Claim) -> Result<CheckedClaim, StoreError> {
    let e = &claim.evidence;
    let found = reader.evidence_digest(&e.probes, e.from, e.to)?;
    let found_chain = match &e.chain {
        Some(c) => Some(reader.chain_at(c.seal)?),
        None => None,
    };
    Ok(CheckedClaim {
        claim,
        found,
        found_chain,
    })
}

/// Checks the database's chain against every line of a checkpoint file: `Ok` with
/// the lines checked, or the first line that disagrees and why.
fn check_checkpoints(
    reader: &Reader,
    text: &str,
) -> Result<Result<usize, Disagreement>, StoreError> {
    let lines = match crate::checkpoint::check_links(text) {
        Ok(l) => l,
        Err((line, why)) => return Ok(Err(Disagreement { line, why })),
    };
    let head = reader.chain_head()?;
    for (i, line) in lines.iter().enumerate() {
        if line.seal == 0 {
            continue;
        }
        let why = match reader.chain_at(line.seal)? {
            Some(found) if found == line.chain => continue,
            Some(found) => format!(
                "the database holds chain {found} at seal {}, the line says {}: \
                 the chain was rewritten (or the file belongs to another database)",
                line.seal, line.chain
            ),
            None => match &head {
                Some((h, _)) if *h < line.seal => format!(
                    "seal {} is past the database's last seal {h}: seals were cut off \
                     (or the file belongs to another database)",
                    line.seal
                ),
                None => format!(
                    "seal {} is not in the database, whose chain is empty: it was \
                     replaced (or the file belongs to another database)",
                    line.seal
                ),
                Some(_) => format!(
                    "seal {} is not in the database: it was pruned before seals were \
                     kept (slawatch before migration 3), so it cannot be checked",
                    line.seal
                ),
            },
        };
        return Ok(Err(Disagreement { line: i + 1, why }));
    }
    Ok(Ok(lines.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Check, ErrorClass, Phases, Status, UtcMillis};
    use crate::report::evidence::{Evidence, claims};
    use crate::store::{RUN_SPAN_MS, Store};

    /// 2024-04-01T00:00:00Z, the start of a run span.
    const T0: i64 = 1_711_929_600_000;

    fn check(at: i64, status: Status) -> Check {
        Check {
            probe: "web".to_owned(),
            started_at: UtcMillis(at),
            status,
            class: (status == Status::Down).then_some(ErrorClass::Timeout),
            detail: String::new(),
            phases: Phases {
                total: Some(std::time::Duration::from_millis(40)),
                ..Phases::default()
            },
            cert_not_after: None,
        }
    }

    /// Two closed spans of one probe, with three failed checks in the second.
    fn database() -> (tempfile::TempDir, Reader) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("evidence.db");
        let store = Store::open(&path).unwrap();
        store
            .register_probes(&[("web".to_owned(), "http".to_owned())])
            .unwrap();
        for i in 0..24 {
            let at = T0 + i * (RUN_SPAN_MS / 12);
            let status = if (15..18).contains(&i) {
                Status::Down
            } else {
                Status::Up
            };
            store.record_check(&check(at, status)).unwrap();
            store.heartbeat("office", UtcMillis(at + 1000)).unwrap();
        }
        // A check in the third span closes the second one's run.
        store
            .record_check(&check(T0 + 2 * RUN_SPAN_MS, Status::Up))
            .unwrap();
        store.close().unwrap();
        let reader = Reader::open(&path).unwrap();
        (dir, reader)
    }

    /// The claim a report written now would make over the first two spans.
    fn honest(reader: &Reader) -> Claim {
        let probes = vec!["web".to_owned()];
        let (from, to) = (UtcMillis(T0), UtcMillis(T0 + 2 * RUN_SPAN_MS));
        let d = reader.evidence_digest(&probes, from, to).unwrap();
        Claim {
            path: "$.contracts[0].evidence".to_owned(),
            evidence: Evidence {
                sha256: d.sha256,
                checks: d.checks,
                runs: d.runs,
                failed_checks: d.failures,
                probes,
                from,
                to,
                chain: reader.chain_head().unwrap().as_ref().map(ChainHead::of),
            },
        }
    }

    fn run(reader: &Reader, claim: Claim) -> Verification {
        verify(reader, RetentionPolicy::default(), vec![claim], None).unwrap()
    }

    #[test]
    fn an_honest_claim_verifies() {
        let (_dir, reader) = database();
        let claim = honest(&reader);
        assert_eq!(claim.evidence.failed_checks, 3);
        assert!(claim.evidence.chain.is_some());
        let v = run(&reader, claim);
        assert!(v.chain.intact(), "{:?}", v.chain.problems);
        assert!(v.claims[0].digest_ok() && v.claims[0].chain_ok());
        assert!(v.ok());
    }

    #[test]
    fn a_tampered_claim_fails_on_its_digest_or_its_counts() {
        let (_dir, reader) = database();
        let mut claim = honest(&reader);
        claim.evidence.sha256 = claim.evidence.sha256.replace('a', "b").replace('0', "1");
        let v = run(&reader, claim);
        assert!(!v.claims[0].digest_ok());
        assert!(v.claims[0].chain_ok());
        assert!(!v.ok());
        // The digest is right but a count stated beside it is not.
        let mut claim = honest(&reader);
        claim.evidence.failed_checks -= 1;
        let v = run(&reader, claim);
        assert!(!v.claims[0].digest_ok());
        assert!(!v.ok());
        // The period widened by a span takes in checks the report did not rest on.
        let mut claim = honest(&reader);
        claim.evidence.to = UtcMillis(T0 + 3 * RUN_SPAN_MS);
        assert!(!run(&reader, claim).ok());
    }

    #[test]
    fn a_wrong_chain_head_fails_and_a_seal_not_in_the_database_too() {
        let (_dir, reader) = database();
        let mut claim = honest(&reader);
        let head = claim.evidence.chain.as_mut().unwrap();
        head.head = "0".repeat(64);
        let v = run(&reader, claim);
        assert!(v.claims[0].digest_ok());
        assert!(!v.claims[0].chain_ok());
        assert!(!v.ok());
        let mut claim = honest(&reader);
        claim.evidence.chain.as_mut().unwrap().seal += 1000;
        let v = run(&reader, claim);
        assert_eq!(v.claims[0].found_chain, Some(None));
        assert!(!v.claims[0].chain_ok());
    }

    #[test]
    fn a_report_with_a_forged_extra_field_is_refused_before_any_check() {
        let (_dir, reader) = database();
        let claim = honest(&reader);
        let mut evidence = serde_json::to_value(&claim.evidence).unwrap();
        let report = serde_json::json!({
            "format": "slawatch-report/1",
            "contracts": [{"evidence": evidence.clone()}],
        });
        let read = claims(&report.to_string()).unwrap();
        assert!(
            verify(&reader, RetentionPolicy::default(), read, None)
                .unwrap()
                .ok()
        );
        evidence["verified_by"] = "the provider".into();
        let report = serde_json::json!({
            "format": "slawatch-report/1",
            "contracts": [{"evidence": evidence}],
        });
        let e = claims(&report.to_string()).unwrap_err();
        assert!(e.message.contains("unknown field `verified_by`"), "{e:?}");
    }

    #[test]
    fn checkpoint_lines_are_held_against_the_chain() {
        let (_dir, reader) = database();
        let (seal, head) = reader.chain_head().unwrap().unwrap();
        let line = |chain: String| {
            crate::checkpoint::format_line(
                None,
                UtcMillis(T0),
                "stop",
                "office",
                Some((seal, chain)),
            )
        };
        let good = line(head);
        let v = verify(&reader, RetentionPolicy::default(), vec![], Some(&good)).unwrap();
        assert_eq!(v.checkpoints, Some(Ok(1)));
        let bad = line("0".repeat(64));
        let v = verify(&reader, RetentionPolicy::default(), vec![], Some(&bad)).unwrap();
        let d = v.checkpoints.clone().unwrap().unwrap_err();
        assert_eq!(d.line, 1);
        assert!(d.why.contains("the chain was rewritten"), "{d:?}");
        assert!(!v.ok());
    }
}
