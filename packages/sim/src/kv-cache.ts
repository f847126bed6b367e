import { hash } from 'node:crypto';

/**
 * Chained block hashes of a token sequence, one per *full* block: block i's hash covers its tokens and block i−1's
 * hash, so equal hashes mean equal prefixes (the scheme vLLM's prefix cache and KV-aware routers use).
 */
export function blockHashes(tokens: readonly number[], blockSize: number, from = 0, parent = ''): string[] {
  const out: string[] = [];
  let prev = parent;
  const buf = new Int32Array(blockSize);
  for (let start = from * blockSize; start + blockSize <= tokens.length; start += blockSize) {
    for (let i = 0; i < blockSize; i++) buf[i] = tokens[start + i]!;
    prev = hash('sha1', Buffer.concat([Buffer.from(prev), Buffer.from(buf.buffer)]), 'base64');
    out.push(prev);
  }
  return out;
}

interface Block {
  id: number;
  refs: number;
  /** Content hash once the block is full and registered; cached blocks survive release until evicted. */
  hash: string | undefined;
}

/**
 * Fixed pool of KV blocks with an optional prefix cache: released full blocks keep their hash and stay reusable until
 * an allocation evicts them, least recently released first.
 */
export class KvBlockPool {
  readonly totalBlocks: number;
  readonly blockSize: number;
  readonly prefixCaching: boolean;
  private readonly blocks: Block[];
  /** Free blocks without content: reused first. */
  private readonly freeEmpty: number[] = [];
  /** Free blocks still holding cached content, least recently released first (the eviction order). */
  private readonly freeCached = new Map<number, Block>();
  private readonly byHash = new Map<string, Block>();
  private used = 0;

  constructor(totalBlocks: number, blockSize: number, prefixCaching: boolean) {
    this.totalBlocks = totalBlocks;
    this.blockSize = blockSize;
    this.prefixCaching = prefixCaching;
    this.blocks = [];
    for (let i = 0; i < totalBlocks; i++) this.blocks.push({ id: i, refs: 0, hash: undefined });
    for (let i = totalBlocks - 1; i >= 0; i--) this.freeEmpty.push(i);
  }

  /** Blocks held by running sequences. */
  get usedBlocks(): number {
    return this.used;
  }
  get freeBlocks(): number {
    return this.totalBlocks - this.used;
  }
  /** Fraction of blocks in use (vllm:kv_cache_usage_perc). */
  get usage(): number {
    return this.totalBlocks === 0 ? 0 : this.used / this.totalBlocks;
  }

  /** How many leading hashes are cached here (no side effects; routers score workers with it). */
  matchPrefix(hashes: readonly string[]): number {
    if (!this.prefixCaching) return 0;
    let n = 0;
    while (n < hashes.length && this.byHash.has(hashes[n]!)) n++;
    return n;
  }

  /** Takes references on the first `n` cached blocks of `hashes` (call after matchPrefix). */
  acquireCached(hashes: readonly string[], n: number): number[] {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.byHash.get(hashes[i]!)!;
      if (b.refs === 0) {
        this.freeCached.delete(b.id);
        this.used++;
      }
      b.refs++;
      ids.push(b.id);
    }
    return ids;
  }

  /** Allocates `n` fresh blocks, evicting the least recently released cached ones; undefined if too few are free. */
  allocate(n: number): number[] | undefined {
    if (n > this.freeEmpty.length + this.freeCached.size) return undefined;
    const ids: number[] = [];
    while (ids.length < n && this.freeEmpty.length > 0) ids.push(this.freeEmpty.pop()!);
    if (ids.length < n) {
      for (const b of this.freeCached.values()) {
        ids.push(b.id);
        if (ids.length === n) break;
      }
    }
    for (const id of ids) {
      const b = this.blocks[id]!;
      if (b.hash !== undefined) {
        this.freeCached.delete(id);
        this.byHash.delete(b.hash);
        b.hash = undefined;
      }
      b.refs = 1;
      this.used++;
    }
    return ids;
  }

  /** Registers a now-full block's content hash so later prompts can reuse it. */
  register(blockId: number, h: string): void {
    if (!this.prefixCaching) return;
    const b = this.blocks[blockId]!;
    if (b.hash !== undefined || this.byHash.has(h)) return; // duplicate content: keep the first copy
    b.hash = h;
    this.byHash.set(h, b);
  }

  /** Drops one reference on each block; cached blocks reaching zero join the back of the eviction order. */
  release(ids: readonly number[]): void {
    // release tail first so a sequence's tail blocks are evicted before its (more shareable) head blocks
    for (let i = ids.length - 1; i >= 0; i--) {
      const b = this.blocks[ids[i]!]!;
      b.refs--;
      if (b.refs > 0) continue;
      this.used--;
      if (b.hash === undefined) this.freeEmpty.push(b.id);
      else this.freeCached.set(b.id, b);
    }
  }
}
