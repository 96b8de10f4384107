import type { JournalEntry } from './actor';

/**
 * Entries waiting to be committed, in the order the actors emitted them, cut into segments of at
 * most `flushBatchMax` entries. One segment is one commit: everyone waiting on an entry waits on
 * its segment's promise, so acknowledging a batch costs one promise, not one per entry.
 */
export class Segment {
  readonly entries: JournalEntry[] = [];
  /** Entries that will never commit (their balance was fenced off, or they cannot be written), with the reason. */
  readonly failed = new Map<JournalEntry, Error>();
  /** Entries committed so far: all of them at once, or part by part when the segment is bisected. */
  readonly written = new Set<JournalEntry>();
  readonly committed: Promise<void>;
  resolve!: () => void;

  constructor() {
    this.committed = new Promise<void>((resolve) => {
      this.resolve = resolve;
    });
  }

  /** After `committed`: throws when the entry was dropped (fenced off, unwritable) instead of committed. */
  throwIfFailed(entry: JournalEntry): void {
    if (this.failed.size === 0) return;
    const err = this.failed.get(entry);
    if (err) throw err;
  }
}

export class Journal {
  private readonly segments: Segment[] = [];
  private depth = 0;
  private wake: (() => void) | null = null;
  private inFlight: Segment | null = null;

  constructor(private readonly segmentEntriesMax: number) {}

  /** Entries appended and not yet committed (or dropped). */
  get size(): number {
    return this.depth;
  }

  append(entry: JournalEntry): Segment {
    let tail = this.segments[this.segments.length - 1];
    // The head segment may be in flight already; new entries always open or fill a later one.
    if (!tail || tail === this.inFlight || tail.entries.length >= this.segmentEntriesMax) {
      tail = new Segment();
      this.segments.push(tail);
    }
    tail.entries.push(entry);
    this.depth++;
    this.wake?.();
    return tail;
  }

  /**
   * Waits until there is something to commit (or `interrupt()`). Resolves true when it had to wait,
   * i.e. the entry that woke it is the first after a quiet spell.
   */
  async waitForEntries(): Promise<boolean> {
    if (this.segments.length > 0) return false;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    this.wake = null;
    return true;
  }

  /**
   * The head segment, marked in flight: from now on new entries open a later segment. Null when
   * there is none.
   */
  take(): Segment | null {
    const head = this.segments[0];
    if (!head) return null;
    this.inFlight = head;
    return head;
  }

  /** Every entry not yet committed, head first: used to fail a fenced actor's later entries. */
  *pending(): Iterable<[Segment, JournalEntry]> {
    for (const segment of this.segments) for (const entry of segment.entries) yield [segment, entry];
  }

  /** Removes the committed head segment. */
  shift(segment: Segment): void {
    const head = this.segments.shift();
    if (head !== segment) throw new Error('journal: committed a segment that is not the head');
    this.inFlight = null;
    this.depth -= segment.entries.length;
  }

  /** Wakes a waiting `next()` so a stopping flusher can leave its loop. */
  interrupt(): void {
    this.wake?.();
  }
}
