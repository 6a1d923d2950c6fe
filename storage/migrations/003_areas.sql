-- Areas: a request belongs to a station (or an institute, or nowhere in particular), and a
-- group is bound to a category in an area. The old bindings (one group per category) become
-- bindings at the top of the tree; nothing is dropped before it is copied.

ALTER TABLE requests ADD COLUMN area_id TEXT;           -- where the citizen said it is
ALTER TABLE requests ADD COLUMN dispatch_area_id TEXT;  -- the tree level whose group has it

CREATE TABLE area_bindings (
    category    TEXT NOT NULL,
    area_id     TEXT NOT NULL DEFAULT '',  -- '' = the whole district (the top of the tree)
    chat_id     INTEGER NOT NULL,
    chat_title  TEXT,
    bound_by    INTEGER,
    bound_at    REAL NOT NULL,
    PRIMARY KEY (category, area_id)
);
INSERT INTO area_bindings (category, area_id, chat_id, bound_by, bound_at)
SELECT category, '', chat_id, bound_by, bound_at FROM bindings;
DROP TABLE bindings;

CREATE INDEX requests_by_area ON requests (area_id);
CREATE INDEX requests_by_created ON requests (created_at);
