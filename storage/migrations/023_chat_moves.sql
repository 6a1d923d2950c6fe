-- A group Telegram turned into a supergroup: its old id, its new one, and when the bot learnt
-- it (from the service messages of the upgrade, or a call to the old id refused). Everything
-- stored under the old id moves with it in the same transaction; the ids the config file
-- names ([bot] admin_chat_id, a category's group_id) are read through this table, so the
-- bot keeps reaching a group the file still names by its old id.
CREATE TABLE chat_moves (
    old_chat_id INTEGER PRIMARY KEY,
    new_chat_id INTEGER NOT NULL,
    moved_at    REAL NOT NULL
);
