#!/usr/bin/env bash
# Key Compromise Response (runbook): halt and stop the engine, create a new key, sweep
# every asset of the compromised key — the executor's tokens, the wallet's tokens, then
# its ETH minus the last transfer's gas — to your backup address, and point the config
# at the new key. A thin wrapper of `arbctl wallet rotate --shutdown`; every step is
# reported, and you confirm by typing the backup address (or pass --yes in a script).
#
#   scripts/key-compromise.sh --sweep-to BACKUP_ADDRESS [--config FILE] [--yes] [REASON...]
#
# Any other `arbctl wallet rotate` option (--rpc-url, --new-key, --json, --socket,
# --state-dir, --timeout) is passed through. Then, by hand: deploy a new executor for
# the new key, fund it from the backup address, resume after review (docs/runbook.md).
# Exit codes: those of `arbctl wallet rotate` (0 done · 1 a step failed · 2 usage).
set -euo pipefail

ARBCTL="${ARBCTL:-arbctl}"
args=()
reason=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    --yes | -y | --json | --shutdown) args+=("$1"); shift ;;
    --*=*) args+=("$1"); shift ;;
    --*) [ $# -ge 2 ] || { echo "key-compromise: $1 needs a value" >&2; exit 2; }
      args+=("$1" "$2"); shift 2 ;;
    *) reason+=("$1"); shift ;;
  esac
done
why="key compromise${reason[*]:+: ${reason[*]}}"
echo "KEY COMPROMISE RESPONSE — $why" >&2
exec "$ARBCTL" wallet rotate --shutdown --reason "$why" ${args[@]+"${args[@]}"}
