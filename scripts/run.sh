#!/usr/bin/env bash
# The main job on the embedded default, from a fresh checkout: creates .venv, installs
# arbctl, starts the engine in the background on the simulated market with the SQLite
# ledger, and shows its trades as they happen. Ctrl-C stops watching; the engine keeps
# running until `.venv/bin/arbctl down`.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/venv.sh

ARBCTL=.venv/bin/arbctl
if ! $ARBCTL status >/dev/null 2>&1; then
  $ARBCTL up --config scripts/demo.toml
fi
$ARBCTL status
echo
echo "Live trades below (Ctrl-C to stop watching; the engine keeps running)."
echo "Then: $ARBCTL pnl | $ARBCTL trades | $ARBCTL kill --reason ... | $ARBCTL down"
echo
exec $ARBCTL events --follow --topic trade
