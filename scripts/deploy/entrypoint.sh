#!/usr/bin/env bash
# Container entrypoint: render the engine config from its template with this container's
# environment ($ARBCTL_LEDGER_DSN, $ARBCTL_REDIS_URL, …; `$$` is a literal `$`), mode
# 0600 because DSNs hold passwords, then run the command (default: arbctl engine run).
# A variable the template needs but the environment lacks stops the container here,
# with its name, instead of starting an engine on half a config.
set -euo pipefail

template="${ARBCTL_CONFIG_TEMPLATE:-/etc/arbctl/engine.toml.in}"
python - "$template" "$ARBCTL_CONFIG" <<'PY'
import os
import string
import sys

source, target = sys.argv[1], sys.argv[2]
try:
    text = string.Template(open(source, encoding="utf-8").read()).substitute(os.environ)
except KeyError as missing:
    sys.exit(f"arbctl-entrypoint: {source} needs the environment variable {missing}")
temporary = target + ".tmp"
descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
    handle.write(text)
os.replace(temporary, target)
PY
arbctl config validate "$ARBCTL_CONFIG" >/dev/null
exec "$@"
