-- Where a browser session is used from: an IP address (nothing else is stored in it) and
-- the User-Agent, cut to 256 characters. NULL for sessions from before this migration.
ALTER TABLE "control_session" ADD COLUMN "client_address" VARCHAR(45);
ALTER TABLE "control_session" ADD COLUMN "user_agent" VARCHAR(256);
