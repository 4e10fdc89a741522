//! The evidence a JSON report states, as one set of types: `json.rs` writes each
//! contract's `evidence` object through [`Evidence`], and `slawatch verify --report`
//! reads it back through the same types ([`claims`]), so the writer and the reader
//! cannot drift apart (docs/report-json.md, `evidence`).
//!
//! The reader refuses a shape slawatch never wrote: an unknown field in `evidence`
//! or in its `chain`, a missing one, or a report of another `format`. The rest of the
//! report is not read here.

use crate::model::UtcMillis;
use serde::{Deserialize, Serialize};

/// The formats whose evidence [`claims`] reads: every report format so far.
pub(crate) const READS: &[&str] = &[super::json::FORMAT];

/// The hash chain's head when the report was made: the chain value `head` (64 hex
/// digits) that seal number `seal` holds. The one shape of a chain head in every
/// JSON slawatch writes (a report's `evidence.chain`, `slawatch verify --json`'s
/// `head` and `checkpoint`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChainHead {
    /// The seal's number (the id of its row in `seals`).
    pub(crate) seal: i64,
    /// The chain value at that seal, lower-case hex.
    pub(crate) head: String,
}

impl ChainHead {
    /// From the pair the store gives (`Reader::chain_head`, `ChainReport::head`).
    pub(crate) fn of(pair: &(i64, String)) -> ChainHead {
        ChainHead {
            seal: pair.0,
            head: pair.1.clone(),
        }
    }
}

/// A contract's `evidence` object: the digest of the checks its figures rest on,
/// and the chain head when the report was made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Evidence {
    /// Lower-case hex SHA-256 over the canonical lines (`store::digest`).
    pub(crate) sha256: String,
    /// Checks covered (the runs' counts plus the failed checks).
    pub(crate) checks: i64,
    /// Rows of `runs` covered.
    pub(crate) runs: i64,
    /// Failed checks covered.
    pub(crate) failed_checks: i64,
    /// The contract's probes, whose checks the digest covers.
    pub(crate) probes: Vec<String>,
    /// The start of the period (inclusive).
    #[serde(with = "instant")]
    pub(crate) from: UtcMillis,
    /// Its end (exclusive).
    #[serde(with = "instant")]
    pub(crate) to: UtcMillis,
    /// The chain head; `None` (`null`) for a database without sealed rows.
    pub(crate) chain: Option<ChainHead>,
}

/// Instants as RFC 3339 strings in UTC with milliseconds
/// (`2023-01-10T07:00:00.000Z`); any RFC 3339 instant is read.
mod instant {
    use crate::model::UtcMillis;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(at: &UtcMillis, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(at)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<UtcMillis, D::Error> {
        let s = String::deserialize(d)?;
        s.parse::<jiff::Timestamp>()
            .map(UtcMillis::from_timestamp)
            .map_err(|e| {
                D::Error::custom(format!(
                    "'{s}' is not an RFC 3339 instant ({e}); write one like \
                     2024-04-01T00:00:00.000Z"
                ))
            })
    }
}

/// What a report is read as: its format and each contract's evidence; the other
/// fields are the report's, not the verifier's, and are skipped.
#[derive(Deserialize)]
struct Document {
    format: Option<String>,
    #[serde(default)]
    contracts: Vec<Contract>,
}

#[derive(Deserialize)]
struct Contract {
    evidence: Evidence,
}

/// One contract's evidence and where it is in the report (`$.contracts[0].evidence`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Claim {
    /// Where in the report, as a JSON path.
    pub(crate) path: String,
    /// What it states.
    pub(crate) evidence: Evidence,
}

/// Why a report's evidence could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ClaimsError {
    /// Line and column (1-based) in the report's text, when the error has a place.
    pub(crate) at: Option<(usize, usize)>,
    /// What is wrong and what to give instead.
    pub(crate) message: String,
}

impl ClaimsError {
    /// The message prefixed with the file, line and column: `report.json:3:17: ...`.
    pub(crate) fn in_file(&self, file: &std::path::Path) -> String {
        match self.at {
            Some((line, column)) => format!("{}:{line}:{column}: {}", file.display(), self.message),
            None => format!("{}: {}", file.display(), self.message),
        }
    }
}

/// Reads every contract's evidence from a JSON report (`slawatch report --format
/// json`), or says where and why it is not one.
pub(crate) fn claims(text: &str) -> Result<Vec<Claim>, ClaimsError> {
    let doc: Document = serde_json::from_str(text).map_err(|e| {
        let at = (e.line() > 0).then(|| (e.line(), e.column()));
        let full = e.to_string();
        let bare = full
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&full);
        let message = if e.is_syntax() || e.is_eof() {
            format!("not JSON ({bare}); give the report written with --format json")
        } else if bare.contains("RFC 3339") {
            bare.to_owned()
        } else {
            format!(
                "{bare}; this is not a report's evidence as `slawatch report --format json` \
                 writes it (docs/report-json.md, `evidence`: sha256, checks, runs, \
                 failed_checks, probes, from, to, chain)"
            )
        };
        ClaimsError { at, message }
    })?;
    let Some(format) = doc.format else {
        return Err(ClaimsError {
            at: None,
            message: "states no evidence digest (no \"format\": not a report); give the \
                      report written with `slawatch report --format json`"
                .to_owned(),
        });
    };
    if !READS.contains(&format.as_str()) {
        return Err(ClaimsError {
            at: None,
            message: format!(
                "format '{format}' is not one this slawatch reads ({}): verify it with the \
                 slawatch that wrote it",
                READS.join(", ")
            ),
        });
    }
    if doc.contracts.is_empty() {
        return Err(ClaimsError {
            at: None,
            message: "states no evidence digest (no contract, so no \"evidence\" object): \
                      give a report that evaluated at least one contract"
                .to_owned(),
        });
    }
    Ok(doc
        .contracts
        .into_iter()
        .enumerate()
        .map(|(i, c)| Claim {
            path: format!("$.contracts[{i}].evidence"),
            evidence: c.evidence,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `evidence` of a contract exactly as the previous release wrote it
    /// (tests/it/snapshots/it__report__report_json.snap), inside a report.
    const PREVIOUS_RELEASE: &str = r#"{
  "contracts": [
    {
      "contract": {"id": "shop"},
      "evidence": {
        "chain": {
          "head": "6a37162cb806898ec67922ce33281d8f9433815b89dfe33515e7274bd991de8e",
          "seal": 225
        },
        "checks": 17796,
        "failed_checks": 58,
        "from": "2022-12-31T23:00:00.000Z",
        "probes": ["shop-site", "shop-mail"],
        "runs": 65,
        "sha256": "7e1701266ccb17a5b93c0782b776a70c8227e138e7b7db67910e8ffb40057a48",
        "to": "2023-01-31T23:00:00.000Z"
      },
      "incidents": []
    }
  ],
  "format": "slawatch-report/1",
  "period": "2023-01"
}"#;

    fn sample() -> Evidence {
        Evidence {
            sha256: "7e1701266ccb17a5b93c0782b776a70c8227e138e7b7db67910e8ffb40057a48".to_owned(),
            checks: 17796,
            runs: 65,
            failed_checks: 58,
            probes: vec!["shop-site".to_owned(), "shop-mail".to_owned()],
            from: UtcMillis(1_672_527_600_000),
            to: UtcMillis(1_675_206_000_000),
            chain: Some(ChainHead {
                seal: 225,
                head: "6a37162cb806898ec67922ce33281d8f9433815b89dfe33515e7274bd991de8e".to_owned(),
            }),
        }
    }

    #[test]
    fn a_report_of_the_previous_release_is_read() {
        let got = claims(PREVIOUS_RELEASE).unwrap();
        assert_eq!(
            got,
            vec![Claim {
                path: "$.contracts[0].evidence".to_owned(),
                evidence: sample(),
            }]
        );
    }

    #[test]
    fn what_is_written_is_read_back_unchanged() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["chain"]["head"], sample().chain.unwrap().head);
        assert_eq!(v["from"], "2022-12-31T23:00:00.000Z");
        let doc =
            serde_json::json!({"format": "slawatch-report/1", "contracts": [{"evidence": v}]});
        assert_eq!(claims(&doc.to_string()).unwrap()[0].evidence, sample());
    }

    #[test]
    fn a_forged_extra_field_is_refused_at_its_place() {
        let forged = PREVIOUS_RELEASE.replace(
            "\"runs\": 65,",
            "\"runs\": 65,\n        \"verified\": true,",
        );
        let e = claims(&forged).unwrap_err();
        assert!(e.message.contains("unknown field `verified`"), "{e:?}");
        assert_eq!(e.at.map(|(line, _)| line), Some(15), "{e:?}");
        let forged = PREVIOUS_RELEASE.replace("\"seal\": 225", "\"seal\": 225, \"chain\": \"00\"");
        let e = claims(&forged).unwrap_err();
        assert!(e.message.contains("unknown field `chain`"), "{e:?}");
    }

    #[test]
    fn a_missing_field_a_bad_instant_and_another_format_are_named() {
        let e = claims(&PREVIOUS_RELEASE.replace("\"runs\": 65,", "")).unwrap_err();
        assert!(e.message.contains("missing field `runs`"), "{e:?}");
        let e =
            claims(&PREVIOUS_RELEASE.replace("2022-12-31T23:00:00.000Z", "yesterday")).unwrap_err();
        assert!(
            e.message.contains("'yesterday' is not an RFC 3339 instant"),
            "{e:?}"
        );
        assert_eq!(e.at.map(|(line, _)| line), Some(12), "{e:?}");
        let e = claims(&PREVIOUS_RELEASE.replace("slawatch-report/1", "slawatch-report/9"))
            .unwrap_err();
        assert!(e.message.contains("format 'slawatch-report/9'"), "{e:?}");
        let e = claims("{\"format\": \"slawatch-report/1\", \"contracts\": []}").unwrap_err();
        assert!(e.message.contains("states no evidence digest"), "{e:?}");
        let e = claims("{}").unwrap_err();
        assert!(e.message.contains("states no evidence digest"), "{e:?}");
        let e = claims("{").unwrap_err();
        assert!(e.message.starts_with("not JSON"), "{e:?}");
        assert_eq!(
            e.in_file(std::path::Path::new("r.json")),
            format!("r.json:1:1: {}", e.message)
        );
    }
}
