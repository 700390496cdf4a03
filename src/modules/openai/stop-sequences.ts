/**
 * Cuts streamed text before the first stop sequence. Text that could still become the start of a stop
 * sequence is held back until the next piece decides, so a client never sees part of one.
 */
export class StopSequences {
  private held = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  /** True once a stop sequence has been seen: everything after it is dropped. */
  get stopped(): boolean {
    return this.done;
  }

  /** The part of `piece` (with what was held back) that is safe to send now. */
  push(piece: string): string {
    if (this.done) return '';
    const text = this.held + piece;
    const cut = this.firstStop(text);
    if (cut >= 0) {
      this.done = true;
      this.held = '';
      return text.slice(0, cut);
    }
    const keep = this.pendingPrefix(text);
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** What was held back, once the text has ended. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** A whole text cut at its first stop sequence. */
  apply(text: string): string {
    const cut = this.firstStop(text);
    return cut >= 0 ? text.slice(0, cut) : text;
  }

  private firstStop(text: string): number {
    let first = -1;
    for (const s of this.stops) {
      const i = text.indexOf(s);
      if (i >= 0 && (first < 0 || i < first)) first = i;
    }
    return first;
  }

  /** Length of the longest end of `text` that is a proper start of some stop sequence. */
  private pendingPrefix(text: string): number {
    let best = 0;
    for (const s of this.stops)
      for (let n = Math.min(s.length - 1, text.length); n > best; n--)
        if (text.endsWith(s.slice(0, n))) {
          best = n;
          break;
        }
    return best;
  }
}
