-- Loop 3, supervision (督导, issue 16.2): inspection groups and their inspectors, the points
-- each group patrols, the group chat of each responsible unit, and the named people who act
-- for a unit. Nothing is deleted: a revoked inspector, a point moved to another group, a
-- member who no longer acts for a unit keep their rows, ended, with who and when.
CREATE TABLE inspection_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    created_by  INTEGER NOT NULL,
    created_at  REAL NOT NULL
);

CREATE TABLE inspectors (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    group_id    INTEGER NOT NULL REFERENCES inspection_groups(id),
    granted_by  INTEGER NOT NULL,
    granted_at  REAL NOT NULL,
    revoked_by  INTEGER,
    revoked_at  REAL
);
-- An inspector belongs to one group at a time.
CREATE UNIQUE INDEX inspectors_active ON inspectors (user_id) WHERE revoked_at IS NULL;

CREATE TABLE patrol_points (
    id           INTEGER PRIMARY KEY,
    point_id     TEXT NOT NULL,            -- an id of the points file
    group_id     INTEGER NOT NULL REFERENCES inspection_groups(id),
    assigned_by  INTEGER NOT NULL,
    assigned_at  REAL NOT NULL,
    ended_at     REAL                      -- moved to another group
);
-- A point is patrolled by one group at a time.
CREATE UNIQUE INDEX patrol_points_active ON patrol_points (point_id) WHERE ended_at IS NULL;
CREATE INDEX patrol_points_by_group ON patrol_points (group_id) WHERE ended_at IS NULL;

CREATE TABLE unit_chats (
    unit_id     TEXT PRIMARY KEY,          -- an id of the units file
    chat_id     INTEGER NOT NULL,
    chat_title  TEXT,
    bound_by    INTEGER NOT NULL,
    bound_at    REAL NOT NULL
);

CREATE TABLE unit_members (
    id          INTEGER PRIMARY KEY,
    unit_id     TEXT NOT NULL,
    user_id     INTEGER NOT NULL,
    added_by    INTEGER NOT NULL,
    added_at    REAL NOT NULL,
    removed_by  INTEGER,
    removed_at  REAL
);
CREATE UNIQUE INDEX unit_members_active ON unit_members (unit_id, user_id)
    WHERE removed_at IS NULL;
