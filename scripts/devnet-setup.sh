#!/usr/bin/env bash
# Install the devnet toolchain (anvil, Uniswap V2 and V3, Balancer V2 and Aave V3 artifacts, solcjs) from npm into
# ${ARBCTL_NPM_DIR:-${XDG_CACHE_HOME:-~/.cache}/arbctl/npm} and compile our contracts, so a
# CI job can cache that directory and the devnet tests start without installing anything.
# Idempotent: a second run only checks the pins. Needs node and npm on PATH.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$repo/.venv/bin/python}"

cd "$repo"
exec "$python" - <<'PY'
from engine.devnet import compile, npm

root = npm.ensure_installed()
compile.compile_contracts(root)
print(f"devnet toolchain ready in {root}")
print(f"anvil: {npm.anvil_binary(root)}")
PY
