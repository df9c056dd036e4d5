-- Hosted checkout, version 2. Portable SQL (SQLite >= 3.35 and PostgreSQL >= 13).
-- Money: BIGINT units of 1e-10 USD (amount_minor: the processor's integer cents). Time: BIGINT microseconds.

-- Where an end user is in one checkout session (the session row itself stays as the API sees it).
CREATE TABLE checkout_progress (
    session_id         TEXT PRIMARY KEY REFERENCES checkout_sessions (id),
    name               TEXT,
    email              TEXT,
    email_verified_at  BIGINT,
    wallet_id          TEXT REFERENCES wallets (id),
    updated_at         BIGINT NOT NULL
);

-- One-time email codes: stored hashed, expiring, single-use, with a bounded number of guesses.
CREATE TABLE checkout_otps (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES checkout_sessions (id),
    email        TEXT NOT NULL,
    code_hash    TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    consumed_at  BIGINT
);
CREATE INDEX checkout_otps_by_session ON checkout_otps (session_id, created_at);
CREATE INDEX checkout_otps_by_email ON checkout_otps (email, created_at);

-- Card payments. A wallet is credited once per succeeded payment (ledger key: the processor payment id).
CREATE TABLE checkout_payments (
    id                    TEXT PRIMARY KEY,
    session_id            TEXT NOT NULL REFERENCES checkout_sessions (id),
    merchant_id           TEXT NOT NULL REFERENCES merchants (id),
    mode                  TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    wallet_id             TEXT NOT NULL REFERENCES wallets (id),
    processor             TEXT NOT NULL,
    processor_payment_id  TEXT,
    amount                BIGINT NOT NULL CHECK (amount > 0),
    amount_minor          BIGINT NOT NULL CHECK (amount_minor > 0),
    currency              TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    failure_code          TEXT,
    failure_message       TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    credited_at           BIGINT,
    UNIQUE (processor, processor_payment_id)
);
CREATE INDEX checkout_payments_by_session ON checkout_payments (session_id);
CREATE INDEX checkout_payments_by_wallet ON checkout_payments (wallet_id, id);

-- The processor's customer for a wallet, and the card saved for top-ups (one per wallet and processor).
CREATE TABLE payment_customers (
    wallet_id    TEXT NOT NULL REFERENCES wallets (id),
    processor    TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (wallet_id, processor)
);

CREATE TABLE saved_cards (
    wallet_id    TEXT NOT NULL REFERENCES wallets (id),
    processor    TEXT NOT NULL,
    method_id    TEXT NOT NULL,
    brand        TEXT NOT NULL,
    last4        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (wallet_id, processor)
);

-- Per-merchant checkout amounts; no row means the defaults ($10/$25/$50, min $5, max $500).
CREATE TABLE merchant_checkout_settings (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    mode         TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    presets      TEXT NOT NULL,
    min_amount   BIGINT NOT NULL CHECK (min_amount > 0),
    max_amount   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, mode)
);
