import { Readable } from 'node:stream';

/** The part of aedes' persistence that stores and finds retained messages. */
export interface RetainedPersistence {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): Readable;
  createRetainedStream(pattern: string): Readable;
}

export interface RetainedPacket {
  readonly topic: string;
  readonly payload: Buffer;
}

interface Node {
  readonly children: Map<string, Node>;
  packet: RetainedPacket | undefined;
}

const newNode = (): Node => ({ children: new Map(), packet: undefined });

/**
 * Retained messages in a topic trie. aedes' in-memory persistence tests every retained topic
 * against the filter on each SUBSCRIBE, which makes a connect storm of N agents (each with a
 * retained lease and presence) cost O(N²): 10,000 agents would spend minutes of CPU there.
 * With the trie an agent's exact lease topic is one lookup.
 */
export class RetainedIndex {
  private readonly root = newNode();

  store(packet: RetainedPacket): void {
    const levels = packet.topic.split('/');
    if (packet.payload.length === 0) return this.remove(levels);
    let node = this.root;
    for (const level of levels) {
      let next = node.children.get(level);
      if (!next) {
        next = newNode();
        node.children.set(level, next);
      }
      node = next;
    }
    node.packet = { ...packet };
  }

  /** Retained packets whose topic matches the MQTT filter (`+` one level, `#` the rest). */
  *match(filter: string): Generator<RetainedPacket> {
    yield* this.walk(this.root, filter.split('/'), 0);
  }

  private *walk(node: Node, f: readonly string[], i: number): Generator<RetainedPacket> {
    if (i === f.length) {
      if (node.packet) yield node.packet;
      return;
    }
    const level = f[i]!;
    if (level === '#') {
      yield* this.all(node);
      return;
    }
    if (level === '+') {
      for (const child of node.children.values()) yield* this.walk(child, f, i + 1);
      return;
    }
    const child = node.children.get(level);
    if (child) yield* this.walk(child, f, i + 1);
  }

  private *all(node: Node): Generator<RetainedPacket> {
    if (node.packet) yield node.packet;
    for (const child of node.children.values()) yield* this.all(child);
  }

  private remove(levels: readonly string[]): void {
    const path: Node[] = [this.root];
    for (const level of levels) {
      const next = path[path.length - 1]!.children.get(level);
      if (!next) return;
      path.push(next);
    }
    path[path.length - 1]!.packet = undefined;
    // Prune empty branches so topics that come and go do not leave nodes behind.
    for (let k = levels.length; k > 0; k--) {
      const node = path[k]!;
      if (node.packet || node.children.size) break;
      path[k - 1]!.children.delete(levels[k - 1]!);
    }
  }
}

/**
 * Keeps aedes' own store (it stays the source for everything else) and answers retained
 * lookups from a trie instead of a scan over every retained message.
 */
export function indexRetainedMessages(persistence: RetainedPersistence): RetainedIndex {
  const index = new RetainedIndex();
  const store = persistence.storeRetained.bind(persistence);
  persistence.storeRetained = async (packet) => {
    await store(packet);
    index.store(packet);
  };
  persistence.createRetainedStreamCombi = (patterns) => Readable.from(patterns.flatMap((p) => [...index.match(p)]));
  persistence.createRetainedStream = (pattern) => Readable.from([...index.match(pattern)]);
  return index;
}
