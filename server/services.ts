import path from 'node:path';
import { LEASE_AUDIENCE } from '../shared/protocol/lease-claims.js';
import { GatewayAuthenticator } from './auth/gateway-authenticator.js';
import { TokenService } from './auth/token-service.js';
import type { Config } from './config.js';
import type { Db } from './db/database.js';
import { EnrollmentService } from './enrollment/enrollment-service.js';
import { EventBus, notifierWithEvents } from './events/event-bus.js';
import { GatewayService } from './gateways/gateway-service.js';
import { LeasePusher } from './leases/lease-pusher.js';
import { LeaseService, type LeaseObserver } from './leases/lease-service.js';
import { PublishedKeys } from './leases/published-keys.js';
import type { Logger } from './logger.js';
import { noCredentialSink, type CredentialSink } from './mqtt/dynsec-provisioner.js';
import { PoolService } from './pools/pool-service.js';
import { trustedIssuerVerifier } from './pools/trusted-issuers.js';
import { LeaseSigner } from './signing/lease-signer.js';
import { SigningKeyStore } from './signing/signing-key-store.js';

export interface Services {
  readonly tokens: TokenService;
  readonly gatewayAuth: GatewayAuthenticator;
  readonly pools: PoolService;
  readonly gateways: GatewayService;
  readonly enrollment: EnrollmentService;
  readonly leases: LeaseService;
  readonly pusher: LeasePusher;
  readonly keys: SigningKeyStore;
  readonly publishedKeys: PublishedKeys;
  readonly events: EventBus;
}

/** Stores are stateless modules over the db; services get only what they use. */
export async function createServices(
  config: Pick<Config, 'dataDir' | 'signingKeyDir' | 'trustedIssuerFiles' | 'leaseIssuer'>,
  db: Db,
  logger: Logger,
  observer?: LeaseObserver,
  credentials: CredentialSink = noCredentialSink,
): Promise<Services> {
  const keys = await SigningKeyStore.open({ dir: config.signingKeyDir, clock: { now: Date.now }, logger: logger.child({ component: 'signing-keys' }) });
  const publishedKeys = new PublishedKeys(db);
  await publishedKeys.record(keys.keys());
  const events = new EventBus();
  const leases = new LeaseService(db, new LeaseSigner(keys), {
    issuer: config.leaseIssuer,
    audience: LEASE_AUDIENCE,
    events,
    ...(observer ? { observer } : {}),
  });
  const pusher = new LeasePusher(db, leases, logger.child({ component: 'lease-pusher' }), observer);
  const notifier = notifierWithEvents(pusher, events);
  leases.onPointsFreed((poolId) => notifier.pointsFreed(poolId));
  const identity = { issuer: config.leaseIssuer, audience: LEASE_AUDIENCE, jwks: () => publishedKeys.jwks() };
  return {
    tokens: new TokenService(db),
    gatewayAuth: new GatewayAuthenticator(db),
    pools: new PoolService(db, trustedIssuerVerifier(config.trustedIssuerFiles, path.join(config.dataDir, 'trusted-issuers')), notifier),
    gateways: new GatewayService(db, notifier, credentials),
    enrollment: new EnrollmentService(db, identity, notifier, credentials),
    leases,
    pusher,
    keys,
    publishedKeys,
    events,
  };
}
