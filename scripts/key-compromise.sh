#!/usr/bin/env bash
# Key Compromise Response (runbook): halt and stop the engine, create a new key, sweep
# every asset of the compromised key — the executor's tokens, the wallet's tokens, then
# its ETH minus the last transfer's gas — to your backup address, and point the config
# at the new key. A thin wrapper of `arbctl wallet rotate --shutdown`; every step is
# reported, and you confirm by typing the backup address (or pass --yes in a script).
#
#   scripts/key-compromise.sh --sweep-to BACKUP_ADDRESS [--config FILE] [--yes] [REASON...]
#
# The engine is halted FIRST (`arbctl kill`, with its fallback when the engine does not
# answer), before anything that could refuse — a compromised key must stop signing even
# when the rest of the command line is wrong. Any other `arbctl wallet rotate` option
# (--rpc-url, --new-key, --json, --socket, --state-dir, --timeout, --redeploy) is passed through;
# --socket and --state-dir also reach the halt; --redeploy also deploys a new executor for
# the new key. Then, by hand: (without --redeploy, `arbctl executor deploy`), fund the new
# key from the backup address, resume after review (docs/runbook.md).
# arbctl: next to this script (the repo's .venv/bin/arbctl), then $ARBCTL, then PATH; the
# one used is named on stderr (scripts/find-arbctl.sh).
# Exit codes: those of `arbctl wallet rotate` (0 done · 1 a step failed · 2 usage) ·
# 127 no arbctl found.
set -euo pipefail

# shellcheck source=find-arbctl.sh
. "$(dirname "${BASH_SOURCE[0]}")/find-arbctl.sh"
find_arbctl || exit 127
args=()
where=()
reason=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --yes | -y | --json | --shutdown | --redeploy) args+=("$1"); shift ;;
    --socket=* | --state-dir=*) args+=("$1"); where+=("$1"); shift ;;
    --*=*) args+=("$1"); shift ;;
    --*) [ $# -ge 2 ] || { echo "key-compromise: $1 needs a value" >&2; exit 2; }
      case "$1" in --socket | --state-dir) where+=("$1" "$2") ;; esac
      args+=("$1" "$2"); shift 2 ;;
    *) reason+=("$1"); shift ;;
  esac
done
why="key compromise${reason[*]:+: ${reason[*]}}"
echo "KEY COMPROMISE RESPONSE — $why" >&2
if "$ARBCTL" kill --reason "$why" ${where[@]+"${where[@]}"} >&2; then
  echo "key-compromise: engine halted; now rotating the key" >&2
else
  echo "key-compromise: HALT NOT CONFIRMED (see above) — stop the engine by hand NOW;" \
    "rotating the key anyway" >&2
fi
exec "$ARBCTL" wallet rotate --shutdown --reason "$why" ${args[@]+"${args[@]}"}
