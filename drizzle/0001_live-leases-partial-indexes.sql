-- A lease is live exactly while ended_at is null (the check below). Ended leases never lacked an end
-- time in this code; the update makes the check hold for any that do.
UPDATE "leases" SET "ended_at" = "issued_at" WHERE "state" NOT IN ('issued', 'acknowledged') AND "ended_at" IS NULL;--> statement-breakpoint
DROP INDEX "leases_live_idx";--> statement-breakpoint
DROP INDEX "leases_pool_idx";--> statement-breakpoint
CREATE INDEX "leases_live_gateway_idx" ON "leases" USING btree ("gateway_id","seq") WHERE ended_at is null;--> statement-breakpoint
CREATE INDEX "leases_live_expiry_idx" ON "leases" USING btree ("expires_at") WHERE ended_at is null;--> statement-breakpoint
CREATE INDEX "leases_live_pool_idx" ON "leases" USING btree ("pool_id","expires_at") WHERE ended_at is null;--> statement-breakpoint
ALTER TABLE "leases" ADD CONSTRAINT "leases_live_iff_not_ended" CHECK ((state in ('issued', 'acknowledged')) = (ended_at is null));--> statement-breakpoint
-- Room on every page so an acknowledgement, a seq or a presence change can stay on its page (a HOT update).
ALTER TABLE "leases" SET (fillfactor = 80);--> statement-breakpoint
ALTER TABLE "gateways" SET (fillfactor = 80);
