-- One row of the request log may stand for many refused requests (401, 429) of one client
-- address in one minute: "hits" says how many. Every row written before stands for one.
ALTER TABLE "request_activity" ADD COLUMN "hits" INTEGER NOT NULL DEFAULT 1;
