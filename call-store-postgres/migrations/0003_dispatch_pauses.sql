-- Pauses of dispatch: of every call (scope ''), or of one queue's calls
-- (scope = the queue id), until resumed or until `until`. Claims skip the
-- calls a pause covers and forget lapsed pauses. As the SQLite store's.
CREATE TABLE dispatch_pauses (
    scope     text COLLATE "C" PRIMARY KEY,
    paused_at timestamptz NOT NULL,
    until     timestamptz
);

-- A pause lifted or shortened may make held calls due at once: wake every
-- worker (they compare the moment with their plan, and look). Only when a
-- row changed: a claim's statement forgets lapsed pauses, mostly none.
CREATE FUNCTION callwork_announce_pauses() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed) THEN
        PERFORM pg_notify('callwork_due', (extract(epoch FROM now()) * 1000000)::bigint::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER dispatch_pauses_announce_updated AFTER UPDATE ON dispatch_pauses
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION callwork_announce_pauses();
CREATE TRIGGER dispatch_pauses_announce_deleted AFTER DELETE ON dispatch_pauses
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION callwork_announce_pauses();
