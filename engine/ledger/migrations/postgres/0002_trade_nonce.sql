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
