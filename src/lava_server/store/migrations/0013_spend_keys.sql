-- Spend keys (docs/spend-keys.md): merchant-owned gateway credentials with limits.
-- The raw key is never stored: key_hash is its keyring HMAC; rotation replaces the hash.
CREATE TABLE spend_keys (
    id                      TEXT PRIMARY KEY,
    merchant_id             TEXT NOT NULL REFERENCES merchants (id),
    mode                    TEXT NOT NULL,
    name                    TEXT NOT NULL,
    key_hash                TEXT NOT NULL UNIQUE,
    key_preview             TEXT NOT NULL,
    status                  TEXT NOT NULL,
    request_shape           TEXT NOT NULL,
    allowed_models          TEXT,
    allowed_providers       TEXT,
    spend_limit             BIGINT,
    spend_cycle             TEXT,
    request_limit           BIGINT,
    request_cycle           TEXT,
    rate_rpm                BIGINT,
    rate_burst              BIGINT,
    expires_at              BIGINT,
    spend_cycle_start       BIGINT NOT NULL DEFAULT 0,
    current_spend           BIGINT NOT NULL DEFAULT 0,
    total_spend             BIGINT NOT NULL DEFAULT 0,
    requests_cycle_start    BIGINT NOT NULL DEFAULT 0,
    current_requests        BIGINT NOT NULL DEFAULT 0,
    total_requests          BIGINT NOT NULL DEFAULT 0,
    bucket_milli            BIGINT,
    bucket_at               BIGINT,
    spend_notified_cycle    BIGINT,
    requests_notified_cycle BIGINT,
    last_used_at            BIGINT,
    created_at              BIGINT NOT NULL,
    revoked_at              BIGINT
);
CREATE INDEX spend_keys_by_merchant ON spend_keys (merchant_id, mode, id);

-- One row per admitted call: its worst-case cost while in flight ('held'), then 'settled' or
-- 'released'. In-flight rows count against the key's limits on every replica.
CREATE TABLE spend_key_holds (
    request_id    TEXT PRIMARY KEY,
    spend_key_id  TEXT NOT NULL REFERENCES spend_keys (id),
    amount        BIGINT NOT NULL,
    status        TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX spend_key_holds_open ON spend_key_holds (spend_key_id, status);
