-- The schedule lives in rows (timers), cards become their own table so a request can be shown
-- in more than one chat (its group and, after escalation, the admin chat), digests remember
-- which periods were reported, and closures without confirmation are told apart.

CREATE TABLE cards (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    chat_id     INTEGER NOT NULL,
    message_id  INTEGER,                     -- known once the card is sent
    kind        TEXT NOT NULL DEFAULT 'text' CHECK (kind IN ('text', 'photo')),
    role        TEXT NOT NULL DEFAULT 'dispatch' CHECK (role IN ('dispatch', 'escalation')),
    retired     INTEGER NOT NULL DEFAULT 0,  -- a card of an earlier round (before a reopen)
    created_at  REAL NOT NULL
);
CREATE INDEX cards_by_request ON cards (request_id, retired);

-- Cards posted before this migration keep working: copy them over (the old columns stay).
INSERT INTO cards (request_id, chat_id, message_id, kind, role, retired, created_at)
SELECT id, card_chat_id, card_message_id, COALESCE(card_kind, 'text'), 'dispatch', 0, created_at
FROM requests WHERE card_chat_id IS NOT NULL;

ALTER TABLE outbox ADD COLUMN card_id INTEGER REFERENCES cards(id);

CREATE TABLE timers (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    request_id  INTEGER REFERENCES requests(id),
    user_id     INTEGER,                     -- for draft timers, which have no request yet
    due_at      REAL NOT NULL,
    done_at     REAL,                        -- fired or cancelled
    outcome     TEXT,                        -- 'fired', 'cancelled', 'skipped'
    created_at  REAL NOT NULL
);
CREATE INDEX timers_due ON timers (due_at) WHERE done_at IS NULL;
CREATE INDEX timers_by_request ON timers (request_id) WHERE done_at IS NULL;
CREATE INDEX timers_by_user ON timers (user_id) WHERE done_at IS NULL;

CREATE TABLE reports (
    kind        TEXT NOT NULL,               -- 'daily' or 'monthly'
    period      TEXT NOT NULL,               -- '2026-11-28' or '2026-11'
    sent_at     REAL NOT NULL,
    PRIMARY KEY (kind, period)
);

ALTER TABLE requests ADD COLUMN escalation_level INTEGER NOT NULL DEFAULT 0;
ALTER TABLE requests ADD COLUMN extended INTEGER NOT NULL DEFAULT 0;   -- 'need more time' used
ALTER TABLE requests ADD COLUMN overdue_since REAL;  -- set when a wait ran past its policy
CREATE INDEX events_by_kind_time ON events (kind, at);
