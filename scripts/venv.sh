#!/usr/bin/env bash
# Create .venv if missing and install arbctl into it (editable). Usage: venv.sh [EXTRAS]
# e.g. `scripts/venv.sh dev` for the test tools. pip speaks only when it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

quiet() {
  local out
  if ! out=$("$@" 2>&1); then
    echo "$out" >&2
    return 1
  fi
}

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
echo "setting up .venv (the first run takes a minute) ..."
quiet .venv/bin/python -m pip install --upgrade pip
quiet .venv/bin/python -m pip install -e ".${1:+[$1]}"
