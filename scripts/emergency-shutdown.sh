#!/usr/bin/env bash
# Emergency shutdown: the runbooks' "Emergency Stop (Kill Switch)" and "Emergency
# Shutdown" in one command, each step reported as it happens.
#
#   scripts/emergency-shutdown.sh [--config F] [--state-dir D] [--socket S] REASON...
#
#  1. halt    `arbctl kill --shutdown --reason REASON`: the engine persists the halt and
#             stops; if it does not answer (frozen, SIGSTOPped), arbctl writes the halt
#             marker itself and signals the pid. A restarted engine comes back halted.
#  2. verify  `arbctl status`: nothing answers, or what answers is halted; an engine
#             that holds the socket frozen and could not be signalled fails it.
#  3. log     one line in <state-dir>/logs/emergency-shutdown.log: time, user, reason.
#  4. alert   the engine's own P0 `emergency_halt` alert (found in its log); if it did not
#             fire (engine unreachable), one is sent through the configured [alerts]
#             webhook and command hook — or, with neither configured, only logged.
#  5. logs    <state-dir>/logs copied to <state-dir>/logs_emergency_<UTC time>/.
#  6. backup  `arbctl db backup <state-dir>/ledger_emergency_<UTC time>.backup`
#             (PostgreSQL: the pg_dump command to run is printed).
#
# arbctl: next to this script (the repo's .venv/bin/arbctl), then $ARBCTL, then PATH; the
# one used is named on stderr (scripts/find-arbctl.sh). Env: ARBCTL_PYTHON (the Python of
# that install, default: `python` beside it), ARBCTL_CONFIG / ARBCTL_STATE_DIR /
# ARBCTL_SOCKET as for arbctl (the options above set them).
# Exit: 0 halted, stopped and preserved · 1 the halt could NOT be confirmed: act by hand
# (docs/runbook.md) · 2 usage · 5 halted, but a later step failed (see the report).
set -euo pipefail

usage() { # usage EXIT_CODE: the header comment above, as help
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  exit "$1"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --config) [ $# -ge 2 ] || usage 2; export ARBCTL_CONFIG="$2"; shift 2 ;;
    --state-dir) [ $# -ge 2 ] || usage 2; export ARBCTL_STATE_DIR="$2"; shift 2 ;;
    --socket) [ $# -ge 2 ] || usage 2; export ARBCTL_SOCKET="$2"; shift 2 ;;
    -h | --help) usage 0 ;;
    --) shift; break ;;
    -*) echo "emergency-shutdown: unknown option $1" >&2; usage 2 >&2 ;;
    *) break ;;
  esac
done
REASON="$*"
REASON="${REASON//$'\n'/ }"
if [ -z "${REASON// /}" ]; then
  echo "emergency-shutdown: a REASON is required (it goes to the audit log and the alert)" >&2
  usage 2 >&2
fi

FIND_ARBCTL="$(dirname "${BASH_SOURCE[0]}")/find-arbctl.sh"
# shellcheck source=find-arbctl.sh
if ! { [ -r "$FIND_ARBCTL" ] && . "$FIND_ARBCTL" && find_arbctl; }; then
  echo "EMERGENCY SHUTDOWN — reason: $REASON"
  printf '  [%-4s] %-7s %s\n' FAIL halt "cannot halt: no arbctl, see above ($FIND_ARBCTL)"
  echo "HALT NOT CONFIRMED — stop the engine by hand (systemctl stop / docker compose kill) and check again"
  exit 1
fi
STARTED="$(date +%s)"
STAMP="$(date -u +%Y%m%d_%H%M%S)"
HALT_CONFIRMED=0
LATER_FAILED=0
FROZEN=0

report() { # report STEP ok|FAIL|note DETAIL
  printf '  [%-4s] %-7s %s\n' "$2" "$1" "$3"
}

json_field() { # json_field FIELD < JSON: a top-level field, empty if absent
  "$ARBCTL_PYTHON" -c '
import json, sys
try:
    value = json.load(sys.stdin).get(sys.argv[1])
except (ValueError, AttributeError):
    value = None
print("" if value is None else str(value).lower() if isinstance(value, bool) else value)
' "$1"
}

json_steps() { # the `steps` list of arbctl's JSON answer, one "mark<TAB>name: detail" per line
  "$ARBCTL_PYTHON" -c '
import json, sys
try:
    steps = json.load(sys.stdin).get("steps") or []
except (ValueError, AttributeError):
    steps = []
for s in steps:
    print(("ok  " if s.get("ok") else "FAIL") + "\t" + str(s.get("step")) + ": " + str(s.get("detail")))
'
}

echo "EMERGENCY SHUTDOWN — reason: $REASON"

# --- 1. halt --------------------------------------------------------------------------
kill_rc=0
kill_out="$("$ARBCTL" kill --shutdown --reason "emergency shutdown: $REASON" --json)" || kill_rc=$?
VIA="$(json_field via <<<"$kill_out")"
STATE_DIR="$(json_field state_dir <<<"$kill_out")"
STATE_DIR="${STATE_DIR:-${ARBCTL_STATE_DIR:-}}"
while IFS=$'\t' read -r mark detail; do
  if [ -n "$detail" ]; then report kill "$mark" "$detail"; fi
done < <(json_steps <<<"$kill_out")
if [ "$kill_rc" -eq 0 ] && [ "$(json_field halted <<<"$kill_out")" = "true" ]; then
  HALT_CONFIRMED=1
  if [ "$VIA" = "engine" ]; then
    report halt ok "engine acknowledged the halt and is shutting down"
  else
    report halt ok "engine did not answer: halt persisted by arbctl ($(json_field marker <<<"$kill_out")); it comes back halted if restarted"
  fi
elif [ "$(json_field halted <<<"$kill_out")" = "true" ] && [ "$(json_field persisted <<<"$kill_out")" = "false" ]; then
  report halt FAIL "engine halted IN MEMORY ONLY: it could not write the halt (full disk?) — free space in ${STATE_DIR:-its state dir}; it stays up and writes it by itself; do NOT restart it before \`arbctl status\` shows the halt persisted"
else
  VIA="${VIA:-none}"
  report halt FAIL "arbctl kill exited $kill_rc: the halt is NOT confirmed — stop the engine by hand"
fi

# --- 2. verify ------------------------------------------------------------------------
status_rc=0
status_out="$("$ARBCTL" status --json 2>/dev/null)" || status_rc=$?
state="$(json_field state <<<"$status_out")"
why="$("$ARBCTL_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["error"]["reason"])' \
  <<<"$status_out" 2>/dev/null || true)"
if [ "$status_rc" -eq 3 ] && [ "$why" = "timeout" ]; then
  HALT_CONFIRMED=0
  FROZEN=1
  report verify FAIL "an engine holds the socket but does not answer (frozen?) and was not stopped: it could trade again if it wakes"
elif [ "$status_rc" -eq 3 ]; then
  report verify ok "no engine answers on its socket (stopped)"
elif [ "$status_rc" -eq 0 ] && [ "$state" = "halted" ]; then
  report verify ok "an engine answers and is HALTED (restarted by its supervisor?)"
else
  HALT_CONFIRMED=0
  report verify FAIL "an engine answers in state '${state:-?}' (status exit $status_rc): NOT halted"
fi

# --- 3. log line ----------------------------------------------------------------------
LOG_LINE="$(date -u +%Y-%m-%dT%H:%M:%SZ) user=$(id -un) halt=$VIA reason=$REASON"
if [ -n "$STATE_DIR" ] && mkdir -p "$STATE_DIR/logs" \
  && printf '%s\n' "$LOG_LINE" >>"$STATE_DIR/logs/emergency-shutdown.log"; then
  report log ok "$STATE_DIR/logs/emergency-shutdown.log: $LOG_LINE"
else
  LATER_FAILED=1
  report log FAIL "no state directory to log in: $LOG_LINE"
fi

# --- 4. alert -------------------------------------------------------------------------
engine_alert=""
if [ -n "$STATE_DIR" ] && [ "$VIA" = "engine" ]; then
  engine_alert="$("$ARBCTL" logs --state-dir "$STATE_DIR" --search 'FIRING emergency_halt' \
    --since "$STARTED" --tail 1 2>/dev/null || true)"
fi
if [ -n "$engine_alert" ]; then
  report alert ok "the engine fired its P0 emergency_halt alert (log and configured sinks)"
else
  alert_rc=0
  alert_out="$(
    "$ARBCTL_PYTHON" - "$REASON" "$VIA" "$(id -un)" 2>&1 <<'PY'
"""The engine could not alert: send its P0 emergency_halt notification ourselves."""
import os
import socket
import sys
import time

from engine.config import ConfigError, load
from engine.telemetry.alerts.sinks import CommandSender, WebhookSender

reason, via, user = sys.argv[1:4]
try:
    config = load(os.environ.get("ARBCTL_CONFIG") or None)
except ConfigError as exc:
    sys.exit(f"no alert sinks: {exc}")
section, host, now = config.alerts, socket.gethostname(), time.time()
note = {
    "id": f"emergency_halt-script-{int(now)}",
    "rule": "emergency_halt",
    "severity": "P0",
    "status": "firing",
    "summary": f"EMERGENCY SHUTDOWN by {user}: {reason} "
    f"(halt via {via}; the engine did not send this alert)",
    "value": "halted",
    "condition": "the engine is halted (kill switch)",
    "action": "call the emergency contact; `arbctl audit` and emergency-shutdown.log say why",
    "since": now, "fired_at": now, "resolved_at": None, "repeat": 0, "ts": now,
    "engine": {"host": host, "pid": None},
}
senders = []
if section.webhook_url:
    senders.append(("webhook", WebhookSender(section.webhook_url, section.webhook_timeout_s, host)))
if section.command:
    withheld = frozenset({config.evm.key_env, "ARBCTL_PRIVATE_KEY"})
    senders.append(("command", CommandSender(section.command, section.command_timeout_s, withheld)))
if not senders:
    print("no [alerts] webhook or command configured: recorded in emergency-shutdown.log only")
failed = 0
for name, send in senders:
    try:
        send(note)
        print(f"P0 emergency_halt sent by {name}")
    except Exception as exc:  # each sink on its own: one dead webhook must not stop the pager
        failed += 1
        print(f"{name} failed: {exc}")
sys.exit(1 if senders and failed == len(senders) else 0)
PY
  )" || alert_rc=$?
  alert_out="${alert_out//$'\n'/; }"
  if [ "$alert_rc" -eq 0 ]; then
    report alert ok "engine did not alert; $alert_out"
  else
    LATER_FAILED=1
    report alert FAIL "could not alert: $alert_out — call the team yourself"
  fi
fi

# --- 5. preserve logs -----------------------------------------------------------------
if [ -n "$STATE_DIR" ] && [ -d "$STATE_DIR/logs" ]; then
  dest="$STATE_DIR/logs_emergency_$STAMP"
  [ -e "$dest" ] && dest="${dest}_$$"
  if cp -a "$STATE_DIR/logs" "$dest"; then
    report logs ok "copied to $dest"
  else
    LATER_FAILED=1
    report logs FAIL "could not copy $STATE_DIR/logs to $dest"
  fi
else
  LATER_FAILED=1
  report logs FAIL "no log directory under '${STATE_DIR:-?}'"
fi

# --- 6. back up the ledger ------------------------------------------------------------
if [ "$FROZEN" -eq 1 ]; then
  LATER_FAILED=1
  report backup FAIL "skipped: the engine holds its ledger but does not answer; back up once it is stopped"
elif [ -n "$STATE_DIR" ]; then
  backup="$STATE_DIR/ledger_emergency_$STAMP.backup"
  backup_rc=0
  backup_out="$("$ARBCTL" db backup "$backup" --state-dir "$STATE_DIR" \
    --reason "emergency shutdown: $REASON" --json)" || backup_rc=$?
  command_line="$(json_field command <<<"$backup_out")"
  if [ "$backup_rc" -eq 0 ] && [ -n "$command_line" ]; then
    report backup note "PostgreSQL ledger: run (with PGPASSWORD or ~/.pgpass): $command_line"
  elif [ "$backup_rc" -eq 0 ]; then
    report backup ok "$(json_field path <<<"$backup_out") ($(json_field bytes <<<"$backup_out") bytes)"
  else
    LATER_FAILED=1
    message="$("$ARBCTL_PYTHON" -c 'import json,sys; print(json.load(sys.stdin)["error"]["message"])' \
      <<<"$backup_out" 2>/dev/null || echo "exit $backup_rc")"
    report backup FAIL "arbctl db backup: $message"
  fi
else
  LATER_FAILED=1
  report backup FAIL "no state directory: run arbctl db backup FILE by hand"
fi

# --- summary --------------------------------------------------------------------------
if [ "$HALT_CONFIRMED" -ne 1 ]; then
  echo "HALT NOT CONFIRMED — stop the engine by hand (systemctl stop / docker compose kill) and check again"
  exit 1
fi
echo "Engine halted. Next: document the reason, investigate, fix, test on a devnet;"
echo "resume only after approval: arbctl up && arbctl resume --reason '...'."
echo "Contact the emergency response team now."
if [ "$LATER_FAILED" -ne 0 ]; then
  exit 5
fi
