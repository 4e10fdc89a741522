#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/fuzz_targets/) for SECONDS each, one after
# another, and prints how many inputs each ran and whether it crashed.
#
#     ./scripts/fuzz.sh [SECONDS] [TARGET...]    # default: 600 s, every target
#     ./scripts/fuzz.sh --merge [TARGET...]      # fold what the runs found into fuzz/corpus/
#
# Needs nightly and cargo-fuzz: `rustup toolchain install nightly` and
# `cargo install cargo-fuzz`. The runs read fuzz/corpus/TARGET/ (kept in git, replayed
# by `cargo test` on stable) and write what they learn to a scratch corpus
# ($FUZZ_WORK, default /tmp/slawatch-fuzz/TARGET/), so a run never bloats the
# repository; `--merge` then adds to fuzz/corpus/ only the scratch inputs that reach
# new edges (libFuzzer's -merge=1 with -use_counters=0: hundreds of files, not
# thousands; check the size before committing). A crash is written to
# fuzz/artifacts/TARGET/ and ends the script with status 1; fix it, then copy the
# input into fuzz/corpus/TARGET/ so the unit tests replay it (docs/fuzzing.md).
#
# Runs under `nice`: on a shared machine, the fuzzer takes only idle time.
set -euo pipefail
cd "$(dirname "$0")/.."

work=${FUZZ_WORK:-${TMPDIR:-/tmp}/slawatch-fuzz}

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: needs the nightly toolchain and cargo-fuzz:" >&2
  echo "    rustup toolchain install nightly && cargo install cargo-fuzz" >&2
  exit 2
fi

merge=false
if [ "${1:-}" = "--merge" ]; then
  merge=true
  shift
  seconds=0
else
  seconds=${1:-600}
  [ $# -gt 0 ] && shift
  case $seconds in
    '' | *[!0-9]*)
      echo "fuzz.sh: SECONDS must be a whole number of seconds, such as 600 (got '$seconds')" >&2
      exit 2
      ;;
  esac
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi

nice cargo +nightly fuzz build

failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" "fuzz/corpus/$t"
  if $merge; then
    nice cargo +nightly fuzz run "$t" "fuzz/corpus/$t" "$work/$t" -- -merge=1 -use_counters=0 2>&1 |
      grep -E '^MERGE-OUTER: [0-9]+ new files' || true
    continue
  fi
  log="$work/$t.log"
  echo "== $t: $seconds s"
  set +e
  nice cargo +nightly fuzz run "$t" "$work/$t" "fuzz/corpus/$t" -- \
    -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -oE '^stat::number_of_executed_units: [0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  if [ $status -eq 0 ]; then
    echo "   $runs inputs, no crash (log: $log)"
  else
    failed+=("$t")
    echo "   CRASH after $runs inputs; the input is in fuzz/artifacts/$t/ (log: $log):"
    grep -E '^(==[0-9]+==|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -n 8 | sed 's/^/   /'
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
