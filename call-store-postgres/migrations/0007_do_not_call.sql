-- The do-not-call list: numbers (E.164) no call is placed to. A claim
-- looks up the number of each due call by `phone`, the key.
CREATE TABLE do_not_call (
    phone TEXT PRIMARY KEY,
    added_at TIMESTAMPTZ NOT NULL,
    reason TEXT
);
