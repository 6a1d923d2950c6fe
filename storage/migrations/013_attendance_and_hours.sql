-- Loop 2, on-site check-in and verified hours (issue 15.4-6). A sign-up records when and how
-- its volunteer checked in and out ('code': the rotating QR at the venue, 'location': a
-- location shared within the radius, 'hand': the organiser); a no-show is marked when the
-- organiser confirms the attendance list. Hours are rows of their own: from check-in and
-- added by hand are kept apart, only confirmed rows count, and a corrected row is withdrawn,
-- never deleted. Nothing here is ever deleted.
ALTER TABLE activity_signups ADD COLUMN checked_in_at REAL;
ALTER TABLE activity_signups ADD COLUMN checked_in_how TEXT
    CHECK (checked_in_how IN ('code', 'location', 'hand'));
ALTER TABLE activity_signups ADD COLUMN checked_out_at REAL;
ALTER TABLE activity_signups ADD COLUMN checked_out_how TEXT
    CHECK (checked_out_how IN ('code', 'location', 'hand'));
ALTER TABLE activity_signups ADD COLUMN no_show INTEGER NOT NULL DEFAULT 0;

ALTER TABLE activities ADD COLUMN confirmed_at REAL;   -- the attendance list confirmed
ALTER TABLE activities ADD COLUMN confirmed_by INTEGER;

CREATE TABLE activity_hours (
    id            INTEGER PRIMARY KEY,
    activity_id   INTEGER NOT NULL REFERENCES activities(id),
    user_id       INTEGER NOT NULL,
    hours         REAL NOT NULL CHECK (hours > 0),
    source        TEXT NOT NULL CHECK (source IN ('checkin', 'manual')),
    reason        TEXT,                    -- why hours were added by hand
    year          INTEGER NOT NULL,        -- the local calendar year of the activity
    status        TEXT NOT NULL DEFAULT 'confirmed' CHECK (status IN ('confirmed', 'withdrawn')),
    recorded_by   INTEGER NOT NULL,
    recorded_at   REAL NOT NULL,
    withdrawn_at  REAL
);
CREATE INDEX activity_hours_by_user ON activity_hours (user_id, status, year);
CREATE INDEX activity_hours_by_activity ON activity_hours (activity_id, status);

-- A volunteer may dispute the hours of an activity once; the organiser or an admin decides.
CREATE TABLE hour_disputes (
    id            INTEGER PRIMARY KEY,
    activity_id   INTEGER NOT NULL REFERENCES activities(id),
    user_id       INTEGER NOT NULL,
    claimed       REAL NOT NULL CHECK (claimed > 0),
    reason        TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'accepted', 'refused')),
    created_at    REAL NOT NULL,
    decided_by    INTEGER,
    decided_at    REAL
);
CREATE UNIQUE INDEX hour_disputes_once ON hour_disputes (activity_id, user_id);

-- The year a volunteer first reached the formal-volunteer threshold (told once a year).
CREATE TABLE formal_volunteers (
    user_id     INTEGER NOT NULL,
    year        INTEGER NOT NULL,
    hours       REAL NOT NULL,             -- their hours that year when they crossed it
    reached_at  REAL NOT NULL,
    PRIMARY KEY (user_id, year)
);
