-- Issue 14.6: a manually metered request keeps the caller's request_id in external_id, unique per
-- merchant and mode (the record's own id is ours, so one tenant's ids never collide with another's).
ALTER TABLE requests ADD COLUMN external_id TEXT;
UPDATE requests SET external_id = id WHERE provider = 'manual';
CREATE UNIQUE INDEX requests_external_id ON requests (merchant_id, mode, external_id);

-- Issue 14.4: which running process (boot) opened a pending request, and each process's lease.
ALTER TABLE requests ADD COLUMN instance_id TEXT;
CREATE INDEX requests_pending_by_instance ON requests (status, instance_id);
CREATE TABLE instances (
    id           TEXT PRIMARY KEY,
    host         TEXT NOT NULL,
    pid          BIGINT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    lease_until  BIGINT NOT NULL,
    stopped_at   BIGINT
);
