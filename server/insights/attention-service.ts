import type { Db } from '../db/database.js';
import type { PoolService } from '../pools/pool-service.js';
import { attentionItems, type AttentionItem } from './attention-policy.js';
import { attentionStore } from './attention-store.js';

/** The attention list: pools as the pool service sees them, plus gateways over their allocation. */
export class AttentionService {
  constructor(
    private readonly db: Db,
    private readonly pools: PoolService,
    private readonly now: () => number = Date.now,
  ) {}

  async items(): Promise<AttentionItem[]> {
    const [list, over] = await Promise.all([this.pools.list(), attentionStore.overAllocated(this.db)]);
    return attentionItems(list, over, this.now());
  }
}
