-- Pauses of dispatch: of every call (scope ''), or of one queue's calls
-- (scope = the queue id), until resumed or until `until` (microseconds,
-- UTC). Claims skip the calls a pause covers and forget lapsed pauses.
CREATE TABLE dispatch_pauses (
    scope     TEXT    PRIMARY KEY NOT NULL,
    paused_at INTEGER NOT NULL,
    until     INTEGER
) STRICT;
