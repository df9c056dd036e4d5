-- Plans, credit bundles, subscriptions, test clocks and scheduler leases (issue 10; docs/plans.md).
-- Money: BIGINT units of 10^-10 USD. Time: BIGINT microseconds (UTC). Portable SQL.
-- Credit balances are NOT stored here: they are ledger accounts (wallet:<id>:cycle, wallet:<id>:bundle).

CREATE TABLE plans (
    id                              TEXT PRIMARY KEY,
    merchant_id                     TEXT NOT NULL REFERENCES merchants (id),
    mode                            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    name                            TEXT NOT NULL,
    period_amount                   BIGINT NOT NULL CHECK (period_amount >= 0),
    billing_interval                TEXT NOT NULL CHECK (billing_interval IN ('day', 'week', 'month', 'year')),
    included_credit                 BIGINT NOT NULL CHECK (included_credit >= 0),
    rollover_type                   TEXT NOT NULL CHECK (rollover_type IN ('full', 'none')),
    bundle_rollover_type            TEXT NOT NULL CHECK (bundle_rollover_type IN ('full', 'none')),
    default_auto_top_up_bundle_id   TEXT,
    meter_ids                       TEXT NOT NULL DEFAULT '[]',
    is_default                      INTEGER NOT NULL DEFAULT 0,
    created_at                      BIGINT NOT NULL,
    deleted_at                      BIGINT
);
CREATE INDEX plans_by_merchant ON plans (merchant_id, mode, id);
-- At most one default free plan per merchant and mode, even when two replicas create it at once.
CREATE UNIQUE INDEX plans_one_default ON plans (merchant_id, mode) WHERE is_default = 1;

CREATE TABLE credit_bundles (
    id              TEXT PRIMARY KEY,
    plan_id         TEXT NOT NULL REFERENCES plans (id),
    merchant_id     TEXT NOT NULL REFERENCES merchants (id),
    mode            TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    name            TEXT NOT NULL,
    cost            BIGINT NOT NULL CHECK (cost > 0),
    credit_amount   BIGINT NOT NULL CHECK (credit_amount > 0),
    created_at      BIGINT NOT NULL,
    deleted_at      BIGINT
);
CREATE INDEX credit_bundles_by_plan ON credit_bundles (plan_id, id);
CREATE INDEX credit_bundles_by_merchant ON credit_bundles (merchant_id, mode, id);

-- One row per subscription; a customer has at most one active subscription (partial unique index).
-- cycle_number counts cycles (a plan switch starts a new one): the idempotency keys of a cycle's
-- payment and grant carry it. Cycle k ends at anchor_at + (k - anchor_cycle + 1) intervals.
CREATE TABLE subscriptions (
    id                      TEXT PRIMARY KEY,
    merchant_id             TEXT NOT NULL REFERENCES merchants (id),
    mode                    TEXT NOT NULL CHECK (mode IN ('test', 'live')),
    connection_id           TEXT NOT NULL REFERENCES connections (id),
    wallet_id               TEXT NOT NULL,
    plan_id                 TEXT NOT NULL REFERENCES plans (id),
    status                  TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    plan_snapshot           TEXT NOT NULL,
    auto_top_up_bundle_id   TEXT,
    payment_method          TEXT,
    pending_change          TEXT,
    started_at              BIGINT NOT NULL,
    anchor_at               BIGINT NOT NULL,
    anchor_cycle            INTEGER NOT NULL DEFAULT 0,
    cycle_number            INTEGER NOT NULL DEFAULT 0,
    cycle_start_at          BIGINT NOT NULL,
    cycle_end_at            BIGINT NOT NULL,
    cancelled_at            BIGINT,
    renewal_failures        INTEGER NOT NULL DEFAULT 0,
    past_due_since          BIGINT,
    next_attempt_at         BIGINT NOT NULL,
    topup_seq               INTEGER NOT NULL DEFAULT 0,
    topup_blocked_until     BIGINT NOT NULL DEFAULT 0,
    topup_requested         INTEGER NOT NULL DEFAULT 0,
    created_at              BIGINT NOT NULL
);
CREATE UNIQUE INDEX subscriptions_one_active ON subscriptions (connection_id) WHERE status = 'active';
CREATE INDEX subscriptions_by_merchant ON subscriptions (merchant_id, mode, id);
CREATE INDEX subscriptions_due ON subscriptions (status, next_attempt_at);

-- Test clocks (test mode only): a frozen time a merchant advances; attached customers live by it.
CREATE TABLE test_clocks (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    name          TEXT,
    frozen_time   BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX test_clocks_by_merchant ON test_clocks (merchant_id, id);
ALTER TABLE connections ADD COLUMN test_clock_id TEXT;

-- Leases for durable background loops: one holder at a time across replicas.
CREATE TABLE scheduler_leases (
    name         TEXT PRIMARY KEY,
    holder       TEXT NOT NULL,
    expires_at   BIGINT NOT NULL
);

-- What a subscription or credit_bundle checkout sells (docs/plans.md); onboarding/topup sessions have no row.
CREATE TABLE checkout_purchases (
    session_id        TEXT PRIMARY KEY REFERENCES checkout_sessions (id),
    plan_id           TEXT,
    credit_bundle_id  TEXT
);
