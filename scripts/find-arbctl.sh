# shellcheck shell=bash
# Sourced by every runbook script that calls arbctl: `find_arbctl` sets ARBCTL to the
# arbctl to run and ARBCTL_PYTHON (unless set) to the Python of that install, and says
# on stderr which it used. A machine set up by the README has arbctl only in the repo's
# .venv, so the order is:
#   1. next to the script: <script dir>/../.venv/bin/arbctl (a checkout set up by
#      ./scripts/run.sh), then <script dir>/arbctl (installed side by side, as in the
#      container image);
#   2. $ARBCTL;
#   3. arbctl on PATH.
# Returns 1, having said where it looked, when there is none.

find_arbctl() {
  local here candidate how=""
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  for candidate in "$here/../.venv/bin/arbctl" "$here/arbctl"; do
    if [ -f "$candidate" ] && [ -x "$candidate" ]; then
      ARBCTL="$(cd "$(dirname "$candidate")" && pwd)/arbctl"
      how="next to the script"
      break
    fi
  done
  if [ -z "$how" ] && [ -n "${ARBCTL:-}" ]; then
    if candidate="$(command -v -- "$ARBCTL")" && [ -f "$candidate" ]; then
      how="\$ARBCTL"
    else
      echo "$(basename "$0"): \$ARBCTL=$ARBCTL is not a command; trying PATH" >&2
    fi
  fi
  if [ -z "$how" ] && candidate="$(command -v arbctl)"; then
    ARBCTL="$candidate"
    how="PATH"
  fi
  if [ -z "$how" ]; then
    echo "$(basename "$0"): no arbctl found: not in $here/../.venv/bin nor $here," \
      "\$ARBCTL is ${ARBCTL:-unset}, and none on PATH ($PATH). Install it: ./scripts/run.sh" >&2
    return 1
  fi
  if [ -z "${ARBCTL_PYTHON:-}" ]; then
    ARBCTL_PYTHON="python3"
    local beside
    beside="$(dirname "$(command -v -- "$ARBCTL")")/python"
    if [ -x "$beside" ]; then ARBCTL_PYTHON="$beside"; fi
  fi
  export ARBCTL ARBCTL_PYTHON
  echo "$(basename "$0"): using arbctl $ARBCTL ($how)" >&2
}
