-- The admin console: each request carries the time of every lifecycle step, kept by triggers
-- from its event timeline (so every figure of /stats and /export comes from the timeline);
-- area admins, bans, background jobs (charts, exports) and broadcasts.

ALTER TABLE requests ADD COLUMN dispatched_at REAL;     -- first dispatch
ALTER TABLE requests ADD COLUMN first_claimed_at REAL;  -- first claim (or assignment)
ALTER TABLE requests ADD COLUMN first_done_at REAL;     -- first time a volunteer said done
ALTER TABLE requests ADD COLUMN confirmed_at REAL;      -- the citizen said resolved
ALTER TABLE requests ADD COLUMN cancelled_at REAL;

UPDATE requests SET
    dispatched_at = (SELECT MIN(at) FROM events e
                     WHERE e.request_id = requests.id AND e.kind = 'dispatched'),
    first_claimed_at = (SELECT MIN(at) FROM events e
                        WHERE e.request_id = requests.id AND e.kind IN ('claimed', 'assigned')),
    first_done_at = (SELECT MIN(at) FROM events e
                     WHERE e.request_id = requests.id AND e.kind = 'done'),
    confirmed_at = CASE WHEN status = 'closed' AND closed_how = 'confirmed' THEN
                   (SELECT MAX(at) FROM events e
                    WHERE e.request_id = requests.id AND e.kind = 'confirmed') END,
    cancelled_at = CASE WHEN status = 'cancelled' THEN
                   (SELECT MAX(at) FROM events e
                    WHERE e.request_id = requests.id AND e.kind = 'cancelled') END;

CREATE TRIGGER lifecycle_dispatched AFTER INSERT ON events WHEN NEW.kind = 'dispatched'
BEGIN
    UPDATE requests SET dispatched_at = COALESCE(dispatched_at, NEW.at)
    WHERE id = NEW.request_id;
END;
CREATE TRIGGER lifecycle_claimed AFTER INSERT ON events
WHEN NEW.kind IN ('claimed', 'assigned')
BEGIN
    UPDATE requests SET first_claimed_at = COALESCE(first_claimed_at, NEW.at)
    WHERE id = NEW.request_id;
END;
CREATE TRIGGER lifecycle_done AFTER INSERT ON events WHEN NEW.kind = 'done'
BEGIN
    UPDATE requests SET first_done_at = COALESCE(first_done_at, NEW.at)
    WHERE id = NEW.request_id;
END;
CREATE TRIGGER lifecycle_confirmed AFTER INSERT ON events WHEN NEW.kind = 'confirmed'
BEGIN
    UPDATE requests SET confirmed_at = NEW.at WHERE id = NEW.request_id;
END;
CREATE TRIGGER lifecycle_cancelled AFTER INSERT ON events WHEN NEW.kind = 'cancelled'
BEGIN
    UPDATE requests SET cancelled_at = NEW.at WHERE id = NEW.request_id;
END;
CREATE TRIGGER lifecycle_reopened AFTER INSERT ON events WHEN NEW.kind = 'reopened'
BEGIN
    UPDATE requests SET confirmed_at = NULL, cancelled_at = NULL WHERE id = NEW.request_id;
END;

-- Area admins: a centre admin (config) grants a user an area; they act within its subtree.
CREATE TABLE admin_grants (
    user_id     INTEGER NOT NULL,
    area_id     TEXT NOT NULL,
    granted_by  INTEGER NOT NULL,
    granted_at  REAL NOT NULL,
    revoked_by  INTEGER,
    revoked_at  REAL                          -- kept, not deleted: who could act when
);
CREATE UNIQUE INDEX admin_grants_active ON admin_grants (user_id, area_id)
    WHERE revoked_at IS NULL;

-- Bans: a banned citizen's new requests are refused; the history stays.
CREATE TABLE bans (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    banned_by   INTEGER NOT NULL,
    banned_at   REAL NOT NULL,
    lifted_by   INTEGER,
    lifted_at   REAL
);
CREATE UNIQUE INDEX bans_active ON bans (user_id) WHERE lifted_at IS NULL;

-- Work too slow for an update handler (a chart, an export) runs in the background; a job
-- left pending by a crash runs again at the next start.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    chat_id     INTEGER NOT NULL,
    user_id     INTEGER NOT NULL,
    language    TEXT NOT NULL,
    params      TEXT NOT NULL DEFAULT '{}',
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    created_at  REAL NOT NULL,
    finished_at REAL,
    error       TEXT
);
CREATE INDEX jobs_pending ON jobs (id) WHERE status = 'pending';

-- A broadcast to an area's volunteers waits for its author's Send after a preview.
CREATE TABLE broadcasts (
    id          INTEGER PRIMARY KEY,
    author_id   INTEGER NOT NULL,
    area_id     TEXT NOT NULL,
    text        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'sent', 'cancelled')),
    recipients  INTEGER,
    created_at  REAL NOT NULL,
    decided_at  REAL
);

-- Intake limits count a citizen's requests by day.
CREATE INDEX requests_by_citizen_created ON requests (citizen_id, created_at);
