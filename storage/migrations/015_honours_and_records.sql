-- Loop 2, honours, leaderboards and the service record (issue 15.6 and 15.8).
--
-- An honour an admin recorded on a volunteer's record (最美志愿者 and the like). Never
-- deleted: revoking one keeps the row, with who revoked it and when.
CREATE TABLE honours (
    id            INTEGER PRIMARY KEY,
    draft         TEXT NOT NULL,            -- the dialog that saved it (a second Save finds it)
    user_id       INTEGER NOT NULL,         -- the volunteer honoured
    title         TEXT NOT NULL,
    year          INTEGER NOT NULL,
    citation      TEXT NOT NULL,
    awarded_by    INTEGER NOT NULL,
    awarded_at    REAL NOT NULL,
    announced_at  REAL,                     -- announced to the volunteer groups
    revoked_by    INTEGER,
    revoked_at    REAL
);
CREATE UNIQUE INDEX honours_by_draft ON honours (draft, awarded_by);
CREATE INDEX honours_by_user ON honours (user_id, year);

-- A volunteer who asked the rankings to hide their name (/ranking hide); /ranking show sets
-- hidden back to 0. Hidden or not, their hours count.
CREATE TABLE ranking_names (
    user_id     INTEGER PRIMARY KEY,
    hidden      INTEGER NOT NULL CHECK (hidden IN (0, 1)),
    changed_at  REAL NOT NULL
);

-- Every service record (志愿服务记录) the bot issued: its verification code, whose it is,
-- when, and the hash of what it said, so /verify can tell whether it still holds.
CREATE TABLE service_records (
    code          TEXT PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    issued_at     REAL NOT NULL,
    content_hash  TEXT NOT NULL
);
CREATE INDEX service_records_by_user ON service_records (user_id, issued_at);

-- The rankings read a month's or a year's credited request hours by when they were credited.
CREATE INDEX service_hours_by_credit ON service_hours (credited_at) WHERE status = 'credited';
