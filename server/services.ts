import path from 'node:path';
import { LEASE_AUDIENCE } from '../shared/protocol/lease-claims.js';
import { GatewayAuthenticator } from './auth/gateway-authenticator.js';
import { TokenService } from './auth/token-service.js';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { EnrollmentService } from './enrollment/enrollment-service.js';
import { EventBus, notifierWithEvents } from './events/event-bus.js';
import { BulkAllocationService } from './gateways/bulk-allocation-service.js';
import { ElasticService } from './elastic/elastic-service.js';
import { SimulateService } from './simulate/simulate-service.js';
import { GatewayService } from './gateways/gateway-service.js';
import { HistoryService } from './history/history-service.js';
import { LeasePusher } from './leases/lease-pusher.js';
import { LeaseEndings } from './leases/lease-endings.js';
import { LeaseService, type LeaseObserver } from './leases/lease-service.js';
import { LicenseFileService } from './leases/license-file-service.js';
import { PresenceService } from './leases/presence-service.js';
import { PublishedKeys } from './leases/published-keys.js';
import { SigningKeyService } from './leases/signing-key-service.js';
import { AuditService } from './audit/audit-service.js';
import { AttentionService } from './insights/attention-service.js';
import type { Logger } from './logger.js';
import { noCredentialSink, type CredentialSink } from './mqtt/dynsec-provisioner.js';
import { PoolService } from './pools/pool-service.js';
import { trustedIssuerVerifier } from './pools/trusted-issuers.js';
import { FreshKeyAnnouncer } from './signing/fresh-key-announcer.js';
import { KeySetVoucher } from './signing/key-set-voucher.js';
import { LeaseSigner } from './signing/lease-signer.js';
import { DbKeyVault } from './signing/db-key-vault.js';
import { PublishedSigningKey } from './signing/published-signing-key.js';
import { SigningKeyStore } from './signing/signing-key-store.js';
import { LANES, type ConnectionBudget } from './db/connection-budget.js';

export interface Services {
  readonly tokens: TokenService;
  readonly gatewayAuth: GatewayAuthenticator;
  readonly pools: PoolService;
  readonly gateways: GatewayService;
  readonly bulkAllocations: BulkAllocationService;
  readonly enrollment: EnrollmentService;
  /** Grants, renewals, acknowledgements, offline license files and borrows. */
  readonly leases: LeaseService;
  /** Release, expiry, reclaim on disconnect, pruning of ended leases. */
  readonly leaseEndings: LeaseEndings;
  /** Online or offline, and over which transport. */
  readonly presence: PresenceService;
  /** Offline license files loaded at devices, as the agents report them. */
  readonly licenseFiles: LicenseFileService;
  readonly pusher: LeasePusher;
  readonly keys: SigningKeyStore;
  readonly publishedKeys: PublishedKeys;
  readonly signingKeys: SigningKeyService;
  readonly audit: AuditService;
  readonly attention: AttentionService;
  readonly keySet: KeySetVoucher;
  readonly events: EventBus;
  readonly history: HistoryService;
  readonly elastic: ElasticService;
  readonly simulate: SimulateService;
}

/** Stores are stateless modules over the db; services get only what they use. */
export async function createServices(
  config: Pick<Config, 'dataDir' | 'signingKeyDir' | 'trustedIssuerFiles' | 'leaseIssuer'> & Partial<Pick<Config, 'signingKeyKek' | 'signingKeyRefreshMs'>> & {
    /** Each lane's share of the database pool; the default lanes otherwise. */
    readonly budget?: ConnectionBudget;
  },
  db: Db,
  logger: Logger,
  observer?: LeaseObserver,
  credentials: CredentialSink = noCredentialSink,
): Promise<Services> {
  const keys = await SigningKeyStore.open({
    dir: config.signingKeyDir,
    clock: { now: Date.now },
    logger: logger.child({ component: 'signing-keys' }),
    ...(config.signingKeyKek ? { vault: { store: new DbKeyVault(db, config.signingKeyKek), refreshMs: config.signingKeyRefreshMs ?? 2_000 } } : {}),
  });
  const publishedKeys = new PublishedKeys(db);
  await publishedKeys.record(keys.keys());
  const events = new EventBus();
  const keySet = new KeySetVoucher(keys, () => publishedKeys.jwks());
  const announcer = new FreshKeyAnnouncer(keys, () => keySet.document(), logger.child({ component: 'signing-keys' }));
  const leases = new LeaseService(db, new LeaseSigner(
      // A shared vault keeps its keys in signing_keys, the table the JWKS and the vouched key set are
      // read from: a key another replica rotated in is published by the time this one loads it.
      new PublishedSigningKey(keys, (kid) => config.signingKeyKek !== undefined || publishedKeys.isRecorded(kid)),
    ), {
    issuer: config.leaseIssuer,
    audience: LEASE_AUDIENCE,
    keySetFor: (kid) => announcer.forKid(kid),
    ...(observer ? { observer } : {}),
    ...(config.budget ? { lanes: config.budget.lanes } : {}),
  });
  const pusher = new LeasePusher(db, leases, logger.child({ component: 'lease-pusher' }), observer);
  const notifier = notifierWithEvents(pusher, events);
  leases.onPointsFreed((poolId) => notifier.pointsFreed(poolId));
  const leaseEndings = new LeaseEndings(db, { observer, pointsFreed: (poolId) => notifier.pointsFreed(poolId) });
  const presence = new PresenceService(db, { events, observer, lanes: config.budget?.lanes });
  const identity = { issuer: config.leaseIssuer, audience: LEASE_AUDIENCE, jwks: () => publishedKeys.jwks() };
  const pools = new PoolService(db, trustedIssuerVerifier(config.trustedIssuerFiles, path.join(config.dataDir, 'trusted-issuers')), notifier);
  return {
    tokens: new TokenService(db, logger.child({ component: 'tokens' })),
    gatewayAuth: new GatewayAuthenticator(db, { lanes: (config.budget?.lanes ?? LANES).gatewayAuth }),
    pools,
    gateways: new GatewayService(db, notifier, credentials, events, logger.child({ component: 'gateways' })),
    bulkAllocations: new BulkAllocationService(db, notifier),
    enrollment: new EnrollmentService(db, identity, notifier, credentials),
    leases,
    leaseEndings,
    presence,
    licenseFiles: new LicenseFileService(db),
    pusher,
    keys,
    publishedKeys,
    signingKeys: new SigningKeyService(db, keys, publishedKeys),
    audit: new AuditService(db),
    attention: new AttentionService(db, pools),
    keySet,
    events,
    history: new HistoryService(db),
    elastic: new ElasticService(db, notifier),
    simulate: new SimulateService(db),
  };
}
