-- Loop 3, supervision (issue 16.6 and 16.8): the bridge from the request loop, and the
-- statistics kept honest about it.
--
-- A citizen's request an admin turns into a supervision problem (/toproblem) is handed over:
-- status 'cancelled' with cancelled_by = 'supervision' (not a new status: the CHECK of
-- requests.status would need the table rebuilt), an event 'handed_over' whose time is kept
-- as its cancelled_at, as an admin's cancel's is.
CREATE TRIGGER lifecycle_handed_over AFTER INSERT ON events WHEN NEW.kind = 'handed_over'
BEGIN
    UPDATE requests SET cancelled_at = NEW.at WHERE id = NEW.request_id;
END;

-- /stats counts handed requests apart (neither done by volunteers nor cancelled by an admin,
-- and their ratings rate a unit's work, not a volunteer's): one more bit in the shape that
-- storage/stats.py SHAPE decodes (the two expressions must stay the same). The rating keeps
-- bits 9-11 (0-5), the new bit is 4096.
DROP INDEX requests_stats;
CREATE INDEX requests_stats ON requests (
    area_id,
    category,
    (CASE status WHEN 'dispatched' THEN 0 WHEN 'claimed' THEN 1 WHEN 'done' THEN 2
                 WHEN 'closed' THEN 3 ELSE 4 END)
    + 8 * (closed_how IS 'confirmed') + 16 * (cancelled_by IS 'citizen')
    + 32 * (dispatched_at IS NOT NULL) + 64 * (first_claimed_at IS NOT NULL)
    + 128 * (first_done_at IS NOT NULL) + 256 * (reopen_count > 0)
    + 512 * COALESCE(rating, 0) + 4096 * (cancelled_by IS 'supervision'),
    created_at
);

-- problems.visit_id is NOT NULL and problems has children (events, cards, timers) under
-- foreign keys that migrations cannot switch off: so a problem made from a request has a
-- visit of its own, by the admin, marked with the request. Nobody went there: coverage (the
-- patrol lists, /due, the inspectors' reminders, 16.7's figures) skips such visits.
ALTER TABLE visits ADD COLUMN request_id INTEGER REFERENCES requests(id);
CREATE INDEX problems_by_request ON problems (request_id) WHERE request_id IS NOT NULL;
