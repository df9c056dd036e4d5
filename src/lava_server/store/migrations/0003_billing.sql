-- Billing: holds on wallets, per-connection usage counters for graduated tiers,
-- and the request columns that make every charge reproducible.

CREATE TABLE ledger_holds (
    request_id  TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount      BIGINT NOT NULL CHECK (amount >= 0),
    status      TEXT NOT NULL CHECK (status IN ('open', 'settled', 'released', 'expired')),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    closed_at   BIGINT
);
CREATE INDEX ledger_holds_open ON ledger_holds (status, expires_at);

CREATE TABLE connection_usage (
    connection_id  TEXT NOT NULL,
    period_start   BIGINT NOT NULL,
    units_milli    BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (connection_id, period_start)
);

ALTER TABLE requests ADD COLUMN hold_units BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN fee_units_milli BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN units_before_milli BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN shortfall BIGINT NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN overdraft_floor BIGINT NOT NULL DEFAULT 0;
