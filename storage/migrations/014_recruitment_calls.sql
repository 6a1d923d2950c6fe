-- Loop 2, recruitment calls (招募令, issue 15.7): an admin's urgent call for a number of
-- people at a place until a deadline, to the volunteers of chosen areas and teams.
--
-- A call is an `activities` row of kind 'call' (the call's "what" as its title and
-- description, "where" as its place and map point, "how many" as its capacity, sent-at and
-- the deadline as its start and end), so that its answers are `activity_signups`, its cards
-- `activity_posts` (edited through the sender's editPost, a burst of answers costing one
-- edit), its attendance and hours the activities' own (`activity_hours` keeps its NOT NULL
-- activity_id: /hours, the formal-volunteer threshold and disputes count a call's hours with
-- no second path). Lists of activities leave kind 'call' out. Nothing here is deleted.
ALTER TABLE activities ADD COLUMN kind TEXT NOT NULL DEFAULT 'activity'
    CHECK (kind IN ('activity', 'call'));

-- What only a call has: to whom it went, the admin's live roster, how it ended.
CREATE TABLE calls (
    activity_id   INTEGER PRIMARY KEY REFERENCES activities(id),
    district      INTEGER NOT NULL DEFAULT 0,   -- 1: to the whole district
    areas         TEXT NOT NULL DEFAULT '[]',   -- JSON list of area ids (and their subtrees)
    teams         TEXT NOT NULL DEFAULT '[]',   -- JSON list of team ids
    roster_post   INTEGER REFERENCES activity_posts(id),  -- the admin's live roster
    groups        INTEGER NOT NULL DEFAULT 0,   -- cards posted
    people        INTEGER NOT NULL DEFAULT 0,   -- volunteers sent it in private
    silent        INTEGER NOT NULL DEFAULT 0,   -- sent in quiet hours, without a sound
    filled_at     REAL,                         -- the number needed first reached
    outcome       TEXT CHECK (outcome IN ('closed', 'expired', 'cancelled')),
    ended_at      REAL,
    ended_by      INTEGER                       -- NULL: the deadline passed
);
CREATE INDEX activities_by_kind ON activities (kind, ends_at);
