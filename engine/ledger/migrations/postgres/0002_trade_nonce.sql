-- Who sent each trade's transaction and at which nonce, and whether it was booked at
-- start-up from the chain (`recovered`) rather than by the execution that sent it.
-- Start-up recovery compares the wallet's nonce on chain with the nonces booked for it
-- (docs/accounting.md). NULL nonce and '' sender: the simulated chain, or a trade
-- booked before this migration.

ALTER TABLE trades
    ADD COLUMN nonce BIGINT,
    ADD COLUMN sender TEXT NOT NULL DEFAULT '',
    ADD COLUMN recovered BOOLEAN NOT NULL DEFAULT FALSE;

CREATE INDEX trades_by_sender_nonce ON trades (sender, nonce) WHERE nonce IS NOT NULL;

-- A mined transaction is one trade, whichever path booked it first (the execution that
-- sent it, a replay, start-up recovery): a second trade for the same mined transaction
-- is skipped on insert. Unmined rows (block 0: refused, venue stopped) may share a hash.
CREATE UNIQUE INDEX trades_by_mined_tx ON trades (tx_hash)
    WHERE nonce IS NOT NULL AND block_number > 0;
