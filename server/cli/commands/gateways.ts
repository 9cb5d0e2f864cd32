import { Option, type Command } from 'commander';
import fs from 'node:fs/promises';
import { bulkAllocationResult, gatewayPage, gatewayView, leaseGrant, type GatewayView } from '../../../shared/protocol/rest.js';
import { parseAllocationCsv } from '../allocation-csv.js';
import { readInput } from '../input.js';
import type { ContextOf } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { TRIAL_ALLOWANCE } from '../../../shared/protocol/limits.js';
import { date } from '../output/format.js';
import type { ApiClient } from '../http-client.js';
import { allocationSummary, gatewayDetail, gatewaysTable } from '../output/gateway-views.js';
import { intArg, listArg } from '../parse.js';
import { listPools, resolveGatewayId, resolveGatewayIds, resolvePoolId } from '../resolve.js';

const sortFields = { name: 'name', enrolled: 'enrolledAt', 'last-seen': 'lastSeenAt', usage: 'usageTags', allocation: 'allocTags' } as const;
type SortField = keyof typeof sortFields;

interface ListFlags {
  pool?: string;
  online?: boolean;
  offline?: boolean;
  search?: string;
  sort?: SortField;
  desc?: boolean;
  limit?: number;
  offset?: number;
}

async function poolNames(api: ApiClient): Promise<Map<string, string>> {
  return new Map((await listPools(api)).map((p) => [p.id, p.name]));
}

async function getGateway(api: ApiClient, ref: string): Promise<{ raw: unknown; data: GatewayView }> {
  return api.get(`/api/v1/gateways/${await resolveGatewayId(api, ref)}`, gatewayView);
}

/** `<name> <gateway>`: a change to one gateway that asks first (`--yes` skips the question). */
function addAskingGatewayCommand(
  parent: Command,
  ctxOf: ContextOf,
  name: string,
  description: string,
  act: (ctx: ReturnType<ContextOf>, api: ApiClient, g: GatewayView, yes: boolean | undefined) => Promise<void>,
): void {
  parent
    .command(name)
    .description(description)
    .argument('<gateway>', 'gateway id or name')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (ref: string, flags: { yes?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      await act(ctx, api, (await getGateway(api, ref)).data, flags.yes);
    });
}

export function registerGatewayCommands(program: Command, ctxOf: ContextOf): void {
  const gateways = program.command('gateways').description('enrolled gateways: presence, usage, allocation, lease');

  gateways
    .command('list')
    .description('list gateways (filter, search, sort, page)')
    .option('--pool <pool>', 'only this pool (id or name)')
    .addOption(new Option('--online', 'only gateways online now').conflicts('offline'))
    .addOption(new Option('--offline', 'only gateways offline now').conflicts('online'))
    .option('--search <text>', 'name, id or hardware id contains this')
    .addOption(new Option('--sort <field>', 'sort by').choices(Object.keys(sortFields)).default('name'))
    .option('--desc', 'descending order')
    .option('--limit <n>', 'at most this many (1-1000)', intArg(1, 1000), 100)
    .option('--offset <n>', 'skip this many first', intArg(0, 10_000_000))
    .action(async (flags: ListFlags, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const poolId = flags.pool === undefined ? undefined : await resolvePoolId(api, flags.pool);
      const [res, names] = await Promise.all([
        api.get('/api/v1/gateways', gatewayPage, {
          poolId,
          online: flags.online ? 'true' : flags.offline ? 'false' : undefined,
          q: flags.search,
          sort: sortFields[flags.sort ?? 'name'],
          order: flags.desc ? 'desc' : 'asc',
          limit: flags.limit,
          offset: flags.offset,
        }),
        ctx.json ? Promise.resolve(undefined) : poolNames(api),
      ]);
      const page = res.data;
      ctx.result(res.raw, () => (page.items.length ? gatewaysTable(page.items, names) : 'No gateways match.'));
      const shown = (flags.offset ?? 0) + page.items.length;
      if (!ctx.json && shown < page.total) ctx.note(`Showing ${page.items.length} of ${page.total}; next page: --offset ${shown}`);
    });

  gateways
    .command('show')
    .description('one gateway: presence, allocation, held points, usage, lease')
    .argument('<gateway>', 'gateway id or name')
    .action(async (ref: string, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const res = await getGateway(api, ref);
      const names = ctx.json ? undefined : await poolNames(api);
      ctx.result(res.raw, () => gatewayDetail(res.data, names?.get(res.data.poolId)));
    });

  addAskingGatewayCommand(
    gateways,
    ctxOf,
    'decommission',
    'decommission a gateway: its credential stops working and its seat is freed (asks first; --yes to skip)',
    async (ctx, api, g, yes) => {
      if (g.decommissionedAt) throw new CliError(EXIT.refused, `gateway ${g.name} (${g.id}) was already decommissioned at ${date(g.decommissionedAt)}`);
      await ctx.confirm(`Decommission gateway ${g.name} (${g.id})? Its credential stops working for good and its seat is freed`, yes);
      const res = await api.send('DELETE', `/api/v1/gateways/${g.id}`, gatewayView);
      ctx.result(res.raw, () => `Decommissioned gateway ${res.data.name} (${res.data.id}); its credential no longer works and its seat is free.`);
    },
  );

  gateways
    .command('offline-license')
    .description("issue an offline license file for a gateway's hardware (held in the pool until it expires); load it on the agent's license page")
    .argument('<gateway>', 'gateway id or name')
    .option('--ttl <seconds>', 'lifetime in seconds (default 1 day, at most 7 days, never past the pool license)', intArg(60, 7 * 86_400))
    .option('-o, --out <file>', 'write the license file here (default: print it)')
    .action(async (ref: string, flags: { ttl?: number; out?: string }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const id = await resolveGatewayId(api, ref);
      const res = await api.send('POST', `/api/v1/gateways/${id}/offline-license`, leaseGrant.extend({ license: leaseGrant.shape.lease }), flags.ttl !== undefined ? { ttlSeconds: flags.ttl } : {});
      if (flags.out) await fs.writeFile(flags.out, res.data.license + '\n', { mode: 0o600 });
      const until = new Date(res.data.expiresAt * 1000).toISOString();
      ctx.result(res.raw, () => (flags.out ? `Wrote the offline license for gateway ${ref} (seq ${res.data.seq}, valid until ${until}) to ${flags.out}.` : res.data.license));
    });

  gateways
    .command('rename')
    .description('rename a gateway')
    .argument('<gateway>', 'gateway id or name')
    .argument('<new-name>', 'the new name')
    .action(async (ref: string, name: string, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const id = await resolveGatewayId(api, ref);
      const res = await api.send('PATCH', `/api/v1/gateways/${id}`, gatewayView, { name });
      ctx.result(res.raw, () => `Renamed gateway ${ref} to ${res.data.name} (${res.data.id}).`);
    });

  program
    .command('allocate')
    .description("set a gateway's points (flags left out keep their current value), or many gateways' from a CSV file in one all-or-nothing request")
    .argument('[gateway]', 'gateway id or name (not with --from-csv)')
    .option('--tags <n>', 'data tag points', intArg(0, 10_000_000))
    .option('--connections <n>', 'connection points (south and north nodes)', intArg(0, 10_000_000))
    .option('--plugins <list>', "comma-separated plugins (a subset of the pool's); '' for none", listArg)
    .option('--force', 'lower below what the gateway uses now (its agent then applies its over-limit policy)')
    .option('--from-csv <file>', "a CSV file (or - for stdin): gateway,tags,connections,plugins with a header; empty cells keep the value; plugins separated by ';'")
    .option('--add', 'with --from-csv: add the figures to the current allocations instead of setting them')
    .action(async (ref: string | undefined, flags: { tags?: number; connections?: number; plugins?: string[]; force?: boolean; fromCsv?: string; add?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      if (flags.fromCsv !== undefined) {
        if (ref !== undefined || flags.tags !== undefined || flags.connections !== undefined || flags.plugins !== undefined) {
          throw usageError('--from-csv takes the gateways and figures from the file: give no gateway, --tags, --connections or --plugins');
        }
        const rows = parseAllocationCsv(await readInput(flags.fromCsv));
        const api = ctx.api();
        const ids = await resolveGatewayIds(api, rows.map((r) => r.gateway));
        const res = await api.send('POST', '/api/v1/gateways/allocations', bulkAllocationResult, {
          mode: flags.add ? 'add' : 'set',
          ...(flags.force ? { force: true } : {}),
          items: rows.map((r, n) => ({
            gatewayId: ids[n],
            ...(r.tags !== undefined ? { tags: r.tags } : {}),
            ...(r.connections !== undefined ? { connections: r.connections } : {}),
            ...(r.plugins ? { plugins: r.plugins } : {}),
          })),
        });
        return ctx.result(res.raw, () => `${flags.add ? 'Added to' : 'Set'} the allocations of ${res.data.changed} gateway(s) in one transaction.`);
      }
      if (ref === undefined) throw usageError('give a gateway, or --from-csv FILE');
      if (flags.tags === undefined && flags.connections === undefined && flags.plugins === undefined) {
        throw usageError('nothing to allocate: give --tags, --connections and/or --plugins');
      }
      const api = ctx.api();
      const id = await resolveGatewayId(api, ref);
      const current = flags.tags === undefined || flags.connections === undefined ? (await api.get(`/api/v1/gateways/${id}`, gatewayView)).data : undefined;
      const res = await api.send('PUT', `/api/v1/gateways/${id}/allocation`, gatewayView, {
        tags: flags.tags ?? current?.allocation.tags ?? 0,
        connections: flags.connections ?? current?.allocation.connections ?? 0,
        ...(flags.plugins ? { plugins: flags.plugins } : {}),
        ...(flags.force ? { force: true } : {}),
      });
      ctx.result(res.raw, () => allocationSummary(res.data));
    });

  addAskingGatewayCommand(
    program,
    ctxOf,
    'release',
    "take all of a gateway's points back (allocation 0); it drops to the trial allowance (asks first; --yes to skip)",
    async (ctx, api, g, yes) => {
      const uses = g.usage ? `it uses ${g.usage.tags} tags and ${g.usage.connections} connections` : 'its usage has not been reported';
      await ctx.confirm(
        `Release all points of ${g.name}? ${uses}; it drops to the trial allowance of ${TRIAL_ALLOWANCE.tags} tags and ${TRIAL_ALLOWANCE.connections} connections`,
        yes,
      );
      const res = await api.send('POST', `/api/v1/gateways/${g.id}/release`, gatewayView);
      ctx.result(res.raw, () => `Released gateway ${res.data.name}.\n${allocationSummary(res.data)}`);
    },
  );
}
