import crypto from 'node:crypto';
import path from 'node:path';
import type { Command } from 'commander';
import { writeFileAtomic } from '../../../shared/fs/write-file-atomic.js';
import type { PoolLicenseClaims } from '../../signing/pool-license.js';
import type { Ed25519Key } from '../../signing/ed25519-key.js';
import type { ContextOf } from '../context.js';
import { CliError, EXIT, usageError } from '../errors.js';
import { date, list } from '../output/format.js';
import { dateArg, intArg, listArg } from '../parse.js';

interface IssueFlags {
  key: string;
  tags: number;
  connections: number;
  plugins?: string[];
  expires: string;
  notBefore?: string;
  customer: string;
  issuer: string;
  ref?: string;
  out?: string;
}

const fsCode = (err: unknown): string | undefined => (err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined);

// The signing modules (jose) load only for vendor commands, keeping the other commands quick to start.
const signing = () => Promise.all([import('../../signing/vendor-keys.js'), import('../../signing/pool-license.js')]);

async function loadKey(file: string): Promise<Ed25519Key> {
  const [{ loadVendorPrivateKey, VendorKeyError }] = await signing();
  try {
    return await loadVendorPrivateKey(file);
  } catch (err) {
    if (err instanceof VendorKeyError) throw new CliError(EXIT.usage, err.message);
    const code = fsCode(err);
    throw new CliError(EXIT.usage, `cannot read the issuer key ${file}: ${code === 'ENOENT' ? 'no such file' : (code ?? String(err))}`);
  }
}

/** Offline commands: an operator acting as their own license vendor (PRODUCT F1). */
export function registerVendorCommands(program: Command, ctxOf: ContextOf): void {
  const vendor = program.command('vendor').description('be your own license vendor: issuer keys and pool licenses (offline, no controller)');

  vendor
    .command('keygen')
    .description('create an issuer key pair (Ed25519) for signing pool licenses')
    .requiredOption('--out <dir>', 'folder for the key files (created if missing)')
    .option('--name <name>', 'file name stem: <name>.key.pem and <name>.pub.json', 'issuer')
    .option('--force', 'overwrite existing key files')
    .action(async (flags: { out: string; name: string; force?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      if (!/^[\w.-]+$/.test(flags.name)) throw usageError('--name may hold letters, digits, dot, dash and underscore only');
      const files = { privateKeyFile: path.resolve(flags.out, `${flags.name}.key.pem`), publicJwkFile: path.resolve(flags.out, `${flags.name}.pub.json`) };
      const [{ generateVendorKeys, VendorKeyError }] = await signing();
      const keys = await generateVendorKeys(files, { overwrite: flags.force === true }).catch((err: unknown) => {
        if (err instanceof VendorKeyError) throw new CliError(EXIT.refused, `${err.message} (use --force to replace it)`);
        throw new CliError(EXIT.usage, `cannot write to ${flags.out}: ${fsCode(err) ?? String(err)}`);
      });
      ctx.result({ kid: keys.kid, privateKeyFile: keys.privateKeyFile, publicJwkFile: keys.publicJwkFile, publicJwk: keys.publicJwk }, () =>
        [
          `Issuer key ${keys.kid} created.`,
          `  private key  ${keys.privateKeyFile}  (mode 0600: keep it offline, it mints pool licenses)`,
          `  public key   ${keys.publicJwkFile}`,
          'Make a controller trust it, either way:',
          `  - set TRUSTED_ISSUERS=${keys.publicJwkFile} (comma-separated list of files; read at start), or`,
          `  - copy ${path.basename(keys.publicJwkFile)} into <DATA_DIR>/trusted-issuers/ (read at each upload; no restart).`,
          `Then issue a license: floatlease vendor issue --key ${keys.privateKeyFile} --tags N --connections N --expires 1y --customer NAME`,
        ].join('\n'),
      );
    });

  vendor
    .command('issue')
    .description('sign a pool license (JWS) with an issuer key; prints it, or writes it with --out')
    .requiredOption('--key <file>', 'issuer private key (PKCS#8 PEM from vendor keygen, mode 0600)')
    .requiredOption('--tags <n>', 'data tag points', intArg(0, 10_000_000))
    .requiredOption('--connections <n>', 'connection points', intArg(0, 10_000_000))
    .option('--plugins <list>', 'comma-separated commercial plugins it enables', listArg)
    .requiredOption('--expires <date>', 'expiry (2027-01-31, ISO date-time, or a span such as 1y)', dateArg)
    .option('--not-before <date>', 'not valid before (default: now)', dateArg)
    .requiredOption('--customer <name>', 'who the license is for')
    .option('--issuer <name>', 'issuer name recorded in the license', 'floatlease-vendor')
    .option('--ref <id>', 'license reference (default: a new UUID)')
    .option('--out <file>', 'write the license to this file instead of standard output')
    .action(async (flags: IssueFlags, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const now = Math.floor(Date.now() / 1000);
      const exp = Math.floor(Date.parse(flags.expires) / 1000);
      const nbf = flags.notBefore === undefined ? undefined : Math.floor(Date.parse(flags.notBefore) / 1000);
      if (exp <= now) throw usageError(`--expires ${flags.expires} is in the past`);
      if (nbf !== undefined && nbf >= exp) throw usageError('--not-before must be before --expires');
      if (!flags.customer.trim()) throw usageError('--customer must not be empty');
      const key = await loadKey(flags.key);
      const claims: PoolLicenseClaims = {
        iss: flags.issuer,
        sub: flags.ref ?? crypto.randomUUID(),
        customer: flags.customer.trim(),
        iat: now,
        ...(nbf === undefined ? {} : { nbf }),
        exp,
        points: { tags: flags.tags, connections: flags.connections },
        plugins: flags.plugins ?? [],
      };
      const [, { issuePoolLicense }] = await signing();
      const license = await issuePoolLicense(key.privateKey, key.kid, claims);
      const summary =
        `Pool license ${claims.sub} for ${claims.customer}: tags ${claims.points.tags}, connections ${claims.points.connections}, ` +
        `plugins ${list(claims.plugins)}, valid until ${date(flags.expires)} (issuer key ${key.kid}).`;
      if (flags.out) {
        try {
          await writeFileAtomic(path.resolve(flags.out), `${license}\n`, 0o644);
        } catch (err) {
          throw new CliError(EXIT.usage, `cannot write ${flags.out}: ${fsCode(err) ?? String(err)}`);
        }
      }
      if (ctx.json) return ctx.print(JSON.stringify({ license, kid: key.kid, claims, ...(flags.out ? { file: path.resolve(flags.out) } : {}) }, null, 2));
      if (flags.out) ctx.print(`${summary}\nWritten to ${flags.out}; upload it with: floatlease pools license POOL ${flags.out}`);
      else {
        ctx.print(license);
        ctx.note(summary);
      }
    });
}
