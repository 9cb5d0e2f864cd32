ALTER TABLE "leases" ADD COLUMN "disconnect_grace_seconds" integer;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "disconnect_grace_seconds" integer DEFAULT 60 NOT NULL;