import path from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Seconds each slow file took in two fresh-clone CI runs on the two-core machine (2026-12-02, the
 * default reporter's per-file figure, hooks included), rounded; files under 3 s are left out but
 * for the few at the end. Refresh from the `✓ test/… (N tests) Xms` lines when a file's duration
 * moves a lot or a new slow file lands.
 */
const EXPECTED_SECONDS: ReadonlyMap<string, number> = new Map([
  // Estimates until the next CI log (loaded runs of 2026-12-02 scaled down): the issue 21 op mix
  // lengthened floating.test.ts; the borrow and elastic e2e files are new.
  ['integration/invariant/floating.test.ts', 200],
  ['e2e/agent-borrow.test.ts', 150],
  ['e2e/elastic-preemption.test.ts', 100],
  ['e2e/lease-tamper.test.ts', 148],
  ['deploy/container-image.test.ts', 83],
  ['e2e/partition-presence.test.ts', 67],
  ['e2e/console/console-a11y.test.ts', 63],
  ['integration/invariant/property.test.ts', 61],
  ['e2e/floating-points.test.ts', 51],
  ['deploy/dist-build.test.ts', 48],
  ['e2e/agent-resilience.test.ts', 48],
  ['e2e/cli/cli-fleet.test.ts', 38],
  ['e2e/cli/pools-codes-tokens.test.ts', 37],
  ['integration/invariant/replicas.test.ts', 36],
  ['e2e/replicas/two-replicas.test.ts', 34],
  ['e2e/cli/gateways-audit.test.ts', 34],
  ['e2e/fleet-smoke.test.ts', 32],
  ['e2e/key-rotation-connected-fleet.test.ts', 29],
  ['e2e/enforcement/offline-license-load.test.ts', 29],
  ['e2e/controller-lifecycle.test.ts', 29],
  ['e2e/enforcement/gateway-enforcement.test.ts', 28],
  ['e2e/cli/vendor.test.ts', 26],
  ['integration/invariant/allocation-race.test.ts', 22],
  ['e2e/demo.test.ts', 22],
  ['e2e/console/console-simulate.test.ts', 20],
  ['e2e/agent-lifecycle.test.ts', 20],
  ['integration/hardening/rest-fuzz.test.ts', 20],
  ['e2e/console/console-admin.test.ts', 19],
  ['e2e/agent-failover.test.ts', 18],
  ['e2e/hardening/embedded-postgres-supervision.test.ts', 18],
  ['e2e/transports.test.ts', 16],
  ['e2e/console/console-attention.test.ts', 15],
  ['e2e/console/console-bulk.test.ts', 14],
  ['e2e/enforcement/device-activation.test.ts', 14],
  ['e2e/console/console-history.test.ts', 14],
  ['e2e/agent-mosquitto.test.ts', 14],
  ['e2e/agent-tls-ca.test.ts', 14],
  ['e2e/console/console-dialogs.test.ts', 13],
  ['integration/invariant/crash.test.ts', 12],
  ['e2e/console/console.test.ts', 12],
  ['e2e/cli/elastic-simulate.test.ts', 12],
  ['e2e/console/console-real-agent.test.ts', 11],
  ['e2e/hardening/decommission.test.ts', 11],
  ['e2e/hardening/mqtt-client-id.test.ts', 10],
  ['integration/admin-burst-lanes.test.ts', 10],
  ['unit/agent-runtime/disconnect-grace.test.ts', 9],
  ['integration/lease-engine.test.ts', 9],
  ['e2e/readiness-broker.test.ts', 9],
  ['e2e/hardening/agent-fuzz.test.ts', 7],
  ['e2e/enforcement/neuronex-mode-agent.test.ts', 7],
  ['integration/elastic-preemption.test.ts', 6],
  ['integration/floating-points.test.ts', 6],
  ['e2e/controller-metrics.test.ts', 6],
  ['integration/api/auth-matrix.test.ts', 6],
  ['integration/hello-round.test.ts', 6],
  ['e2e/hardening/malformed-agent-input.test.ts', 6],
  ['integration/lease-batches.test.ts', 5],
  ['integration/api/validation-matrix.test.ts', 5],
  ['integration/api/bulk-allocation.test.ts', 5],
  ['unit/agent-runtime/agent.test.ts', 4],
  ['unit/agent-runtime/mqtt-transport.test.ts', 4],
  ['integration/api/pool-licenses.test.ts', 4],
  ['integration/embedded-postgres-hooks.test.ts', 4],
  ['integration/api/allocations.test.ts', 3],
  ['integration/api/offline-license.test.ts', 3],
  ['integration/api/enrollment.test.ts', 3],
  ['integration/enforcement/gatekeeper-proxy.test.ts', 3],
  ['integration/hardening/rate-limits.test.ts', 3],
  ['integration/enforcement/neuronex-mode.test.ts', 3],
  ['integration/gateway-authenticator.test.ts', 3],
  // Short files where unlisted ones are assumed long (see unlistedSeconds).
  ['deploy/helm-chart.test.ts', 2],
  ['integration/invariant/lock-order.test.ts', 2],
  ['integration/invariant/run-checkers.test.ts', 1],
]);

/**
 * A file not listed yet: end-to-end and invariant files are rarely short (their median above is
 * about 15 s), so a new one starts mid-run rather than last; the rest are unit-fast.
 */
const unlistedSeconds = (file: string) => (/^(e2e|deploy|integration\/invariant)\//.test(file) ? 15 : 0);

/**
 * Starts the longest files first (longest-processing-time scheduling), so no worker begins a
 * two-minute file while the other has only short ones left. Vitest orders by its results cache,
 * which a fresh clone (CI) does not have; it then falls back to file size, which says little about
 * a file that waits on lease expiries or builds an image. Ties keep vitest's order.
 */
export class SlowFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    const testDir = path.join(this.ctx.config.root, 'test');
    const expected = (f: TestSpecification) => {
      const file = path.relative(testDir, f.moduleId).split(path.sep).join('/');
      return EXPECTED_SECONDS.get(file) ?? unlistedSeconds(file);
    };
    return base
      .map((spec, index) => ({ spec, index, seconds: expected(spec) }))
      .sort((a, b) => b.seconds - a.seconds || a.index - b.index)
      .map(({ spec }) => spec);
  }
}
