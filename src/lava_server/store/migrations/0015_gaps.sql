-- Current-API gaps (docs/decisions.md "Current API gaps"). Portable SQL (SQLite >= 3.35 and PostgreSQL >= 13).
-- 1. The spend key a request was made with (spec lava-api-current 2.4 "Payer"); backfilled from its hold row.
ALTER TABLE requests ADD COLUMN spend_key_id TEXT;
UPDATE requests SET spend_key_id = (SELECT h.spend_key_id FROM spend_key_holds h WHERE h.request_id = requests.id)
    WHERE id IN (SELECT request_id FROM spend_key_holds);
-- 2. enforce_merchant_wallet (spec 4.1 Decision): 1 = an uncoverable worst case of a call whose cost the
--    merchant bears is refused (402 insufficient_balance); 0 (default) = the merchant may go negative.
ALTER TABLE merchants ADD COLUMN enforce_merchant_wallet INTEGER NOT NULL DEFAULT 0;
-- 3. Provider keys a merchant stored (spec 2.3 "Key choice"): encrypted with the keyring like the operator's.
CREATE TABLE merchant_provider_keys (
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    mode         TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    provider     TEXT NOT NULL,
    key_enc      TEXT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (merchant_id, mode, provider)
);
--    The worst cases of enforced merchants' calls in flight: a row per call, deleted when it settles or
--    fails; a row past expires_at (its process died) no longer counts.
CREATE TABLE merchant_wallet_holds (
    request_id   TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL REFERENCES merchants (id),
    mode         TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    amount       BIGINT NOT NULL CHECK (amount >= 0),
    expires_at   BIGINT NOT NULL
);
CREATE INDEX merchant_wallet_holds_by_merchant ON merchant_wallet_holds (merchant_id, mode, expires_at);
