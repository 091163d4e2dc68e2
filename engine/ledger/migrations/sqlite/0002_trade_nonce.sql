-- Who sent each trade's transaction and at which nonce, and whether it was booked at
-- start-up from the chain (`recovered`) rather than by the execution that sent it.
-- Start-up recovery compares the wallet's nonce on chain with the nonces booked for it
-- (docs/accounting.md). NULL nonce and '' sender: the simulated chain, or a trade
-- booked before this migration.

ALTER TABLE trades ADD COLUMN nonce INTEGER;
ALTER TABLE trades ADD COLUMN sender TEXT NOT NULL DEFAULT '';
ALTER TABLE trades ADD COLUMN recovered INTEGER NOT NULL DEFAULT 0 CHECK (recovered IN (0, 1));

CREATE INDEX trades_by_sender_nonce ON trades (sender, nonce) WHERE nonce IS NOT NULL;
