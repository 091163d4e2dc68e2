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
# pip's own output only when it fails: a clean start should read clean.
quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    return 1
  fi
}
echo "setting up .venv (first run takes a minute) ..."
quiet .venv/bin/python -m pip install --upgrade pip
quiet .venv/bin/python -m pip install -e .

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
