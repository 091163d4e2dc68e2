#!/usr/bin/env bash
# Evening checklist (runbook 2's scripts/daily-shutdown.sh): a thin wrapper around
# `arbctl checklist evening`: today's P&L summary, the day's trades exported to CSV,
# anomalies detected today, gzip copies of the logs into <state dir>/logs/archive (old
# archives pruned), reconciliation (docs/runbook.md). It does not stop the engine.
#
#   scripts/daily-shutdown.sh [--reports-dir DIR] [--retention-days 30] [--json]
#                             [--state-dir D] [--socket S]
#
# arbctl: next to this script (the repo's .venv/bin/arbctl), then $ARBCTL, then PATH; the
# one used is named on stderr (scripts/find-arbctl.sh). Env: ARBCTL_SOCKET,
# ARBCTL_STATE_DIR as for arbctl. Options are passed to `arbctl checklist evening`.
# Exit: arbctl's: 0 all pass · 1 a warning · 2 a failure · 3 engine unreachable ·
# 127 no arbctl found.
set -uo pipefail

# shellcheck source=find-arbctl.sh
. "$(dirname "${BASH_SOURCE[0]}")/find-arbctl.sh"
find_arbctl || exit 127

echo "Daily Shutdown Checklist" >&2
"$ARBCTL" checklist evening "$@"
rc=$?
case "$rc" in
  0) echo "Shutdown checks complete." >&2 ;;
  1) echo "Shutdown checks complete with warnings: read the next steps above." >&2 ;;
  *) echo "Shutdown checks FAILED: follow the next steps above." >&2 ;;
esac
exit "$rc"
