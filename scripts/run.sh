#!/usr/bin/env bash
# The main job on the embedded default, from a fresh checkout: creates .venv, installs
# arbctl, starts the engine in the background on the simulated market with the SQLite
# ledger, and shows its trades as they happen, one readable line each (time, route by
# symbol and pool, size, profit in USDC, status, revert reason). Ctrl-C stops watching;
# the engine keeps running until `.venv/bin/arbctl down`.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/venv.sh

ARBCTL=.venv/bin/arbctl
if ! $ARBCTL status >/dev/null 2>&1; then
  $ARBCTL up --config scripts/demo.toml
fi
$ARBCTL status
echo
echo "The console (dashboard, trades, pause/kill keys): $ARBCTL tui"
echo "Also: $ARBCTL pnl · $ARBCTL trades --failed · $ARBCTL kill --reason ... · $ARBCTL down"
echo
echo "Live trades below, as they happen (Ctrl-C stops watching; the engine keeps running):"
exec $ARBCTL events --follow --topic trade
