-- The ledger, embedded. STRICT tables: a value of the wrong type is an error, never a
-- silent conversion. Money is TEXT holding the decimal integer: amounts outgrow SQLite's
-- 64-bit INTEGER (token base units reach 2**112+) and REAL would round them.

CREATE TABLE trades (
    id              TEXT PRIMARY KEY,
    opportunity_id  TEXT NOT NULL,
    venue           TEXT NOT NULL,
    route           TEXT NOT NULL,  -- JSON list of hops
    token           TEXT NOT NULL,
    token_symbol    TEXT NOT NULL,
    amount_in       TEXT NOT NULL,
    amount_out      TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('success', 'reverted', 'failed')),
    revert_reason   TEXT NOT NULL,
    gas_used        INTEGER NOT NULL,
    gas_price       TEXT NOT NULL,
    gas_cost_wei    TEXT NOT NULL,
    flash_fee       TEXT NOT NULL,
    profit_token    TEXT NOT NULL,
    profit_native   TEXT NOT NULL,
    profit_quote    TEXT NOT NULL,
    expected_profit TEXT NOT NULL,
    block_number    INTEGER NOT NULL,
    tx_hash         TEXT NOT NULL,
    detected_at     REAL NOT NULL,
    submitted_at    REAL NOT NULL,
    mined_at        REAL NOT NULL,
    gas_cost_quote  TEXT NOT NULL,
    flash_fee_quote TEXT NOT NULL
) STRICT;

-- list_trades and the partial hours of pnl read by detection time; the status filters
-- (failed_only, status=...) read by status, newest first.
CREATE INDEX trades_by_detected_at ON trades (detected_at);
CREATE INDEX trades_by_status ON trades (status, detected_at);

-- Per hour and per day (span), and per token: the totals pnl needs, maintained in the
-- transaction that inserts the trades. A long period reads whole days from here, the
-- hours at its ends from the hourly rows, and only the partial hours from trades.
-- Money sums are decimal TEXT for the same reason as above.
CREATE TABLE trade_rollup (
    span            INTEGER NOT NULL,  -- bucket length in seconds: 3600 or 86400
    start           INTEGER NOT NULL,  -- epoch seconds, a multiple of span
    token           TEXT NOT NULL,
    token_symbol    TEXT NOT NULL,
    trades          INTEGER NOT NULL,
    successful      INTEGER NOT NULL,
    reverted        INTEGER NOT NULL,
    failed          INTEGER NOT NULL,
    gas_cost_wei    TEXT NOT NULL,
    gas_cost_quote  TEXT NOT NULL,
    flash_fee       TEXT NOT NULL,
    flash_fee_quote TEXT NOT NULL,
    profit_token    TEXT NOT NULL,
    profit_native   TEXT NOT NULL,
    profit_quote    TEXT NOT NULL,
    PRIMARY KEY (span, start, token)
) STRICT, WITHOUT ROWID;

CREATE TABLE guard_triggers (
    id             TEXT PRIMARY KEY,
    ts             REAL NOT NULL,
    guard          TEXT NOT NULL,
    action         TEXT NOT NULL,
    reason         TEXT NOT NULL,
    observed       TEXT NOT NULL,
    threshold      TEXT NOT NULL,
    opportunity_id TEXT NOT NULL,
    trade_id       TEXT NOT NULL
) STRICT;
CREATE INDEX guard_triggers_by_ts ON guard_triggers (ts);

-- AUTOINCREMENT: an audit id is never reused, even after rows are deleted.
CREATE TABLE audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    ts      REAL NOT NULL,
    uid     INTEGER NOT NULL,
    client  TEXT NOT NULL,
    action  TEXT NOT NULL,
    reason  TEXT NOT NULL,
    params  TEXT NOT NULL,  -- JSON object
    outcome TEXT NOT NULL
) STRICT;
CREATE INDEX audit_by_ts ON audit (ts);

CREATE TABLE session_snapshots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    ts         REAL NOT NULL,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    state      TEXT NOT NULL  -- JSON object
) STRICT;
CREATE INDEX session_snapshots_by_ts ON session_snapshots (ts);
CREATE INDEX session_snapshots_by_status ON session_snapshots (status, session_id);

CREATE TABLE engine_state (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,  -- JSON object
    updated_at REAL NOT NULL
) STRICT;
