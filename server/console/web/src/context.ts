import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Api } from './api/client.js';
import type { Me } from './api/types.js';
import type { LiveUpdates } from './live.js';

export interface ConsoleContext {
  readonly api: Api;
  readonly live: LiveUpdates;
  readonly me: Me;
}

export const Ctx = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const c = useContext(Ctx);
  if (!c) throw new Error('useConsole outside the signed-in shell');
  return c;
}

const rank = { viewer: 0, operator: 1, admin: 2 } as const;

/** Hides controls the server would refuse anyway; the server stays the authority. */
export function useCan(role: 'operator' | 'admin'): boolean {
  return rank[useConsole().me.role] >= rank[role];
}
