CREATE TABLE "gateway_usage_history" (
	"gateway_id" uuid NOT NULL,
	"at" timestamp with time zone NOT NULL,
	"online" boolean NOT NULL,
	"usage_tags" integer,
	"usage_connections" integer,
	"alloc_tags" integer NOT NULL,
	"alloc_connections" integer NOT NULL,
	"held_tags" integer NOT NULL,
	"held_connections" integer NOT NULL,
	CONSTRAINT "gateway_usage_history_gateway_id_at_pk" PRIMARY KEY("gateway_id","at")
);
--> statement-breakpoint
CREATE TABLE "pool_usage_rollup" (
	"pool_id" uuid NOT NULL,
	"resolution" text NOT NULL,
	"bucket" timestamp with time zone NOT NULL,
	"held_tags" integer NOT NULL,
	"held_connections" integer NOT NULL,
	"alloc_tags" integer NOT NULL,
	"alloc_connections" integer NOT NULL,
	"used_tags" integer NOT NULL,
	"used_connections" integer NOT NULL,
	"pending_tags" integer NOT NULL,
	"pending_connections" integer NOT NULL,
	"limit_tags" integer NOT NULL,
	"limit_connections" integer NOT NULL,
	CONSTRAINT "pool_usage_rollup_pool_id_resolution_bucket_pk" PRIMARY KEY("pool_id","resolution","bucket")
);
--> statement-breakpoint
ALTER TABLE "gateway_usage_history" ADD CONSTRAINT "gateway_usage_history_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_usage_rollup" ADD CONSTRAINT "pool_usage_rollup_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "gateway_usage_history_at_idx" ON "gateway_usage_history" USING btree ("at");--> statement-breakpoint
CREATE INDEX "pool_usage_rollup_bucket_idx" ON "pool_usage_rollup" USING btree ("resolution","bucket");