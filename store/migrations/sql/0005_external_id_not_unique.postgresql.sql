-- externalId is the client's value (RFC 7643 §3.1): not unique, still indexed for filters.
ALTER TABLE "scim_user" DROP CONSTRAINT "scim_user_external_id_key";
CREATE INDEX "idx_scim_user__external_id" ON "scim_user" ("external_id");
ALTER TABLE "scim_group" DROP CONSTRAINT "scim_group_external_id_key";
CREATE INDEX "idx_scim_group__external_id" ON "scim_group" ("external_id");
