-- Idempotency keys: the call each client key made, and the request it made
-- it for (a fingerprint), kept until `expires_at` (microseconds, UTC).
CREATE TABLE idempotency_keys (
    key         TEXT    PRIMARY KEY NOT NULL,
    fingerprint TEXT    NOT NULL,
    call_id     TEXT    NOT NULL REFERENCES calls (id),
    expires_at  INTEGER NOT NULL
) STRICT;

-- Expired keys are purged by the writes that take keys.
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
