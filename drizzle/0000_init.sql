CREATE TABLE "activation_codes" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pool_id" uuid NOT NULL,
	"code_hash" text NOT NULL,
	"code_prefix" text NOT NULL,
	"label" text DEFAULT '' NOT NULL,
	"seats" integer NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "activation_codes_code_hash_unique" UNIQUE("code_hash")
);
--> statement-breakpoint
CREATE TABLE "api_tokens" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"token_hash" text NOT NULL,
	"token_prefix" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	CONSTRAINT "api_tokens_token_hash_unique" UNIQUE("token_hash")
);
--> statement-breakpoint
CREATE TABLE "audit_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	"actor" text NOT NULL,
	"action" text NOT NULL,
	"pool_id" uuid,
	"gateway_id" uuid,
	"subject" text DEFAULT '' NOT NULL,
	"before" jsonb,
	"after" jsonb
);
--> statement-breakpoint
CREATE TABLE "gateways" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pool_id" uuid NOT NULL,
	"activation_code_id" uuid,
	"name" text NOT NULL,
	"hardware_id" text NOT NULL,
	"credential_hash" text NOT NULL,
	"credential_issued_at" timestamp with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"alloc_tags" integer DEFAULT 0 NOT NULL,
	"alloc_connections" integer DEFAULT 0 NOT NULL,
	"alloc_plugins" text[] DEFAULT '{}'::text[] NOT NULL,
	"alloc_updated_at" timestamp with time zone,
	"lease_seq" bigint DEFAULT 0 NOT NULL,
	"online" boolean DEFAULT false NOT NULL,
	"transport" text,
	"presence_changed_at" timestamp with time zone,
	"last_seen_at" timestamp with time zone,
	"usage_tags" integer,
	"usage_connections" integer,
	"usage_reported_at" timestamp with time zone,
	"agent_version" text,
	"revoked_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "leases" (
	"id" uuid PRIMARY KEY NOT NULL,
	"gateway_id" uuid NOT NULL,
	"pool_id" uuid NOT NULL,
	"seq" bigint NOT NULL,
	"kid" text NOT NULL,
	"tags" integer NOT NULL,
	"connections" integer NOT NULL,
	"plugins" text[] NOT NULL,
	"issued_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"state" text DEFAULT 'issued' NOT NULL,
	"acknowledged_at" timestamp with time zone,
	"ended_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "pool_licenses" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"pool_id" uuid NOT NULL,
	"license_ref" text NOT NULL,
	"issuer" text NOT NULL,
	"kid" text NOT NULL,
	"customer" text NOT NULL,
	"issued_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"tags" integer NOT NULL,
	"connections" integer NOT NULL,
	"plugins" text[] NOT NULL,
	"document" text NOT NULL,
	"forced" boolean DEFAULT false NOT NULL,
	"uploaded_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"replaced_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "pools" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"lease_ttl_seconds" integer DEFAULT 300 NOT NULL,
	"reclaim" text DEFAULT 'on-expiry' NOT NULL,
	"overdraft_factor" real DEFAULT 1 NOT NULL,
	"alarm_raise_ratio" real DEFAULT 0.8 NOT NULL,
	"alarm_clear_ratio" real DEFAULT 0.75 NOT NULL,
	"capacity_tags" integer DEFAULT 0 NOT NULL,
	"capacity_connections" integer DEFAULT 0 NOT NULL,
	"plugins" text[] DEFAULT '{}'::text[] NOT NULL,
	"license_id" uuid,
	"license_expires_at" timestamp with time zone,
	"over_committed" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "pools_name_unique" UNIQUE("name")
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "activation_codes" ADD CONSTRAINT "activation_codes_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "gateways" ADD CONSTRAINT "gateways_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "gateways" ADD CONSTRAINT "gateways_activation_code_id_activation_codes_id_fk" FOREIGN KEY ("activation_code_id") REFERENCES "public"."activation_codes"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leases" ADD CONSTRAINT "leases_gateway_id_gateways_id_fk" FOREIGN KEY ("gateway_id") REFERENCES "public"."gateways"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "leases" ADD CONSTRAINT "leases_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "pool_licenses" ADD CONSTRAINT "pool_licenses_pool_id_pools_id_fk" FOREIGN KEY ("pool_id") REFERENCES "public"."pools"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "activation_codes_pool_idx" ON "activation_codes" USING btree ("pool_id");--> statement-breakpoint
CREATE INDEX "audit_at_idx" ON "audit_events" USING btree ("at");--> statement-breakpoint
CREATE INDEX "audit_gateway_idx" ON "audit_events" USING btree ("gateway_id","at");--> statement-breakpoint
CREATE INDEX "audit_pool_idx" ON "audit_events" USING btree ("pool_id","at");--> statement-breakpoint
CREATE INDEX "audit_action_idx" ON "audit_events" USING btree ("action","at");--> statement-breakpoint
CREATE UNIQUE INDEX "gateways_code_hardware_uq" ON "gateways" USING btree ("activation_code_id","hardware_id");--> statement-breakpoint
CREATE INDEX "gateways_pool_idx" ON "gateways" USING btree ("pool_id");--> statement-breakpoint
CREATE UNIQUE INDEX "leases_gateway_seq_uq" ON "leases" USING btree ("gateway_id","seq");--> statement-breakpoint
CREATE INDEX "leases_live_idx" ON "leases" USING btree ("state","expires_at");--> statement-breakpoint
CREATE INDEX "leases_pool_idx" ON "leases" USING btree ("pool_id","state");--> statement-breakpoint
CREATE INDEX "pool_licenses_pool_idx" ON "pool_licenses" USING btree ("pool_id","created_at");