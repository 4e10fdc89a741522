#!/usr/bin/env bash
# The README's two set-up commands, as a newcomer runs them. They are read from the
# ```sh block under "## Set-up: two commands" in README.md (never copied here, so an
# edit of the README changes what CI runs):
#
#     ./scripts/readme-commands.sh               # run them: see below
#     ./scripts/readme-commands.sh --check-only  # only parse, check and print them
#     ./scripts/readme-commands.sh --readme FILE # another README (the tests use it)
#
# Both modes check that the block holds exactly two commands and that the second is
# ./scripts/test.sh, the very script CI runs (.ci/run calls it). The run mode then
# clones the current commit (HEAD: uncommitted changes are not in it) into a temp
# dir, runs the first command there with --fast appended, and checks that it exits 0
# and wrote its configuration and reports under slawatch-demo/. It does not run the
# second command: scripts/test.sh calls this script, and would call itself.
# CARGO_TARGET_DIR (default: this checkout's target/) is shared with the clone so
# the dependencies are not built again; the clone's own sources are compiled.
set -euo pipefail
readme=
mode=run
section='## Set-up: two commands'
test_command=./scripts/test.sh

while [ $# -gt 0 ]; do
  case "$1" in
    --check-only) mode=check ;;
    --readme)
      [ $# -ge 2 ] || { echo "readme-commands.sh: --readme needs a file: --readme README.md" >&2; exit 2; }
      readme=$2; shift ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "readme-commands.sh: unknown argument '$1': write --check-only, --readme FILE, or nothing to run the commands" >&2; exit 2 ;;
  esac
  shift
done
if [ -n "$readme" ]; then
  [ -f "$readme" ] || { echo "readme-commands.sh: $readme: no such file" >&2; exit 2; }
  readme=$(realpath "$readme")
fi
cd "$(dirname "$0")/.."
repo=$PWD
readme=${readme:-README.md}

# "LINE<TAB>COMMAND" for each command of the section's first ```sh block: comment
# lines, blank lines and a trailing " # comment" dropped (so --fast is appended to the
# command, not to its comment), a line ending in a backslash joined with the next.
parsed=$(awk -v section="$section" '
  /^## / && !in_block { in_sec = ($0 == section); next }
  in_sec && !in_block && /^```sh[[:space:]]*$/ { in_block = 1; found = 1; next }
  in_block && /^```/ { in_block = 0; in_sec = 0; done = 1; exit }
  in_block {
    line = $0
    if (cmd == "") { sub(/^[[:space:]]+/, "", line); if (line == "" || line ~ /^#/) next; start = NR }
    else { sub(/^[[:space:]]+/, " ", line) }
    if (line ~ /\\$/) { sub(/[[:space:]]*\\$/, "", line); cmd = cmd line; next }
    cmd = cmd line; sub(/[[:space:]]+#.*$/, "", cmd); sub(/[[:space:]]+$/, "", cmd)
    print start "\t" cmd; cmd = ""
  }
  END {
    if (!found) print "error\tno ```sh block under \"" section "\""
    else if (!done) print "error\tthe ```sh block under \"" section "\" is not closed"
  }
' "$readme")

fail() { echo "readme-commands.sh: $readme:$1: $2" >&2; exit 1; }
if grep -q '^error' <<<"$parsed"; then
  fail 1 "$(grep '^error' <<<"$parsed" | cut -f2-): CI runs the set-up commands from that block; put it back"
fi
count=$(grep -c . <<<"$parsed" || true)
if [ "$count" != 2 ]; then
  first_line=$(head -n1 <<<"$parsed" | cut -f1)
  fail "${first_line:-1}" "the set-up block holds $count commands, not 2: the first builds and runs the demo, the second is $test_command"
fi
first_line=$(sed -n 1p <<<"$parsed" | cut -f1)
first=$(sed -n 1p <<<"$parsed" | cut -f2-)
second_line=$(sed -n 2p <<<"$parsed" | cut -f1)
second=$(sed -n 2p <<<"$parsed" | cut -f2-)
if [ "$second" != "$test_command" ]; then
  fail "$second_line" "the second set-up command is '$second': write $test_command, the script CI runs"
fi
if ! grep -qxF "$test_command" .ci/run; then
  echo "readme-commands.sh: .ci/run does not call $test_command on a line of its own, as the README's second command says CI does" >&2
  exit 1
fi

if [ "$mode" = check ]; then
  printf '%s\n%s\n' "$first" "$second"
  exit 0
fi

# Run mode: the first command, with --fast, in a fresh clone of the current commit.
head_commit=$(git rev-parse HEAD)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone --quiet "$repo" "$work/slawatch"
git -C "$work/slawatch" checkout --quiet --detach "$head_commit"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
echo "readme-commands.sh: in a fresh clone of ${head_commit:0:12} ($readme:$first_line): $first --fast"
if ! (cd "$work/slawatch" && bash -c "$first --fast") >"$work/first.log" 2>&1; then
  tail -n 40 "$work/first.log" >&2
  echo "readme-commands.sh: the README's first command failed in a fresh clone ($readme:$first_line): $first --fast" >&2
  exit 1
fi
demo="$work/slawatch/slawatch-demo"
missing=()
[ -f "$demo/probes.toml" ] || missing+=("slawatch-demo/probes.toml")
[ -n "$(find "$demo" -name '*.html' -print -quit 2>/dev/null)" ] || missing+=("an HTML report")
[ -n "$(find "$demo" -name '*.json' -print -quit 2>/dev/null)" ] || missing+=("a JSON report")
if [ ${#missing[@]} -gt 0 ]; then
  tail -n 40 "$work/first.log" >&2
  what=$(printf '%s, ' "${missing[@]}")
  echo "readme-commands.sh: '$first --fast' exited 0 but did not write ${what%, }" >&2
  exit 1
fi
echo "readme-commands.sh: ok: it exited 0 and wrote slawatch-demo/ with its reports; $second is what CI runs"
