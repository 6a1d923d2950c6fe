-- A card whose message stayed in a group that became a supergroup (chat_moves). The card moves
-- to the supergroup's id with everything else, but its message does not: it stays in the old,
-- deactivated group, and the supergroup numbers its own messages afresh, so the card's
-- message_id names nothing there yet, or another message. Such a card is "not there yet": the
-- sender edits no message for it, and its next change posts it anew in the supergroup (while
-- it has buttons); the new message's id clears the mark. message_id stays as it was: the
-- cards of one combined message are still found together by it.
ALTER TABLE cards ADD COLUMN left_behind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE activity_posts ADD COLUMN left_behind INTEGER NOT NULL DEFAULT 0;
ALTER TABLE problem_posts ADD COLUMN left_behind INTEGER NOT NULL DEFAULT 0;

-- Moves noted before this migration: a card created before its chat's move, with a message,
-- was most likely posted in the old group; not if the outbox shows that very message posted
-- by a call to the card's chat now, the supergroup (the old program posted a card anew there
-- when its edit found nothing: marked, its next change would post it a second time, the
-- first one left standing with live buttons). One whose posting was still queued at the move
-- and whose call retention has taken since is marked: its next change posts it again, once.
UPDATE cards SET left_behind = 1 WHERE message_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM chat_moves m WHERE m.new_chat_id = cards.chat_id
                                 AND cards.created_at < m.moved_at)
  AND NOT EXISTS (
    SELECT 1 FROM outbox o, json_each(o.message_ids) sent
    WHERE o.card_id = cards.id AND o.chat_id = cards.chat_id AND o.status = 'sent'
      AND o.method IN ('sendMessage', 'sendPhoto') AND sent.value = cards.message_id);
UPDATE activity_posts SET left_behind = 1 WHERE message_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM chat_moves m WHERE m.new_chat_id = activity_posts.chat_id
                                 AND activity_posts.created_at < m.moved_at)
  AND NOT EXISTS (
    SELECT 1 FROM outbox o, json_each(o.message_ids) sent
    WHERE o.post_id = activity_posts.id AND o.chat_id = activity_posts.chat_id
      AND o.status = 'sent' AND o.method IN ('sendMessage', 'sendPhoto')
      AND sent.value = activity_posts.message_id);
UPDATE problem_posts SET left_behind = 1 WHERE message_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM chat_moves m WHERE m.new_chat_id = problem_posts.chat_id
                                 AND problem_posts.created_at < m.moved_at)
  AND NOT EXISTS (
    SELECT 1 FROM outbox o, json_each(o.message_ids) sent
    WHERE o.problem_post_id = problem_posts.id AND o.chat_id = problem_posts.chat_id
      AND o.status = 'sent' AND o.method IN ('sendMessage', 'sendPhoto')
      AND sent.value = problem_posts.message_id);
