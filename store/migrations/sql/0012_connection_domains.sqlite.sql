-- The userName domains a connection's tokens may create or rename users in, comma-separated
-- and lower-cased ("corp.example,*.corp.example"); NULL: any userName, as for every
-- connection made before this migration.
ALTER TABLE "scim_connection" ADD COLUMN "domains" TEXT;
