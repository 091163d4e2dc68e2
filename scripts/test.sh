#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: creates .venv, installs the project with
# its test tools, makes sure PostgreSQL and Redis answer, installs the devnet's npm
# packages (anvil, Uniswap V2, solc) into the cache, then runs pytest.
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
quiet .venv/bin/python -m pip install -e '.[dev]'

./scripts/services.sh

if [ -x scripts/devnet-setup.sh ]; then
  ./scripts/devnet-setup.sh
fi

exec .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "$@"
