/**
 * When each in-memory balance next has a grant expiring: a binary min-heap of (time, key), so the
 * service finds the balances due without looking at the others. A key is scheduled again when its
 * time moves earlier; entries whose time is stale (the key was rescheduled, evicted or its grant
 * used up) are dropped as they come out, and the heap is rebuilt from the live keys when stale
 * entries outnumber them, so its size stays within twice the keys scheduled plus `slack`.
 */
export class ExpiryQueue<K> {
  private heap: Array<{ atMs: number; key: K }> = [];
  /** The time each key is scheduled for (its earliest entry in the heap). */
  private readonly scheduled = new Map<K, number>();

  constructor(private readonly slack: number = 1_000) {}

  get size(): number {
    return this.heap.length;
  }

  /** Schedules `key` at `atMs` unless it is already scheduled at or before it. */
  schedule(key: K, atMs: number): void {
    const current = this.scheduled.get(key);
    if (current !== undefined && current <= atMs) return;
    this.scheduled.set(key, atMs);
    this.push({ atMs, key });
    if (this.heap.length > 2 * this.scheduled.size + this.slack) this.compact();
  }

  /** Forgets `key` (evicted); its entries are dropped lazily. */
  forget(key: K): void {
    this.scheduled.delete(key);
  }

  /** Takes every key due at `nowMs`, at most `max` (the rest stay for the next call). */
  due(nowMs: number, max: number): K[] {
    const keys: K[] = [];
    while (keys.length < max && this.heap.length > 0 && this.heap[0]!.atMs <= nowMs) {
      const { atMs, key } = this.pop();
      if (this.scheduled.get(key) !== atMs) continue;
      this.scheduled.delete(key);
      keys.push(key);
    }
    return keys;
  }

  private compact(): void {
    this.heap = [...this.scheduled].map(([key, atMs]) => ({ atMs, key })).sort((a, b) => a.atMs - b.atMs);
  }

  private push(item: { atMs: number; key: K }): void {
    const heap = this.heap;
    heap.push(item);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (heap[parent]!.atMs <= item.atMs) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  private pop(): { atMs: number; key: K } {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= heap.length) break;
        const right = left + 1;
        const child = right < heap.length && heap[right]!.atMs < heap[left]!.atMs ? right : left;
        if (heap[child]!.atMs >= last.atMs) break;
        heap[i] = heap[child]!;
        i = child;
      }
      heap[i] = last;
    }
    return top;
  }
}
