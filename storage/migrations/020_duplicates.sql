-- Issue 18.1, the duplicate check at intake: a grid cell per located request, an index that
-- finds the open requests of a category in a few cells, and the neighbours who joined one.
--
-- The cell is floor(latitude * 400) * 1000000 + floor(longitude * 400): 1/400 of a degree,
-- about 280 m north-south (storage/grid.py computes the same for new requests and for the
-- cells around a point). SQLite has floor() only with its math functions compiled in, so it
-- is spelled with CAST, which truncates towards zero, minus one below zero.
ALTER TABLE requests ADD COLUMN cell INTEGER;
UPDATE requests SET cell =
    (CAST(latitude * 400 AS INTEGER) - (latitude * 400 < CAST(latitude * 400 AS INTEGER)))
        * 1000000
    + (CAST(longitude * 400 AS INTEGER) - (longitude * 400 < CAST(longitude * 400 AS INTEGER)))
WHERE latitude IS NOT NULL AND longitude IS NOT NULL;
-- A lookup is (category, the two open statuses, ~9 cells, created since): one index seek per
-- status and cell, reading only the rows of that window.
CREATE INDEX requests_nearby ON requests (category, status, cell, created_at);

-- How many neighbours joined a request (the card's "+N"), kept with it so every read of a
-- request has it.
ALTER TABLE requests ADD COLUMN followers INTEGER NOT NULL DEFAULT 0;

-- A neighbour who found their problem already reported and joined it: they hear its news
-- and rate it at the end, apart from the citizen who filed it. Not a request: statistics
-- count them on a line of their own.
CREATE TABLE request_followers (
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    user_id     INTEGER NOT NULL REFERENCES users(user_id),
    language    TEXT NOT NULL,                  -- the one they joined in: their news's
    joined_at   REAL NOT NULL,
    rating      INTEGER CHECK (rating BETWEEN 1 AND 5),
    rated_at    REAL,
    PRIMARY KEY (request_id, user_id)
) WITHOUT ROWID;
CREATE INDEX followers_by_user ON request_followers (user_id);
