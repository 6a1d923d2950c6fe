-- /stats at a million requests (bench: a year of 1,000,000 in under 200 ms). Counting the
-- year's requests row by row costs half a second in SQLite whatever the index, because each
-- of the dozen counters is a function call per row; so /stats groups instead, and these
-- indexes hand it the rows already in group order (no sort) and carry every value it reads
-- (no table lookups).
--
-- requests_stats: a request's whole "shape" in one small integer (what storage/stats.py
-- SHAPE decodes; the two expressions must stay the same): its status, how it was closed or
-- cancelled, which lifecycle steps it reached, and its rating. One ordered pass groups the
-- period's requests by (area, category, shape); an area admin's areas are seeks.
CREATE INDEX requests_stats ON requests (
    area_id,
    category,
    (CASE status WHEN 'dispatched' THEN 0 WHEN 'claimed' THEN 1 WHEN 'done' THEN 2
                 WHEN 'closed' THEN 3 ELSE 4 END)
    + 8 * (closed_how IS 'confirmed') + 16 * (cancelled_by IS 'citizen')
    + 32 * (dispatched_at IS NOT NULL) + 64 * (first_claimed_at IS NOT NULL)
    + 128 * (first_done_at IS NOT NULL) + 256 * (reopen_count > 0)
    + 512 * COALESCE(rating, 0),
    created_at
);

-- The waits from creation to the first claim and to the first "done", in order: the lower
-- median is read off the index at its offset instead of sorting the period's waits.
CREATE INDEX requests_claim_wait ON requests (first_claimed_at - created_at, created_at, area_id);
CREATE INDEX requests_done_wait ON requests (first_done_at - created_at, created_at, area_id);
