-- A call given up on keeps its chat, method and reason, never its text (it may hold a phone
-- number): mark_failed empties the payload from now on; this empties those failed before.
UPDATE outbox SET payload = '{}' WHERE status = 'failed' AND payload != '{}';
