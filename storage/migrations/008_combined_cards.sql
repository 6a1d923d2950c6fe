-- In a storm one group message lists several new requests, each with its own Claim button
-- (bot/delivery.py). Every card of such a message keeps the part of it that it shows, so an
-- edit for one request redraws the whole message without losing what the others show (a
-- note on a retired card, an admin's header). A card posted alone keeps NULL here.
ALTER TABLE cards ADD COLUMN shown TEXT;  -- JSON {"text": HTML, "claim": true|false}
CREATE INDEX cards_by_message ON cards (chat_id, message_id) WHERE shown IS NOT NULL;
