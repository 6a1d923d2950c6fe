-- Number 020 belongs to another part of issue 18 (the duplicate check), built on another
-- branch at the same time; this empty file only keeps the sequence whole on the branch of
-- 021 (reporting for a neighbour). It goes when the two branches meet.
SELECT 1;
