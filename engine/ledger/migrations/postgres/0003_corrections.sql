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
    corrected_at      DOUBLE PRECISION NOT NULL,
    trade_detected_at DOUBLE PRECISION NOT NULL,
    old_block         BIGINT NOT NULL,
    old_block_hash    TEXT NOT NULL,
    new_block         BIGINT NOT NULL,
    new_block_hash    TEXT NOT NULL,
    new_status        TEXT NOT NULL CHECK (new_status IN ('success', 'reverted', 'failed')),
    reason            TEXT NOT NULL,
    successful        BIGINT NOT NULL,
    reverted          BIGINT NOT NULL,
    failed            BIGINT NOT NULL,
    gas_cost_wei      NUMERIC(78, 0) NOT NULL,
    gas_cost_quote    NUMERIC(78, 0) NOT NULL,
    flash_fee         NUMERIC(78, 0) NOT NULL,
    flash_fee_quote   NUMERIC(78, 0) NOT NULL,
    profit_token      NUMERIC(78, 0) NOT NULL,
    profit_native     NUMERIC(78, 0) NOT NULL,
    profit_quote      NUMERIC(78, 0) NOT NULL
);

CREATE INDEX trade_corrections_by_time ON trade_corrections (corrected_at);
CREATE INDEX trade_corrections_by_trade ON trade_corrections (trade_id, corrected_at);
