-- The privacy notice a person agreed to before their first request (China's PIPL, the GDPR):
-- which version of it (0: none yet, so the notice comes first) and when.
ALTER TABLE users ADD COLUMN consent_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN consented_at REAL;
