/**
 * Called after a change commits that affects what a gateway's lease should say
 * (allocation, plugins, pool license, revocation). The lease service pushes a fresh lease.
 */
export interface ChangeNotifier {
  gatewayChanged(gatewayId: string): void;
  poolChanged(poolId: string): void;
  /** Points of the pool returned (release, expiry, reclaim, a smaller lease acknowledged): serve who waits. */
  pointsFreed(poolId: string): void;
}
