#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs the real servers the
# tests run on loopback (nothing is started here: each test starts its own instance on
# high loopback ports with configs it writes to a temp dir), then runs every check.
#
#     ./scripts/test.sh
#
# Needs root for apt-get (CI and the developer machines run as root). Package installs
# never start a daemon: a temporary policy-rc.d refuses every start, and Postfix is
# preseeded with "No configuration".
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  nginx-light libnginx-mod-http-echo   # HTTP(S) peer; echo_sleep for slow endpoints
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd   # IMAP, POP3, LMTP delivery
  postfix                              # SMTP, submission with AUTH
  unbound                              # authoritative example.test on loopback
  openssl                              # test CA and certificates
  systemd                              # systemd-analyze verify of the unit
  procps psmisc                        # pgrep/fuser for process checks in tests
  iproute2                             # `ip link set lo up` in the network namespace the
                                       # installed unit's start runs in (tests/it/systemd.rs)
  libfaketime                          # a wall clock stepped 2 h back under the daemon
                                       # (tests/it/daemon.rs; its monotonic clock is real)
  chromium                             # headless render of the HTML report (tests/it/browser.rs),
                                       # run under `unshare --net` (util-linux) with no network
  postgresql                           # the shared store of several vantages (tests/it/peers/
                                       # postgres.rs starts its own cluster in a temp dir)
  prometheus-blackbox-exporter         # the comparison in benches/blackbox.rs (started there
                                       # on 127.0.0.1; policy-rc.d keeps Debian's service off)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; own_policy=1
  fi
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ $own_policy = 1 ] && rm -f "$policy"
fi

# cargo-deny (deny.toml): one TLS crypto provider, no OpenSSL, no known-unmaintained
# crate, licenses from the allow-list, crates.io only. Not `advisories`: its database
# is on GitHub, which CI cannot reach. Built in the dev profile (--debug): the release
# profile's fat LTO took 27 min here against 9 min, and the check runs in seconds either
# way. A clean machine builds it in the background from here on (the tests mostly
# wait on the real servers): niced, so it takes only the CPU the build and the
# tests leave idle.
DENY_VERSION=0.20.2
deny_install=
if ! cargo deny --version 2>/dev/null | grep -qx "cargo-deny $DENY_VERSION"; then
  echo "test.sh: installing cargo-deny $DENY_VERSION in the background (log: target/cargo-deny-install.log)"
  mkdir -p target
  nice -n 19 cargo install --locked --debug "cargo-deny@$DENY_VERSION" \
    >target/cargo-deny-install.log 2>&1 &
  deny_install=$!
fi
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# Intra-doc links that no longer resolve (a renamed item, a private one linked from
# public docs) fail here instead of rotting; private items too, as `cli` and the
# engine are read through them. ~20 s after clippy's build (3 min from cold). A
# public page may link a crate-private item: these docs include private items, where
# the link resolves (rustdoc's private-intra-doc-links lint is for public-only docs).
RUSTDOCFLAGS="-D warnings -A rustdoc::private-intra-doc-links" cargo doc --no-deps --document-private-items --locked

cargo test --locked
# The blackbox_exporter comparison in its short mode (small N, 2 s windows), so the
# bench cannot rot: it asserts only that each side did checks with the outcome each
# kind expects, never a timing. Alone here (after the tests), on its own ports and
# temp dirs. The dev profile reuses the tests' build (a release build would add
# minutes for figures nobody reads here): about 2 min (BENCHMARKS.md).
cargo bench --locked --profile dev --bench blackbox -- --short
# The other benchmarks of BENCHMARKS.md, each in a short mode for the same reason (they
# set up real peers and the daemon; nothing is timed here): the daemon under load with
# half its probes HTTPS, TLS set up once, and a month of reports for 10 contracts.
SLAWATCH_BENCH_PROBES=200 SLAWATCH_BENCH_INTERVAL=5 SLAWATCH_BENCH_SECONDS=10 \
  SLAWATCH_BENCH_HTTPS_PERCENT=50 cargo bench --locked --profile dev --bench daemon
SLAWATCH_BENCH_CHECKS=20 SLAWATCH_BENCH_RUNS=1 cargo bench --locked --profile dev --bench tls_once
SLAWATCH_BENCH_SHORT=1 cargo bench --locked --profile dev --bench reports
SLAWATCH_BENCH_SHORT=1 cargo bench --locked --profile dev --bench ship    # that month shipped to PostgreSQL
SLAWATCH_BENCH_SHORT=1 cargo bench --locked --profile dev --bench shared_reports  # read back, reported
if [ -n "$deny_install" ] && ! wait "$deny_install"; then
  tail -n 30 target/cargo-deny-install.log
  echo "test.sh: installing cargo-deny $DENY_VERSION failed (above)" >&2
  exit 1
fi
cargo deny --locked check bans licenses sources

# The README's two set-up commands as written, in a fresh clone: the first with --fast
# (this script is the second; the script checks that, and that .ci/run calls it).
./scripts/readme-commands.sh
