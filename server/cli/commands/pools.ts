import { Option, type Command } from 'commander';
import { z } from 'zod';
import { poolLicenseView, poolView, reclaimModes, type PoolSettings } from '../../../shared/protocol/rest.js';
import type { ContextOf } from '../context.js';
import { addListCommand } from '../list-command.js';
import { usageError } from '../errors.js';
import { readInput } from '../input.js';
import { licenseSummary, licensesTable, poolDetail, poolsTable } from '../output/pool-views.js';
import { intArg, numberArg, ratioArg } from '../parse.js';
import { resolvePoolId } from '../resolve.js';

interface SettingsFlags {
  name?: string;
  description?: string;
  ttl?: number;
  reclaim?: (typeof reclaimModes)[number];
  disconnectGrace?: number;
  overdraft?: number;
  alarmRaise?: number;
  alarmClear?: number;
}

function settingsOptions(cmd: Command, nameRequired: boolean): Command {
  const name = nameRequired ? cmd.requiredOption('--name <name>', 'pool name (unique)') : cmd.option('--name <name>', 'new pool name');
  return name
    .option('--description <text>', 'free text')
    .option('--ttl <seconds>', 'lease lifetime in seconds (15-86400; default 300)', intArg(15, 86_400))
    .addOption(new Option('--reclaim <mode>', 'when an offline gateway’s points return (default on-expiry)').choices(reclaimModes))
    .option('--disconnect-grace <seconds>', 'reclaim on-disconnect: seconds after the controller lost an agent that its points return (5-86400; default 60)', intArg(5, 86_400))
    .option('--overdraft <factor>', 'overdraft factor, 1 (none, default) to 2', numberArg(1, 2))
    .option('--alarm-raise <ratio>', 'utilization that raises the alarm, e.g. 80% or 0.8', ratioArg)
    .option('--alarm-clear <ratio>', 'utilization that clears it again, e.g. 75%', ratioArg);
}

function settingsBody(f: SettingsFlags): PoolSettings {
  const body: PoolSettings = {};
  if (f.name !== undefined) body.name = f.name;
  if (f.description !== undefined) body.description = f.description;
  if (f.ttl !== undefined) body.leaseTtlSeconds = f.ttl;
  if (f.reclaim !== undefined) body.reclaim = f.reclaim;
  if (f.disconnectGrace !== undefined) body.disconnectGraceSeconds = f.disconnectGrace;
  if (f.overdraft !== undefined) body.overdraftFactor = f.overdraft;
  if (f.alarmRaise !== undefined) body.alarmRaiseRatio = f.alarmRaise;
  if (f.alarmClear !== undefined) body.alarmClearRatio = f.alarmClear;
  return body;
}

export function registerPoolCommands(program: Command, ctxOf: ContextOf): void {
  const pools = program.command('pools').description('point pools: capacity, utilization, settings and licenses');

  addListCommand(pools, ctxOf, { description: 'list pools with held points and utilization', path: '/api/v1/pools', item: poolView, table: poolsTable });

  pools
    .command('show')
    .description('one pool: settings, license, and points per kind')
    .argument('<pool>', 'pool id or name')
    .action(async (ref: string, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const res = await api.get(`/api/v1/pools/${await resolvePoolId(api, ref)}`, poolView);
      ctx.result(res.raw, () => poolDetail(res.data));
    });

  settingsOptions(pools.command('create').description('create a pool (its capacity comes from the license you upload next)'), true).action(
    async (flags: SettingsFlags, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const res = await ctx.api().send('POST', '/api/v1/pools', poolView, settingsBody(flags));
      ctx.result(res.raw, () => poolDetail(res.data));
      if (!ctx.json) ctx.note(`Next: floatlease pools license ${res.data.name} LICENSE-FILE`);
    },
  );

  settingsOptions(pools.command('update').description('change pool settings (flags left out stay as they are)').argument('<pool>', 'pool id or name'), false).action(
    async (ref: string, flags: SettingsFlags, cmd: Command) => {
      const body = settingsBody(flags);
      if (Object.keys(body).length === 0) throw usageError('nothing to change: give at least one of --name, --description, --ttl, --reclaim, --disconnect-grace, --overdraft, --alarm-raise, --alarm-clear');
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const res = await api.send('PATCH', `/api/v1/pools/${await resolvePoolId(api, ref)}`, poolView, body);
      ctx.result(res.raw, () => poolDetail(res.data));
    },
  );

  pools
    .command('license')
    .description("upload a pool license (replaces the current one; refused below what the pool holds unless --force)")
    .argument('<pool>', 'pool id or name')
    .argument('<file>', 'the license document (JWS), or - for standard input')
    .option('--force', 'accept a license smaller than what the pool holds; the pool is then over-committed')
    .action(async (ref: string, file: string, flags: { force?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const license = (await readInput(file)).trim();
      if (!license) throw usageError(`${file === '-' ? 'standard input' : file} is empty; expected a pool license document`);
      const api = ctx.api();
      const res = await api.send('PUT', `/api/v1/pools/${await resolvePoolId(api, ref)}/license`, poolView, {
        license,
        ...(flags.force ? { force: true } : {}),
      });
      ctx.result(res.raw, () => licenseSummary(res.data));
    });

  pools
    .command('licenses')
    .description("a pool's license history, newest first")
    .argument('<pool>', 'pool id or name')
    .action(async (ref: string, _o: object, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const api = ctx.api();
      const res = await api.get(`/api/v1/pools/${await resolvePoolId(api, ref)}/licenses`, z.array(poolLicenseView));
      ctx.result(res.raw, () => licensesTable(res.data));
    });
}
