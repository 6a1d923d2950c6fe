-- /stats counts requests by (status, how closed, who cancelled): covering indexes let SQLite
-- answer from the index alone, in order, without touching the table (bench/storage.py).
CREATE INDEX requests_tally ON requests (status, closed_how, cancelled_by);
CREATE INDEX requests_tally_by_area ON requests (area_id, status, closed_how, cancelled_by);
DROP INDEX requests_by_area;  -- the index above starts with area_id and serves its lookups
