-- Loop 3, supervision (issue 16.4-5): a problem's card stops being redrawn once it is no longer
-- the current one: a unit's card after the problem went to another unit (reassigned, or sent
-- again to a newly bound chat), an inspector's re-check once it was decided.
ALTER TABLE problem_posts ADD COLUMN ended_at REAL;
