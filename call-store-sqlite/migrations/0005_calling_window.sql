-- The local hours and days a call may ring in, in its stored text form
-- (`tz=America/New_York;start=09:00;end=20:00;days=mon,tue,wed,thu,fri`);
-- NULL when it may ring at any hour. Read only with the call, so it has no
-- index.
ALTER TABLE calls ADD COLUMN calling_window TEXT;
