-- Each token, user and group gets the connection the data step found for it; group names
-- become unique within a connection; a mapping row may name one connection (NULL: any).
-- A row the data step left without an owner fails SET NOT NULL and the whole migration, in
-- its one transaction, changes nothing.
ALTER TABLE "scim_token" ADD COLUMN "connection_id" INTEGER;
UPDATE "scim_token" t SET "connection_id" = o."connection_id" FROM "connection_owner_0007" o WHERE o."target_type" = 'token' AND o."target_id" = CAST(t."id" AS TEXT);
ALTER TABLE "scim_token" ALTER COLUMN "connection_id" SET NOT NULL;
ALTER TABLE "scim_token" ADD CONSTRAINT "fk_scim_token__connection_id" FOREIGN KEY ("connection_id") REFERENCES "scim_connection" ("id");
CREATE INDEX "idx_scim_token__connection_id" ON "scim_token" ("connection_id");
ALTER TABLE "scim_user" ADD COLUMN "connection_id" INTEGER;
UPDATE "scim_user" u SET "connection_id" = o."connection_id" FROM "connection_owner_0007" o WHERE o."target_type" = 'user' AND o."target_id" = u."id";
ALTER TABLE "scim_user" ALTER COLUMN "connection_id" SET NOT NULL;
ALTER TABLE "scim_user" ADD CONSTRAINT "fk_scim_user__connection_id" FOREIGN KEY ("connection_id") REFERENCES "scim_connection" ("id");
CREATE INDEX "idx_scim_user__connection_id_deleted_at_created_id" ON "scim_user" ("connection_id", "deleted_at", "created", "id");
ALTER TABLE "scim_group" ADD COLUMN "connection_id" INTEGER;
UPDATE "scim_group" g SET "connection_id" = o."connection_id" FROM "connection_owner_0007" o WHERE o."target_type" = 'group' AND o."target_id" = g."id";
ALTER TABLE "scim_group" ALTER COLUMN "connection_id" SET NOT NULL;
ALTER TABLE "scim_group" ADD CONSTRAINT "fk_scim_group__connection_id" FOREIGN KEY ("connection_id") REFERENCES "scim_connection" ("id");
ALTER TABLE "scim_group" DROP CONSTRAINT "scim_group_display_name_key_key";
ALTER TABLE "scim_group" ADD CONSTRAINT "unq_scim_group__connection_id_display_name_key" UNIQUE ("connection_id", "display_name_key");
CREATE INDEX "idx_scim_group__display_name_key" ON "scim_group" ("display_name_key");
CREATE INDEX "idx_scim_group__connection_id_created_id" ON "scim_group" ("connection_id", "created", "id");
ALTER TABLE "sso_group_role_mapping" ADD COLUMN "connection_id" INTEGER;
ALTER TABLE "sso_group_role_mapping" ADD CONSTRAINT "fk_sso_group_role_mapping__connection_id" FOREIGN KEY ("connection_id") REFERENCES "scim_connection" ("id");
ALTER TABLE "sso_group_role_mapping" DROP CONSTRAINT "unq_sso_group_role_mapping__group_name_key_role";
ALTER TABLE "sso_group_role_mapping" ADD CONSTRAINT "unq_sso_group_role_mapping__connection_id_group_name_key_role" UNIQUE ("connection_id", "group_name_key", "role");
CREATE INDEX "idx_sso_group_role_mapping__connection_id" ON "sso_group_role_mapping" ("connection_id");
-- The request log names the connection of each request's token (the activity view filters
-- by it); rows written before have none.
ALTER TABLE "request_activity" ADD COLUMN "connection" VARCHAR(256);
CREATE INDEX "idx_request_activity__connection_at" ON "request_activity" ("connection", "at");
DROP TABLE "connection_owner_0007";
