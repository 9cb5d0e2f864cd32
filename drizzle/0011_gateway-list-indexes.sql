CREATE INDEX "gateways_name_idx" ON "gateways" USING btree ("name","id");--> statement-breakpoint
-- The gateway search (name or hardware id contains, any case) through a trigram index: at 10,000
-- gateways a search is index probes instead of a scan with two ILIKEs a row, for its page and its
-- count. pg_trgm ships with PostgreSQL's contrib and is trusted (a database owner may create it);
-- where it cannot be created the search still works, by scanning, so the migration goes on.
DO $$
BEGIN
  CREATE EXTENSION IF NOT EXISTS pg_trgm;
  CREATE INDEX IF NOT EXISTS "gateways_search_trgm_idx" ON "gateways" USING gin ("name" gin_trgm_ops, "hardware_id" gin_trgm_ops);
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE 'gateway search without a trigram index (pg_trgm: %)', SQLERRM;
END
$$;
