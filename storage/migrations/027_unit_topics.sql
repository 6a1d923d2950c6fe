-- Forum supergroups, loop 3: /bind unit <id> typed in a topic makes that topic the unit's
-- place, so its problems' cards, reminders and notices are posted there. NULL: the group's
-- General topic (or it has no topics). The name is the topic's as Telegram showed it at the
-- /bind, for the admins' notice that it is gone (as area_bindings' and team_groups', 026).
ALTER TABLE unit_chats ADD COLUMN topic_id INTEGER;
ALTER TABLE unit_chats ADD COLUMN topic_name TEXT;
