-- Forum supergroups (groups with topics): /bind typed in a topic binds the category there, so
-- its cards are posted in that topic. NULL: the group's General topic (or it has no topics).
-- The name is the topic's as Telegram showed it at the /bind, for /bindings and the notice
-- that it is gone (Telegram tells bots nothing when a topic is deleted: a refused card does).
ALTER TABLE area_bindings ADD COLUMN topic_id INTEGER;
ALTER TABLE area_bindings ADD COLUMN topic_name TEXT;
-- The same for a team's own group: /bind team <id> typed in a topic posts its activities,
-- recruitment calls and honours' announcements there.
ALTER TABLE team_groups ADD COLUMN topic_id INTEGER;
ALTER TABLE team_groups ADD COLUMN topic_name TEXT;
