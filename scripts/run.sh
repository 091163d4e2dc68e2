#!/usr/bin/env bash
# The main job on the embedded default, from a fresh checkout: creates .venv, installs
# arbctl, starts the engine in the background on the simulated market with the SQLite
# ledger, and shows its trades as they happen. Ctrl-C stops watching; the engine keeps
# running until `.venv/bin/arbctl down`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e .

ARBCTL=.venv/bin/arbctl
if ! $ARBCTL status >/dev/null 2>&1; then
  $ARBCTL up
fi
$ARBCTL status
echo
echo "Live trades below (Ctrl-C to stop watching; the engine keeps running)."
echo "Then: $ARBCTL pnl | $ARBCTL trades | $ARBCTL kill --reason ... | $ARBCTL down"
echo
exec $ARBCTL events --follow --topic trade
