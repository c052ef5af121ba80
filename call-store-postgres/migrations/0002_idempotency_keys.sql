-- Idempotency keys: the call each client key made, and the request it made
-- it for (a fingerprint), kept until `expires_at`. As the SQLite store's.
CREATE TABLE idempotency_keys (
    key         text COLLATE "C" PRIMARY KEY,
    fingerprint text        NOT NULL,
    call_id     text COLLATE "C" NOT NULL REFERENCES calls (id),
    expires_at  timestamptz NOT NULL
);

-- Expired keys are purged by the writes that take keys.
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
