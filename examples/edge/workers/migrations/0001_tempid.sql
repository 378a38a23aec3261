-- migrations/0001_tempid.sql — the D1 store's table (wrangler d1 migrations create tempid init, then paste)
CREATE TABLE IF NOT EXISTS "tempid_uses" (token_id TEXT PRIMARY KEY, count INTEGER NOT NULL DEFAULT 0, expires_at INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS "tempid_uses_expires_at_idx" ON "tempid_uses" (expires_at);
