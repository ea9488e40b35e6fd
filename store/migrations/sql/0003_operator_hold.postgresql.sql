-- An operator's hold on a user: access stays off whatever the IdP sends until reactivated.
ALTER TABLE "scim_user" ADD COLUMN "held_at" TIMESTAMP;
ALTER TABLE "scim_user" ADD COLUMN "held_by" VARCHAR(256);
ALTER TABLE "scim_user" ADD COLUMN "hold_reason" VARCHAR(1024);
ALTER TABLE "scim_user" ADD COLUMN "idp_active" BOOLEAN;
