#!/usr/bin/env bash
# Runs every benchmark, one after the other, then rebuilds bench/RESULTS.md
# from their saved figures (bench/results/*.json).
#
#   bash bench/run-all.sh            all of them (about 15 minutes)
#   BENCH_KEEP_DIR=/var/tmp/winpop-bench bash bench/run-all.sh   keep the big store for the next run
#   bash bench/run-all.sh retr-large lock-latency    only these
#
# Needs root (Dovecot runs as a private instance; mail files are handed to
# the `nobody` user) and installs dovecot-pop3d / dovecot-lmtpd when missing.
set -u
cd "$(dirname "$0")/.."

ALL=(pop3-sessions retr-large lock-latency lock-login-race smtp-delivery idle-connections login-flood big-domain-list startup outside-mail)
if [ "$#" -gt 0 ]; then BENCHES=("$@"); else BENCHES=("${ALL[@]}"); fi

if [ ! -f dist/electron/cli/pop3svc.js ] || [ "${BENCH_SKIP_BUILD:-0}" != 1 ]; then
  echo "== building (npx tsc -p .)"
  npx tsc -p . || { echo "build failed: fix the type errors and run again" >&2; exit 1; }
fi

failed=()
for name in "${BENCHES[@]}"; do
  echo
  echo "== $name  ($(date -u +%H:%M:%S))"
  # Each benchmark bounds its own time and cleans up after itself; this is a last guard.
  extra=()
  # BENCH_KEEP_DIR=DIR keeps the 100,000-mailbox store between runs (building it takes minutes).
  if { [ "$name" = big-domain-list ] || [ "$name" = startup ]; } && [ -n "${BENCH_KEEP_DIR:-}" ]; then extra=(--dir "$BENCH_KEEP_DIR"); fi
  if ! timeout --signal=TERM --kill-after=20 540 node "dist/bench/$name.js" "${extra[@]}"; then
    failed+=("$name")
  fi
done

if [ "$#" -eq 0 ]; then
  for spec in console-scale console-live-updates; do
    echo
    echo "== $spec  ($(date -u +%H:%M:%S))"
    timeout --signal=TERM --kill-after=20 540 npx playwright test --config bench/playwright.config.ts "$spec" || failed+=("$spec")
  done
fi

echo
node dist/bench/write-results.js
if [ "${#failed[@]}" -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
