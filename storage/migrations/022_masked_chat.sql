-- Issue 18.3, the masked chat: a citizen and the volunteer holding their request talk through
-- the bot, neither learning the other's Telegram account.
--
-- The citizen's choice at intake: let the claimer see the phone (1, as before) or not (0:
-- they talk through the bot only).
ALTER TABLE requests ADD COLUMN share_phone INTEGER NOT NULL DEFAULT 1;

-- One thread per claim of a request: a new claimer (released, reopened, reassigned) gets a
-- fresh one, keyed by the claim's time. Whether it is open is read from the request itself
-- (still held, by this claimer, in this claim, and not ended): nothing has to close it when
-- the request moves on.
CREATE TABLE threads (
    id            INTEGER PRIMARY KEY,
    request_id    INTEGER NOT NULL REFERENCES requests(id),
    citizen_id    INTEGER NOT NULL,
    volunteer_id  INTEGER NOT NULL,
    claimed_at    REAL NOT NULL,
    opened_at     REAL NOT NULL,
    ended_at      REAL,          -- End chat (either side), or a report
    ended_by      INTEGER,
    reported_at   REAL,          -- a report lets an admin read the thread (/thread <ref>)
    reported_by   INTEGER,
    UNIQUE (request_id, volunteer_id, claimed_at)
);
CREATE INDEX threads_reported ON threads (request_id) WHERE reported_at IS NOT NULL;

-- What was relayed, kept for an admin reading a reported thread; the retention pass deletes
-- it with the request's contact details.
CREATE TABLE thread_messages (
    id         INTEGER PRIMARY KEY,
    thread_id  INTEGER NOT NULL REFERENCES threads(id),
    sender_id  INTEGER NOT NULL,
    kind       TEXT NOT NULL CHECK (kind IN ('text', 'photo', 'voice')),
    text       TEXT NOT NULL DEFAULT '',  -- the text, or a photo's or voice's caption
    file_id    TEXT,
    sent_at    REAL NOT NULL
);
CREATE INDEX thread_messages_by_thread ON thread_messages (thread_id, id);
CREATE INDEX thread_messages_by_sender ON thread_messages (sender_id);
