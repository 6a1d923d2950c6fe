-- Loop 3, supervision (督导, issue 16.3-5): an inspector's visits to points and the problems
-- found there, from the report (with its before photos) to the responsible unit's receipt and
-- rectification (after photos), and the re-check that passes or rejects it. Every change is a
-- row of problem_events; nothing is deleted.
CREATE TABLE visits (
    id            INTEGER PRIMARY KEY,
    point_id      TEXT NOT NULL,           -- an id of the points file
    inspector_id  INTEGER NOT NULL,
    group_id      INTEGER REFERENCES inspection_groups(id),
    started_at    REAL NOT NULL,
    ended_at      REAL,
    all_clear     INTEGER NOT NULL DEFAULT 0,  -- visited and found nothing
    problems      INTEGER NOT NULL DEFAULT 0,  -- problems reported on this visit
    latitude      REAL,                    -- where the inspector was, if they shared it
    longitude     REAL
);
CREATE INDEX visits_by_point ON visits (point_id, started_at);
CREATE INDEX visits_by_inspector ON visits (inspector_id, started_at);

-- A problem's life: 'dispatched' (sent to the unit, or to the admins when the unit has no
-- chat), 'received' (the unit took it: the rectification clock runs), 'rectified' (after
-- photos given, waiting for the re-check), 'passed' (final), 'returned' (the unit says it is
-- not theirs: the admins reassign it). A rejected re-check goes back to 'received' with a new
-- deadline, counted in `rejections`.
CREATE TABLE problems (
    id             INTEGER PRIMARY KEY,
    ref            TEXT NOT NULL UNIQUE,   -- D2026-000001
    visit_id       INTEGER NOT NULL REFERENCES visits(id),
    point_id       TEXT NOT NULL,
    unit_id        TEXT NOT NULL,
    area_id        TEXT,
    group_id       INTEGER REFERENCES inspection_groups(id),
    type           TEXT NOT NULL,          -- a code of the problem types file
    severity       TEXT NOT NULL,          -- a key of [supervision] deadlines
    note           TEXT NOT NULL,
    before_photos  TEXT NOT NULL,          -- JSON list of Telegram file ids (at least one)
    after_photos   TEXT NOT NULL DEFAULT '[]',
    rectify_note   TEXT,
    status         TEXT NOT NULL DEFAULT 'dispatched'
        CHECK (status IN ('dispatched', 'received', 'rectified', 'passed', 'returned')),
    reported_by    INTEGER NOT NULL,
    reported_at    REAL NOT NULL,
    receive_due    REAL NOT NULL,          -- by when the unit must press Received
    received_at    REAL,
    received_by    INTEGER,
    due_at         REAL,                   -- the rectification deadline (from receipt)
    rectified_at   REAL,
    passed_at      REAL,
    passed_by      INTEGER,
    rejections     INTEGER NOT NULL DEFAULT 0,
    extensions     INTEGER NOT NULL DEFAULT 0,
    request_id     INTEGER REFERENCES requests(id)  -- made from a citizen's request (16.8)
);
CREATE INDEX problems_by_status ON problems (status, due_at);
CREATE INDEX problems_by_unit ON problems (unit_id, reported_at);
CREATE INDEX problems_by_point ON problems (point_id, reported_at);
CREATE INDEX problems_by_reported ON problems (reported_at);

CREATE TABLE problem_events (
    id          INTEGER PRIMARY KEY,
    problem_id  INTEGER NOT NULL REFERENCES problems(id),
    at          REAL NOT NULL,
    kind        TEXT NOT NULL,  -- reported, dispatched, received, rectified, passed, rejected,
                                -- returned, reassigned, extension_asked, extension_granted,
                                -- extension_refused, reminded, overdue, escalated
    actor_id    INTEGER,
    detail      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX problem_events_by_problem ON problem_events (problem_id, at);

-- Cards of a problem: in the unit's chat (or the admins'), and the re-check in private.
CREATE TABLE problem_posts (
    id          INTEGER PRIMARY KEY,
    problem_id  INTEGER NOT NULL REFERENCES problems(id),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER,
    role        TEXT NOT NULL CHECK (role IN ('unit', 'admins', 'recheck')),
    created_at  REAL NOT NULL
);
CREATE INDEX problem_posts_by_problem ON problem_posts (problem_id);

ALTER TABLE timers ADD COLUMN problem_id INTEGER REFERENCES problems(id);
CREATE INDEX timers_by_problem ON timers (problem_id) WHERE done_at IS NULL;
-- The sender records a problem card's message id, and edits it, as it does an activity's.
ALTER TABLE outbox ADD COLUMN problem_post_id INTEGER REFERENCES problem_posts(id);
