import type { Limits } from '../../shared/protocol/limits.js';

/** Everything the agent's local page, API and metrics show; produced by the agent runtime. */
export interface AgentView {
  readonly gatewayId: string | undefined;
  readonly licenseType: 'FLOATING' | 'TRIAL';
  readonly limits: Limits;
  /** Usage read from the gateway; undefined until the first reading. */
  readonly usage: { readonly tags: number; readonly connections: number } | undefined;
  /** The lease's own window (epoch seconds): renewed every few minutes. */
  readonly issuedAt: number | undefined;
  readonly expiresAt: number | undefined;
  /** The pool license behind the lease (epoch seconds, customer): what NeuronEX shows as its license. */
  readonly licenseIssuedAt?: number | undefined;
  readonly licenseExpiresAt?: number | undefined;
  readonly customer?: string | undefined;
  /** The lease shown is an offline license file (the borrowing class), not a renewing lease. */
  readonly offline?: boolean;
  /** While the valid lease is an offline borrow (issue 21): its end (epoch seconds). */
  readonly borrowedUntil?: number | undefined;
  readonly secondsLeft: number;
  readonly hardwareId: string;
  readonly controllerReachable: boolean;
  readonly transport: string | undefined;
  readonly seq: number | undefined;
}
