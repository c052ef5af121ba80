-- The dashboard's charts of the last hour (`CallStore::minute_totals`):
-- calls that ended, by when and how, and scheduled outbound calls placed,
-- by when and how late. Partial, so a call costs them nothing until it is
-- placed or ends; covering, so the sums are read from the index alone.
CREATE INDEX calls_by_ended ON calls (ended_at, status) WHERE ended_at IS NOT NULL;
CREATE INDEX calls_by_placed ON calls (initiated_at, scheduled_at)
    WHERE initiated_at IS NOT NULL AND scheduled_at IS NOT NULL AND direction = 'outbound';
