// The console shares the controller's REST and live-update types; only types, so no zod in the bundle.
export type {
  ActivationCodeView,
  AuditEventView,
  GatewayIdsPage,
  GatewayPage,
  GatewayView,
  PoolView,
  Role,
} from '../../../../../shared/protocol/rest.js';
export type { GatewayHistory, HistoryRange, PoolHistory } from '../../../../../shared/protocol/history.js';
export type { ConsoleChanges } from '../../../../../shared/protocol/console-events.js';
export type { PoolPolicyView } from '../../../../../shared/protocol/elastic.js';
export type { SimulateBody, SimulateView } from '../../../../../shared/protocol/simulate.js';

export interface Me {
  readonly name: string;
  readonly role: 'viewer' | 'operator' | 'admin';
  readonly via: string;
}

export interface AuditPage {
  readonly items: import('../../../../../shared/protocol/rest.js').AuditEventView[];
  readonly nextBefore: number | null;
}

export interface ActivationCodeCreated extends Readonly<import('../../../../../shared/protocol/rest.js').ActivationCodeView> {
  readonly code: string;
}
