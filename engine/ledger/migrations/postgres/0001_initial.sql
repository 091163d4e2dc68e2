-- The ledger on PostgreSQL. Money is NUMERIC(78,0): exact, and 78 digits hold any
-- uint256. Rollup sums are unconstrained NUMERIC so a long sum can never overflow.
-- Tables live in the configured schema (the connection's search_path).
-- JSON, not JSONB: the text is kept as written, so values come back exactly as they went
-- in (JSONB would turn a float like 1e20 into an integer), the same as on SQLite.

CREATE TABLE trades (
    id              TEXT PRIMARY KEY,
    opportunity_id  TEXT NOT NULL,
    venue           TEXT NOT NULL,
    route           JSON NOT NULL,
    token           TEXT NOT NULL,
    token_symbol    TEXT NOT NULL,
    amount_in       NUMERIC(78, 0) NOT NULL,
    amount_out      NUMERIC(78, 0) NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('success', 'reverted', 'failed')),
    revert_reason   TEXT NOT NULL,
    gas_used        BIGINT NOT NULL,
    gas_price       NUMERIC(78, 0) NOT NULL,
    gas_cost_wei    NUMERIC(78, 0) NOT NULL,
    flash_fee       NUMERIC(78, 0) NOT NULL,
    profit_token    NUMERIC(78, 0) NOT NULL,
    profit_native   NUMERIC(78, 0) NOT NULL,
    profit_quote    NUMERIC(78, 0) NOT NULL,
    expected_profit NUMERIC(78, 0) NOT NULL,
    block_number    BIGINT NOT NULL,
    tx_hash         TEXT NOT NULL,
    detected_at     DOUBLE PRECISION NOT NULL,
    submitted_at    DOUBLE PRECISION NOT NULL,
    mined_at        DOUBLE PRECISION NOT NULL,
    gas_cost_quote  NUMERIC(78, 0) NOT NULL,
    flash_fee_quote NUMERIC(78, 0) NOT NULL
);

-- list_trades and the partial hours of pnl read by detection time; the status filters
-- (failed_only, status=...) read by status, newest first.
CREATE INDEX trades_by_detected_at ON trades (detected_at);
CREATE INDEX trades_by_status ON trades (status, detected_at);

-- Per hour and per day (span), and per token: the totals pnl needs, maintained in the
-- transaction that inserts the trades. A long period reads whole days from here, the
-- hours at its ends from the hourly rows, and only the partial hours from trades.
CREATE TABLE trade_rollup (
    span            BIGINT NOT NULL,  -- bucket length in seconds: 3600 or 86400
    start           BIGINT NOT NULL,  -- epoch seconds, a multiple of span
    token           TEXT NOT NULL,
    token_symbol    TEXT NOT NULL,
    trades          BIGINT NOT NULL,
    successful      BIGINT NOT NULL,
    reverted        BIGINT NOT NULL,
    failed          BIGINT NOT NULL,
    gas_cost_wei    NUMERIC NOT NULL,
    gas_cost_quote  NUMERIC NOT NULL,
    flash_fee       NUMERIC NOT NULL,
    flash_fee_quote NUMERIC NOT NULL,
    profit_token    NUMERIC NOT NULL,
    profit_native   NUMERIC NOT NULL,
    profit_quote    NUMERIC NOT NULL,
    PRIMARY KEY (span, start, token)
);

CREATE TABLE guard_triggers (
    id             TEXT PRIMARY KEY,
    ts             DOUBLE PRECISION NOT NULL,
    guard          TEXT NOT NULL,
    action         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    observed       TEXT NOT NULL,
    threshold      TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    trade_id       TEXT NOT NULL
);
CREATE INDEX guard_triggers_by_ts ON guard_triggers (ts);

CREATE TABLE audit (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts      DOUBLE PRECISION NOT NULL,
    uid     BIGINT NOT NULL,
    client  TEXT NOT NULL,
    action  TEXT NOT NULL,
    reason  TEXT NOT NULL,
    params  JSON NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX audit_by_ts ON audit (ts);

-- The runbook's `SELECT * FROM session_snapshots ORDER BY created_at DESC` keeps working.
CREATE TABLE session_snapshots (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    session_id TEXT NOT NULL,
    ts         DOUBLE PRECISION NOT NULL,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    state      JSON NOT NULL,
    created_at TIMESTAMPTZ GENERATED ALWAYS AS (to_timestamp(ts)) STORED
);
CREATE INDEX session_snapshots_by_ts ON session_snapshots (ts);
CREATE INDEX session_snapshots_by_status ON session_snapshots (status, session_id);

CREATE TABLE engine_state (
    key        TEXT PRIMARY KEY,
    value      JSON NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
);

-- Snapshot cleanup lives here so the runbook's `SELECT cleanup_old_snapshots_30d();` works
-- from psql and the store calls the very same statement. It deletes snapshots older than
-- the cutoff of sessions that stopped, and never the newest snapshot of all: a restart
-- after a long shutdown still finds the state it should restore.
CREATE FUNCTION cleanup_snapshots(older_than DOUBLE PRECISION) RETURNS INTEGER
LANGUAGE sql SET search_path FROM CURRENT AS $$
    WITH gone AS (
        DELETE FROM session_snapshots
        WHERE ts < older_than
          AND session_id IN (SELECT session_id FROM session_snapshots WHERE status = 'stopped')
          AND id <> (SELECT id FROM session_snapshots ORDER BY ts DESC, id DESC LIMIT 1)
        RETURNING 1
    )
    SELECT count(*)::INTEGER FROM gone
$$;

CREATE FUNCTION cleanup_old_snapshots_30d() RETURNS INTEGER
LANGUAGE sql SET search_path FROM CURRENT AS $$
    SELECT cleanup_snapshots(extract(epoch FROM now())::DOUBLE PRECISION - 30 * 86400)
$$;
