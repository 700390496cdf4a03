/**
 * A fixed set of engines used one task at a time each: `use` waits, in arrival order, for a free one.
 * Callers bound how many may wait (FacesService answers 429 beyond FACES_MAX_QUEUE).
 */
export class Slots<T> {
  private readonly free: T[];
  private readonly waiting: ((item: T | undefined) => void)[] = [];
  private closed = false;

  constructor(private readonly items: T[]) {
    this.free = [...items];
  }

  /** Tasks running and waiting. */
  get pending(): number {
    return this.items.length - this.free.length + this.waiting.length;
  }

  async use<R>(work: (item: T) => Promise<R>): Promise<R> {
    const item = await this.acquire();
    try {
      return await work(item);
    } finally {
      this.release(item);
    }
  }

  /** Refuses new work and wakes the waiting tasks with an error; running ones finish. */
  close(): void {
    this.closed = true;
    for (const wake of this.waiting.splice(0)) wake(undefined);
  }

  private async acquire(): Promise<T> {
    if (this.closed) throw new Error('the face detector is shut down');
    const item =
      this.free.pop() ?? (await new Promise<T | undefined>((resolve) => this.waiting.push(resolve)));
    if (item === undefined) throw new Error('the face detector is shut down');
    return item;
  }

  private release(item: T): void {
    // Handed straight to the next waiting task, so nobody can overtake it.
    const next = this.waiting.shift();
    if (next) next(item);
    else this.free.push(item);
  }
}
