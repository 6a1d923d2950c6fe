-- Monthly themes (一月一主题) a centre admin set in the bot for one month of one year: each wins
-- over the themes file for that month. Rows are never deleted: a new setting ends the one
-- before it ('replaced'), /theme clear ends it ('cleared'), and who did each, and when, stays.
CREATE TABLE month_themes (
    id              INTEGER PRIMARY KEY,
    year            INTEGER NOT NULL,
    month           INTEGER NOT NULL CHECK (month BETWEEN 1 AND 12),
    title_zh        TEXT NOT NULL,
    title_en        TEXT NOT NULL,
    description_zh  TEXT NOT NULL,
    description_en  TEXT NOT NULL,
    draft           TEXT NOT NULL,       -- the dialog that wrote it (a second Save finds it)
    set_by          INTEGER NOT NULL,
    set_at          REAL NOT NULL,
    ended_how       TEXT CHECK (ended_how IN ('replaced', 'cleared')),
    ended_by        INTEGER,
    ended_at        REAL
);
-- At most one theme in force per month.
CREATE UNIQUE INDEX month_themes_current ON month_themes (year, month) WHERE ended_at IS NULL;
CREATE INDEX month_themes_by_draft ON month_themes (draft, set_by);
