"""The runbooks' "action if failed" lines, as arbctl commands, in one place.

Each entry names the runbook section it comes from, so an operator who wants the whole
procedure knows where to look, and says which command does the step today. Checklists
and triage both quote these, so the advice for one symptom is the same wherever it shows.
"""

from __future__ import annotations

ENGINE_DOWN = (
    "Service Start / Service Recovery (runbook 1): `arbctl triage` says why; "
    "`arbctl logs --errors --since 10m`; start it with `arbctl up` (or systemctl start)"
)
PAUSED = (
    "paused by an operator: `arbctl audit --since 24h` says who and why; "
    "`arbctl resume --reason …` once cleared"
)
HALTED = (
    "Emergency Shutdown Activated (runbook 2, immediate): call the emergency contact; "
    "`arbctl audit` says who and why; resume only after approval: `arbctl resume --reason …`"
)
HEALTH = (
    "Health Check Verification (runbook 1): `arbctl health` names the failing check; "
    "the ledger, logs and loop_latency items say what to do for each"
)
LEDGER = (
    "Database Connection Issues (runbook 1): check the database (pg_isready, the role can "
    "log in, disk space); rows are kept and trading resumes by itself when writes succeed "
    "(docs/accounting.md); `arbctl logs --errors --search ledger`"
)
REDIS = (
    "Redis failed → check Redis (`redis-cli ping`, its log); trading continues without it "
    "(docs/redis.md); `arbctl logs --search redis`"
)
LOGS = (
    "Logs not updated → engine not running (runbook 1): `arbctl status`, `arbctl triage`; "
    "check the log directory is writable"
)
LATENCY = (
    "High Latency (runbook 1, Scenario 2): `arbctl triage` shows resources, database and "
    "RPC latency; look for CPU-hungry processes, a slow database (VACUUM), a slow RPC"
)
BREAKER = (
    "Circuit Breaker Triggered (runbook 2, 5 min): `arbctl breaker`, `arbctl guards`, "
    "`arbctl trades --failed`; `arbctl breaker reset --reason …` if a false positive"
)
RECONCILE = (
    "Reconciliation mismatch (runbook 2): `arbctl reconcile` shows the difference per "
    "token; `arbctl pause --reason …` until it is explained"
)
NO_TRADES = (
    "No Trading Activity (runbook 1, Scenario 3): `arbctl triage` (breaker, guard "
    "triggers, head age, opportunities seen); no opportunities is a normal market condition"
)
SUCCESS_RATE = (
    "Low Success Rate < 70 % (runbook 2, 15 min): review market conditions and gas "
    "prices; `arbctl trades --failed` for the revert reasons"
)
GUARDS = (
    "RiskGuard triggered (runbook 1, Scenario 3): `arbctl guards` — review guard "
    "conditions, adjust thresholds in [guards] if needed"
)
ERROR_RATE = (
    "High Error Rate (runbook 1, P1): `arbctl logs --errors --since 10m` for the patterns; "
    "database errors → check the database; RPC errors → providers; trading errors → a "
    "logic bug, consider `arbctl pause --reason …`; escalate if not resolved in 30 min"
)
ERRORS_SOME = (
    "Error count 5–20 → investigate (runbook 1): `arbctl logs --errors --since 1h`; "
    "more than 20 → High Error Rate (`arbctl triage`)"
)
PROVIDERS = (
    "Provider Failure (runbook 2, 15 min): verify failover works (`arbctl status`: which "
    "provider is active, head age); check the provider's status; switch if it stays down"
)
GAS = (
    "Gas Price Spike (runbook 2, 1 h): monitor; above the cap the max_gas_price guard "
    "blocks trades that gas would make unprofitable (`arbctl gas`)"
)
DISK = (
    "Disk Space Management (runbook 1): `arbctl db cleanup --older-than 30d`; "
    "`arbctl checklist evening --retention-days N` prunes log archives; free the volume"
)
RESOURCES = (
    "High Resource Usage (runbook 1): `arbctl status` (cpu, rss); look for other "
    "processes; restart the engine if its memory keeps growing"
)
ANOMALIES = (
    "Anomaly Detected (runbook 2, 1 h): `arbctl metrics` lists each anomaly and its trade; "
    "`arbctl trade ID`; decide whether to act"
)
EXPORT = (
    "the CSV export failed: `arbctl export trades --period today --out FILE` by hand; "
    "check the reports directory is writable and the ledger is up"
)
ARCHIVE = "the log archive failed: check the archive directory's permissions and free space"
ENGINE_FROZEN = (
    "the engine process is alive but does not answer (frozen, SIGSTOPped or overloaded): "
    "`arbctl kill --reason …` works without the socket; then `arbctl down --force`, "
    "`arbctl up`"
)
ENGINE_CRASHED = (
    "P0 Service Crashed (runbook 1): keep the evidence (`arbctl logs --since 10m`), check "
    "recent changes, restart (`arbctl up`); if it will not start: `arbctl logs --errors`, "
    "roll back; then `arbctl incident new --severity P0 --title …`"
)
ENGINE_STOPPED = (
    "Service Start (runbook 1): the engine was stopped cleanly; start it with `arbctl up` "
    "(or systemctl start) if it should be running"
)
