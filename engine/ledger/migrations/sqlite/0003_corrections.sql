-- Reorgs in the books (issue 18). A trade records the hash of the block its receipt came
-- from, and a trade whose block left the canonical chain gets a correction row: never an
-- edit of the trade. A correction holds the exact deltas (status counts, money) from the
-- trade as booked to the chain's outcome now, in the columns of a rollup bucket, so pnl
-- and reconciliation sum trades plus corrections. It counts in the period it was written
-- (corrected_at): a closed hour is never rewritten. '' block_hash: booked before this
-- migration, or off-chain.

ALTER TABLE trades ADD COLUMN block_hash TEXT NOT NULL DEFAULT '';

CREATE TABLE trade_corrections (
    id                TEXT PRIMARY KEY,
    trade_id          TEXT NOT NULL,
    tx_hash           TEXT NOT NULL,
    kind              TEXT NOT NULL CHECK (kind IN ('reversed', 'moved')),
    token             TEXT NOT NULL,
    token_symbol      TEXT NOT NULL,
    corrected_at      REAL NOT NULL,
    trade_detected_at REAL NOT NULL,
    old_block         INTEGER NOT NULL,
    old_block_hash    TEXT NOT NULL,
    new_block         INTEGER NOT NULL,
    new_block_hash    TEXT NOT NULL,
    new_status        TEXT NOT NULL CHECK (new_status IN ('success', 'reverted', 'failed')),
    reason            TEXT NOT NULL,
    successful        INTEGER NOT NULL,
    reverted          INTEGER NOT NULL,
    failed            INTEGER NOT NULL,
    gas_cost_wei      TEXT NOT NULL,
    gas_cost_quote    TEXT NOT NULL,
    flash_fee         TEXT NOT NULL,
    flash_fee_quote   TEXT NOT NULL,
    profit_token      TEXT NOT NULL,
    profit_native     TEXT NOT NULL,
    profit_quote      TEXT NOT NULL
) STRICT;

CREATE INDEX trade_corrections_by_time ON trade_corrections (corrected_at);
CREATE INDEX trade_corrections_by_trade ON trade_corrections (trade_id, corrected_at);
