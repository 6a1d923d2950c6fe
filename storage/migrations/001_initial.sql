-- The closed loop: users, requests with their timeline, the outbox, dialogs (conversation
-- state), category bindings, reference counters and the update inbox.
CREATE TABLE users (
    user_id     INTEGER PRIMARY KEY,
    first_name  TEXT NOT NULL DEFAULT '',
    username    TEXT,
    language    TEXT,
    started     INTEGER NOT NULL DEFAULT 0,  -- wrote to the bot in private, so we may message them
    blocked     INTEGER NOT NULL DEFAULT 0,  -- Telegram said 403 since then
    created_at  REAL NOT NULL,
    updated_at  REAL NOT NULL
);

CREATE TABLE requests (
    id               INTEGER PRIMARY KEY,
    ref              TEXT NOT NULL UNIQUE,
    citizen_id       INTEGER NOT NULL REFERENCES users(user_id),
    language         TEXT NOT NULL,
    category         TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    photos           TEXT NOT NULL DEFAULT '[]',   -- JSON list of Telegram file ids
    voice_file_id    TEXT,
    latitude         REAL,
    longitude        REAL,
    address          TEXT,
    phone            TEXT,
    status           TEXT NOT NULL
        CHECK (status IN ('dispatched', 'claimed', 'done', 'closed', 'cancelled')),
    dispatch_chat_id INTEGER,
    card_chat_id     INTEGER,
    card_message_id  INTEGER,
    card_kind        TEXT,                          -- 'text' or 'photo': how to edit the card
    volunteer_id     INTEGER REFERENCES users(user_id),
    volunteer_name   TEXT,
    done_note        TEXT,
    done_photo       TEXT,
    rating           INTEGER CHECK (rating BETWEEN 1 AND 5),
    comment          TEXT,
    closed_how       TEXT,                          -- 'confirmed' by the citizen
    cancelled_by     TEXT,                          -- 'citizen' or 'admin'
    reopen_count     INTEGER NOT NULL DEFAULT 0,
    created_at       REAL NOT NULL,
    updated_at       REAL NOT NULL,
    claimed_at       REAL,
    done_at          REAL,
    closed_at        REAL
);
CREATE INDEX requests_by_citizen ON requests (citizen_id, id);
CREATE INDEX requests_by_volunteer ON requests (volunteer_id, status);
CREATE INDEX requests_by_status ON requests (status);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES requests(id),
    at          REAL NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    INTEGER,
    detail      TEXT
);
CREATE INDEX events_by_request ON events (request_id, id);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    method      TEXT NOT NULL,
    payload     TEXT NOT NULL,                    -- JSON parameters of the Bot API call
    request_id  INTEGER REFERENCES requests(id),
    purpose     TEXT NOT NULL DEFAULT 'notice',   -- 'card' records the sent message on the request
    status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    not_before  REAL NOT NULL,
    created_at  REAL NOT NULL,
    sent_at     REAL,
    message_ids TEXT,                             -- JSON list of the message ids Telegram gave
    last_error  TEXT
);
CREATE INDEX outbox_pending ON outbox (id) WHERE status = 'pending';

CREATE TABLE dialogs (
    user_id     INTEGER PRIMARY KEY,
    flow        TEXT NOT NULL,
    step        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    updated_at  REAL NOT NULL
);

CREATE TABLE bindings (
    category    TEXT PRIMARY KEY,
    chat_id     INTEGER NOT NULL,
    bound_by    INTEGER,
    bound_at    REAL NOT NULL
);

CREATE TABLE ref_counters (
    year        INTEGER PRIMARY KEY,
    last        INTEGER NOT NULL
);

CREATE TABLE inbox (
    update_id    INTEGER PRIMARY KEY,
    payload      TEXT NOT NULL,
    received_at  REAL NOT NULL,
    processed_at REAL
);
CREATE INDEX inbox_unprocessed ON inbox (update_id) WHERE processed_at IS NULL;
