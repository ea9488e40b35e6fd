-- The slot length (seconds per request) the bucket's TAT was counted in; NULL for buckets
-- written before this migration, which are taken as counted in the current limit's slots.
ALTER TABLE "rate_bucket" ADD COLUMN "step" REAL;
