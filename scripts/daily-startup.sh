#!/usr/bin/env bash
# Morning checklist (runbook 2's scripts/daily-startup.sh, runbook 1's 09:00 checklist):
# a thin wrapper around `arbctl checklist morning`, which checks the engine, its health
# (ledger, Redis, logs, loop latency), breaker and halt, balances, today's trades,
# providers, gas, the last hour's errors, disk and resources, each PASS/WARN/FAIL with
# the runbook's next step (docs/runbook.md).
#
#   scripts/daily-startup.sh [--json] [--state-dir D] [--socket S]
#
# arbctl: next to this script (the repo's .venv/bin/arbctl), then $ARBCTL, then PATH; the
# one used is named on stderr (scripts/find-arbctl.sh). Env: ARBCTL_SOCKET,
# ARBCTL_STATE_DIR as for arbctl. Options are passed to `arbctl checklist morning`.
# Exit: arbctl's: 0 all pass (ready for trading) · 1 a warning · 2 a failure ·
# 3 engine unreachable ·
# 127 no arbctl found.
set -uo pipefail

# shellcheck source=find-arbctl.sh
. "$(dirname "${BASH_SOURCE[0]}")/find-arbctl.sh"
find_arbctl || exit 127

echo "Daily Startup Checklist" >&2
"$ARBCTL" checklist morning "$@"
rc=$?
case "$rc" in
  0) echo "Startup checks complete. Ready for trading." >&2 ;;
  1) echo "Startup checks complete with warnings: read the next steps above." >&2 ;;
  *) echo "NOT ready for trading: follow the next steps above; \`$ARBCTL triage\` for on-call." >&2 ;;
esac
exit "$rc"
