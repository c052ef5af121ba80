-- The audit log's `seq` is the position live clients resume from
-- (`/api/ws?after=N`, `CallStore::log_after`), so it must grow in commit
-- order: a reader that has read position N must never later find a smaller
-- one committed. An identity column hands its values out as rows are
-- inserted, not as they commit, so two writers could commit out of order.
--
-- Instead, every statement that inserts into `events` first takes a
-- transaction-scoped advisory lock, held to commit, and only then takes
-- its positions from the sequence: transactions that write events commit
-- their positions one at a time, in the order they took them. The price
-- is that those commits take turns (the statements before them do not).
-- The lock's key is "callwork" in ASCII. It is taken by a statement-level
-- trigger, so even a statement that inserts no event takes it. Writers
-- keep to one order: a transaction takes this lock after any row lock it
-- may wait for, and waits for no row lock once it holds it
-- (call-store-postgres/src/lib.rs says how each write keeps to that).
ALTER TABLE events ALTER COLUMN seq DROP IDENTITY;
CREATE SEQUENCE events_seq AS bigint OWNED BY events.seq;
SELECT setval('events_seq', coalesce(max(seq), 0) + 1, false) FROM events;
ALTER TABLE events ALTER COLUMN seq SET DEFAULT nextval('events_seq');

CREATE FUNCTION events_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(7161124095611859563);
    RETURN NULL;
END
$$;

CREATE TRIGGER events_in_commit_order BEFORE INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_in_commit_order();
