-- Webhooks: merchant endpoints, an outbox of events written in the transaction that caused them,
-- one delivery per (event, endpoint) claimed by one worker at a time through a lease, and every
-- attempt kept for inspection. Time: BIGINT microseconds (UTC).

CREATE TABLE webhook_endpoints (
    id              TEXT PRIMARY KEY,
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    name            TEXT NOT NULL,
    url             TEXT NOT NULL,
    secret_enc      TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    failing_since   BIGINT,
    disabled_at     BIGINT,
    deleted_at      BIGINT
);
CREATE INDEX webhook_endpoints_by_merchant ON webhook_endpoints (merchant_id, mode, id);

CREATE TABLE webhook_events (
    id             TEXT PRIMARY KEY,
    merchant_id    TEXT NOT NULL REFERENCES merchants (id),
    mode           TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    type           TEXT NOT NULL,
    customer_id    TEXT NOT NULL,
    detail         TEXT,
    coalesce_key   TEXT,
    payload        TEXT,
    created_at     BIGINT NOT NULL
);
CREATE INDEX webhook_events_by_merchant ON webhook_events (merchant_id, mode, id);
CREATE INDEX webhook_events_coalescing ON webhook_events (coalesce_key, payload);

CREATE TABLE webhook_deliveries (
    event_id         TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL,
    next_attempt_at  BIGINT NOT NULL,
    lease_owner      TEXT,
    lease_until      BIGINT,
    delivered_at     BIGINT,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, status);

CREATE TABLE webhook_attempts (
    id                TEXT PRIMARY KEY,
    event_id          TEXT NOT NULL,
    endpoint_id       TEXT NOT NULL,
    attempt           INTEGER NOT NULL,
    worker            TEXT NOT NULL,
    started_at        BIGINT NOT NULL,
    latency_ms        BIGINT NOT NULL,
    outcome           TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
    status_code       INTEGER,
    error             TEXT,
    response_excerpt  TEXT
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (endpoint_id, id);
CREATE INDEX webhook_attempts_by_event ON webhook_attempts (event_id, id);

-- Balance events find a wallet's customers.
CREATE INDEX connections_by_wallet ON connections (wallet_id);
