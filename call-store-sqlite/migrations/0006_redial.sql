-- Redial by outcome. `redial` is a call's policy in its stored text form
-- (`on=busy,no_answer;max=3;delay=10m`), NULL when it is never redialled;
-- `redial_attempt` which attempt at its number it is (1 for a first dial);
-- `redial_of` the attempt it redials and `redialed_as` the attempt that
-- redials it. Read only with the call (the links are followed by id), so
-- none has an index.
ALTER TABLE calls ADD COLUMN redial TEXT;
ALTER TABLE calls ADD COLUMN redial_attempt INTEGER NOT NULL DEFAULT 1;
ALTER TABLE calls ADD COLUMN redial_of TEXT;
ALTER TABLE calls ADD COLUMN redialed_as TEXT;
