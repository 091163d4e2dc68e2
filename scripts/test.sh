#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: creates .venv, installs the project with
# its test tools, runs the static checks (ruff lint and format, mypy), makes sure
# PostgreSQL and Redis answer (scripts/services.sh: it installs and starts them if it
# must), installs the devnet's npm packages (anvil, Uniswap V2/V3, Balancer, Aave, solc) into the cache, then
# runs pytest. What services.sh started is stopped when this exits; services that were
# already running are left alone. Needs Python >= 3.11, pip, node, npm.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=""
for tool in node npm; do
  command -v "$tool" >/dev/null || missing="$missing $tool"
done
if [ -n "$missing" ]; then
  echo "test.sh:$missing not found on PATH. The devnet tests install anvil, the Uniswap V2" \
    "contracts and solc from npm: install Node.js 18 or newer with npm (e.g." \
    "\`apt-get install nodejs npm\`), then retry." >&2
  exit 1
fi

./scripts/venv.sh dev

# The static checks, before anything slow (each configured in pyproject.toml): lint, format,
# types. Any failure fails the run, so CI enforces them.
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

trap './scripts/services.sh down' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
./scripts/services.sh up

if [ -x scripts/devnet-setup.sh ]; then
  ./scripts/devnet-setup.sh
fi

.venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "$@"
