-- The current API generation (customers, meters, secret-key management), on the same tables:
-- a customer IS a connection, a meter IS a product with a meter_slug. Portable SQL.

-- The profile served when a request carries no X-Lava-API-Version header: 'compat' | 'current' | '2025'.
ALTER TABLE merchants ADD COLUMN default_profile TEXT NOT NULL DEFAULT 'compat';

-- Customer metadata (a JSON object) on the connection row.
ALTER TABLE connections ADD COLUMN metadata TEXT;

-- Meters: a slug unique per merchant and mode among live meters, and a soft delete.
ALTER TABLE products ADD COLUMN meter_slug TEXT;
ALTER TABLE products ADD COLUMN deleted_at BIGINT;
UPDATE products SET meter_slug = lower(id) WHERE meter_slug IS NULL;
CREATE UNIQUE INDEX products_by_slug ON products (merchant_id, mode, meter_slug) WHERE deleted_at IS NULL;

-- Secret keys get a name (listed in GET /v1/secret_keys).
ALTER TABLE secret_keys ADD COLUMN name TEXT;
CREATE INDEX secret_keys_by_merchant ON secret_keys (merchant_id, mode, id);

-- Bumped in the transaction of every revocation (secret key, customer, meter): each replica's
-- authentication caches compare it before trusting an entry, so nothing revoked outlives its commit.
CREATE TABLE auth_epoch (
    id     INTEGER PRIMARY KEY,
    value  BIGINT NOT NULL
);
INSERT INTO auth_epoch (id, value) VALUES (1, 0);

CREATE INDEX requests_by_product ON requests (product_id, id);

-- Who paid, as the forward token said (spec §2.3): merchant | meter | customer | customer_untracked |
-- legacy | legacy_metering. NULL on rows written before this migration (all legacy).
ALTER TABLE requests ADD COLUMN token_form TEXT;
