-- Loop 2, volunteer activities (issue 15): an activity published by an organiser for a team,
-- the volunteers signed up for it (and waiting for a place), and the recruitment cards that
-- show it in groups. Nothing here is ever deleted: a cancelled activity and a cancelled
-- sign-up keep their rows, with who and when.
CREATE TABLE activities (
    id             INTEGER PRIMARY KEY,
    draft          TEXT NOT NULL UNIQUE,    -- the dialog that published it (a second Publish finds it)
    organiser_id   INTEGER NOT NULL,
    team_id        TEXT NOT NULL,
    area_id        TEXT,
    title          TEXT NOT NULL,
    theme_year     INTEGER,                 -- the month whose theme it belongs to; NULL: none
    theme_month    INTEGER CHECK (theme_month BETWEEN 1 AND 12),
    place          TEXT NOT NULL,
    latitude       REAL,
    longitude      REAL,
    starts_at      REAL NOT NULL,
    ends_at        REAL NOT NULL CHECK (ends_at > starts_at),
    capacity       INTEGER NOT NULL CHECK (capacity > 0),
    leader_id      INTEGER NOT NULL,        -- the on-site leader
    poster         TEXT,                    -- a photo's Telegram file_id
    description    TEXT NOT NULL,
    language       TEXT NOT NULL,           -- what the organiser wrote it in
    status         TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed', 'cancelled')),
    created_at     REAL NOT NULL,
    updated_at     REAL NOT NULL,
    closed_at      REAL,                    -- sign-up closed by the organiser
    cancelled_at   REAL,
    cancelled_by   INTEGER,
    cancel_reason  TEXT
);
CREATE INDEX activities_by_start ON activities (starts_at);
CREATE INDEX activities_by_team ON activities (team_id, starts_at);

-- One row per sign-up: 'signed' holds a place, 'waiting' is on the waitlist (in joined_at
-- order), 'cancelled' ended by the volunteer (or a place offered from the waitlist declined).
CREATE TABLE activity_signups (
    id            INTEGER PRIMARY KEY,
    activity_id   INTEGER NOT NULL REFERENCES activities(id),
    user_id       INTEGER NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('signed', 'waiting', 'cancelled')),
    joined_at     REAL NOT NULL,
    promoted_at   REAL,                     -- moved up from the waitlist
    changed_at    REAL NOT NULL
);
CREATE UNIQUE INDEX activity_signups_current ON activity_signups (activity_id, user_id)
    WHERE status IN ('signed', 'waiting');
CREATE INDEX activity_signups_by_activity ON activity_signups (activity_id, status, joined_at);
CREATE INDEX activity_signups_by_user ON activity_signups (user_id, status);

-- A recruitment card of an activity in a group; its message id comes when it is sent.
CREATE TABLE activity_posts (
    id           INTEGER PRIMARY KEY,
    activity_id  INTEGER NOT NULL REFERENCES activities(id),
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER,
    kind         TEXT NOT NULL CHECK (kind IN ('text', 'photo')),
    created_at   REAL NOT NULL
);
CREATE INDEX activity_posts_by_activity ON activity_posts (activity_id);

-- A team's own group, where its activities are posted (/bind team <id> in the group).
CREATE TABLE team_groups (
    team_id     TEXT PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    chat_title  TEXT,
    bound_by    INTEGER NOT NULL,
    bound_at    REAL NOT NULL
);

ALTER TABLE outbox ADD COLUMN post_id INTEGER REFERENCES activity_posts(id);
ALTER TABLE timers ADD COLUMN activity_id INTEGER REFERENCES activities(id);
CREATE INDEX timers_by_activity ON timers (activity_id) WHERE done_at IS NULL;
