-- Forum supergroups: the topic each card was posted in (NULL: General, or a chat without
-- topics). A binding moved to another topic of its group leaves its open cards where they
-- are, so what is said about a card (the claim reminder, "it has waited too long", a card
-- posted again after someone deleted it) goes where the card is, and /bind counts the cards
-- that stay behind: neither can be read from the binding any more. Set when the card is
-- queued (where it is meant to go) and again when it is sent (where it went: General, if
-- its topic turned out to be gone).
ALTER TABLE cards ADD COLUMN thread_id INTEGER;
ALTER TABLE activity_posts ADD COLUMN thread_id INTEGER;
ALTER TABLE problem_posts ADD COLUMN thread_id INTEGER;

-- Cards posted before: a sent call keeps no payload, so where each went is read as the
-- program read it until now, from its binding as it stands (the level that sent the request
-- to that chat; the team, or a call's teams, whose group it is; the unit whose chat it is).
-- A card still queued goes where its call says.
UPDATE cards SET thread_id = CASE
    WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.card_id = cards.id AND o.purpose = 'card'
                                          AND o.status = 'pending')
    THEN (SELECT json_extract(o.payload, '$.message_thread_id') FROM outbox o
          WHERE o.card_id = cards.id AND o.purpose = 'card' AND o.status = 'pending'
          ORDER BY o.id DESC LIMIT 1)
    ELSE (SELECT b.topic_id FROM requests r JOIN area_bindings b
          ON b.category = r.category AND b.chat_id = cards.chat_id AND b.area_id = COALESCE((
              SELECT json_extract(e.detail, '$.level') FROM events e
              WHERE e.request_id = r.id AND e.kind IN ('dispatched', 'escalated')
                AND json_extract(e.detail, '$.chat_id') = b.chat_id
              ORDER BY e.id DESC LIMIT 1), r.dispatch_area_id, '')
          WHERE r.id = cards.request_id)
END WHERE chat_id < 0;

UPDATE activity_posts SET thread_id = CASE
    WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.post_id = activity_posts.id
                                          AND o.purpose = 'post' AND o.status = 'pending')
    THEN (SELECT json_extract(o.payload, '$.message_thread_id') FROM outbox o
          WHERE o.post_id = activity_posts.id AND o.purpose = 'post' AND o.status = 'pending'
          ORDER BY o.id DESC LIMIT 1)
    ELSE (SELECT g.topic_id FROM activities a JOIN team_groups g
          ON g.chat_id = activity_posts.chat_id
         AND (g.team_id = a.team_id OR g.team_id IN (
              SELECT t.value FROM calls c, json_each(c.teams) t WHERE c.activity_id = a.id))
          WHERE a.id = activity_posts.activity_id AND g.topic_id IS NOT NULL
          ORDER BY g.team_id = a.team_id DESC LIMIT 1)
END WHERE chat_id < 0;

UPDATE problem_posts SET thread_id = CASE
    WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.problem_post_id = problem_posts.id
                                          AND o.purpose = 'problem_post'
                                          AND o.status = 'pending')
    THEN (SELECT json_extract(o.payload, '$.message_thread_id') FROM outbox o
          WHERE o.problem_post_id = problem_posts.id AND o.purpose = 'problem_post'
            AND o.status = 'pending'
          ORDER BY o.id DESC LIMIT 1)
    ELSE (SELECT u.topic_id FROM problems p JOIN unit_chats u
          ON u.unit_id = p.unit_id AND u.chat_id = problem_posts.chat_id
          WHERE p.id = problem_posts.problem_id)
END WHERE chat_id < 0 AND role = 'unit';

-- The name of each forum topic the bot has seen made or renamed (forum_topic_created,
-- forum_topic_edited): a binding's topic_name follows a rename, and a /bind typed as a reply
-- in a topic (its message then answers that reply, not the topic's first message, which
-- names it) still knows the name.
CREATE TABLE forum_topics (
    chat_id    INTEGER NOT NULL,
    thread_id  INTEGER NOT NULL,
    name       TEXT NOT NULL,
    PRIMARY KEY (chat_id, thread_id)
);

