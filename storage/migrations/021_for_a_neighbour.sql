-- Issue 18.2: reporting for a neighbour (帮办员). A volunteer or an admin files a request on
-- behalf of someone without a smartphone. citizen_id stays the Telegram user who filed it (the
-- helper), so every update reaches them as it reaches any citizen; these columns say for whom.
--
-- on_behalf: 1 for a request filed for a neighbour. Kept apart from for_name because the
--   retention pass and /forget clear the name, and the statistics must still count it.
-- for_name, for_address: the neighbour's name and home address, shown only to the claimer (the
--   neighbour's phone is in `phone`, where the claimer's details, /forget and the retention pass
--   already look for a phone).
-- helper_phone: the helper's own number, only if they chose to give it to the claimer too.
-- confirmed_via: how the helper obtained the neighbour's confirmation that it is resolved:
--   'phone' (电话确认) or 'in_person' (当面确认); NULL until then, and for everyone else's.
ALTER TABLE requests ADD COLUMN on_behalf INTEGER NOT NULL DEFAULT 0 CHECK (on_behalf IN (0, 1));
ALTER TABLE requests ADD COLUMN for_name TEXT;
ALTER TABLE requests ADD COLUMN for_address TEXT;
ALTER TABLE requests ADD COLUMN helper_phone TEXT;
ALTER TABLE requests ADD COLUMN confirmed_via TEXT
    CHECK (confirmed_via IS NULL OR confirmed_via IN ('phone', 'in_person'));

-- /stats counts a cohort's requests filed for neighbours in one short walk of this index (only
-- those rows are in it), not in the shape of requests_stats: that expression stays as it is.
CREATE INDEX requests_on_behalf ON requests (created_at, area_id, status, confirmed_via)
    WHERE on_behalf = 1;
