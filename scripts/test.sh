#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: creates .venv, installs the project with
# its test tools, makes sure PostgreSQL and Redis answer, installs the devnet's npm
# packages (anvil, Uniswap V2, solc) into the cache, then runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/venv.sh dev

./scripts/services.sh

if [ -x scripts/devnet-setup.sh ]; then
  ./scripts/devnet-setup.sh
fi

exec .venv/bin/python -m pytest -n 2 -q -p no:cacheprovider "$@"
