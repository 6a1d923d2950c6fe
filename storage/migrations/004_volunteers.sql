-- Volunteers and teams, and the hours of service they give.

CREATE TABLE teams (
    id          TEXT PRIMARY KEY,
    area_id     TEXT,
    name_zh     TEXT NOT NULL,
    name_en     TEXT NOT NULL,
    leader_id   INTEGER,                 -- approves the team's registrations
    updated_at  REAL NOT NULL
);

CREATE TABLE volunteers (
    user_id     INTEGER PRIMARY KEY REFERENCES users(user_id),
    name        TEXT NOT NULL,
    phone       TEXT,
    area_id     TEXT,
    team_id     TEXT REFERENCES teams(id),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    reason      TEXT,                    -- why a registration was rejected
    decided_by  INTEGER,
    applied_at  REAL NOT NULL,
    decided_at  REAL
);
CREATE INDEX volunteers_by_team ON volunteers (team_id);

CREATE TABLE service_hours (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES requests(id),
    volunteer_id  INTEGER NOT NULL,
    hours         REAL NOT NULL CHECK (hours > 0),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'credited', 'withdrawn')),
    recorded_at   REAL NOT NULL,
    credited_at   REAL,
    withdrawn_at  REAL
);
CREATE INDEX service_hours_by_request ON service_hours (request_id);
CREATE INDEX service_hours_by_volunteer ON service_hours (volunteer_id, status, credited_at);
