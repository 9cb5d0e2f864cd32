ALTER TABLE "gateways" ADD COLUMN "reserved" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "priority" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "gateways" ADD COLUMN "pending_since" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "max_oversubscription" real;--> statement-breakpoint
ALTER TABLE "pools" ADD COLUMN "grant_mode" text DEFAULT 'partial' NOT NULL;