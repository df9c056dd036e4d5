-- Lava store, version 1. Portable SQL (SQLite >= 3.35 and PostgreSQL >= 13).
-- Money: BIGINT units of 1e-10 USD. Time: BIGINT microseconds since the Unix epoch (UTC).
-- Flags: INTEGER 0/1. Every merchant-owned row carries (merchant_id, mode): test and live never mix.

CREATE TABLE merchants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE secret_keys (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    mode         TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    key_hash     TEXT NOT NULL UNIQUE,
    hint         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);

CREATE TABLE products (
    id           TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    mode         TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    secret_hash  TEXT NOT NULL UNIQUE,
    name         TEXT,
    config       TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX products_by_merchant ON products (merchant_id, mode, id);

CREATE TABLE wallets (
    id               TEXT PRIMARY KEY,
    mode             TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    email            TEXT,
    phone            TEXT,
    first_name       TEXT,
    last_name        TEXT,
    autopay_enabled  INTEGER NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL
);
CREATE INDEX wallets_by_email ON wallets (mode, email);

CREATE TABLE connections (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    mode          TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    wallet_id     TEXT NOT NULL REFERENCES wallets (id),
    secret_hash   TEXT NOT NULL UNIQUE,
    secret_enc    TEXT NOT NULL,
    reference_id  TEXT,
    created_at    BIGINT NOT NULL,
    deleted_at    BIGINT
);
CREATE INDEX connections_by_merchant ON connections (merchant_id, mode, id);
CREATE INDEX connections_by_reference ON connections (merchant_id, mode, reference_id, id);

CREATE TABLE checkout_sessions (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    mode           TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    secret_hash    TEXT NOT NULL UNIQUE,
    secret_enc     TEXT NOT NULL,
    checkout_mode  TEXT NOT NULL,
    origin_url     TEXT NOT NULL,
    reference_id   TEXT,
    connection_id  TEXT REFERENCES connections (id),
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    completed_at   BIGINT
);
CREATE INDEX checkout_sessions_by_merchant ON checkout_sessions (merchant_id, mode, id);

-- Double-entry ledger. balance is signed; the sum over all accounts of one mode is always 0.
-- A wallet account's balance is its funds; held is the part reserved by open holds.
CREATE TABLE ledger_accounts (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    owner_id    TEXT,
    balance     BIGINT NOT NULL DEFAULT 0,
    held        BIGINT NOT NULL DEFAULT 0 CHECK (held >= 0),
    created_at  BIGINT NOT NULL
);

CREATE TABLE ledger_transfers (
    id               TEXT PRIMARY KEY,
    idempotency_key  TEXT NOT NULL UNIQUE,
    debit_account    TEXT NOT NULL REFERENCES ledger_accounts (id),
    credit_account   TEXT NOT NULL REFERENCES ledger_accounts (id),
    amount           BIGINT NOT NULL CHECK (amount > 0),
    kind             TEXT NOT NULL,
    request_id       TEXT,
    reason           TEXT,
    created_at       BIGINT NOT NULL
);
CREATE INDEX ledger_transfers_by_debit ON ledger_transfers (debit_account);
CREATE INDEX ledger_transfers_by_credit ON ledger_transfers (credit_account);
CREATE INDEX ledger_transfers_by_request ON ledger_transfers (request_id);

CREATE TABLE requests (
    id                    TEXT PRIMARY KEY,
    merchant_id           TEXT NOT NULL REFERENCES merchants (id),
    mode                  TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    status                TEXT NOT NULL CHECK (status IN ('pending', 'completed', 'error')),
    connection_id         TEXT,
    product_id            TEXT,
    provider              TEXT NOT NULL,
    provider_key_type     TEXT NOT NULL,
    model                 TEXT,
    endpoint              TEXT NOT NULL,
    response_id           TEXT,
    input_tokens          BIGINT NOT NULL DEFAULT 0,
    output_tokens         BIGINT NOT NULL DEFAULT 0,
    cached_input_tokens   BIGINT NOT NULL DEFAULT 0,
    cache_write_tokens    BIGINT NOT NULL DEFAULT 0,
    reasoning_tokens      BIGINT NOT NULL DEFAULT 0,
    input_characters      BIGINT NOT NULL DEFAULT 0,
    output_characters     BIGINT NOT NULL DEFAULT 0,
    input_ms              BIGINT NOT NULL DEFAULT 0,
    output_ms             BIGINT NOT NULL DEFAULT 0,
    usage_estimated       INTEGER NOT NULL DEFAULT 0,
    input_cost            BIGINT NOT NULL DEFAULT 0,
    output_cost           BIGINT NOT NULL DEFAULT 0,
    base_cost             BIGINT NOT NULL DEFAULT 0,
    base_cost_payer       TEXT NOT NULL DEFAULT 'wallet',
    fee_amount            BIGINT NOT NULL DEFAULT 0,
    service_charge        BIGINT NOT NULL DEFAULT 0,
    service_charge_payer  TEXT NOT NULL DEFAULT 'wallet',
    total_request_cost    BIGINT NOT NULL DEFAULT 0,
    total_wallet_cost     BIGINT NOT NULL DEFAULT 0,
    total_merchant_cost   BIGINT NOT NULL DEFAULT 0,
    fee_detail            TEXT,
    pricing_detail        TEXT,
    provider_usage        TEXT,
    metadata              TEXT,
    error                 TEXT,
    payload_hash          TEXT,
    timestamp             BIGINT,
    created_at            BIGINT NOT NULL,
    completed_at          BIGINT
);
CREATE INDEX requests_by_merchant ON requests (merchant_id, mode, id);
CREATE INDEX requests_by_connection ON requests (connection_id, id);
CREATE INDEX requests_by_status ON requests (status, created_at);

CREATE TABLE request_metadata (
    request_id   TEXT NOT NULL REFERENCES requests (id),
    merchant_id  TEXT NOT NULL,
    mode         TEXT NOT NULL,
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (request_id, key)
);
CREATE INDEX request_metadata_lookup ON request_metadata (merchant_id, mode, key, value);

CREATE TABLE provider_keys (
    provider    TEXT NOT NULL,
    mode        TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    key_enc     TEXT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (provider, mode)
);
