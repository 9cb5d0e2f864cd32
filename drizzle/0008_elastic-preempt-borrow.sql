CREATE TABLE "usage_samples" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"gateway_id" uuid NOT NULL,
	"pool_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"tags" integer NOT NULL,
	"connections" integer NOT NULL
);
--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "elastic_min_tags" integer;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "elastic_max_tags" integer;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "elastic_min_connections" integer;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "elastic_max_connections" integer;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "elastic_changed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "elastic_low_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "leases" ADD COLUMN "borrow" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "elastic_headroom" real DEFAULT 0.25 NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "elastic_step" real DEFAULT 0.25 NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "elastic_cooldown_seconds" integer DEFAULT 300 NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "preempt_to_min" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "pending_timeout_seconds" integer;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "borrow_max_seconds" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "borrow_max_fraction" real DEFAULT 0.25 NOT NULL;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "borrows_per_gateway" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_samples" ADD CONSTRAINT "usage_samples_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "usage_samples_pool_idx" ON "usage_samples" USING btree ("pool_id","at");