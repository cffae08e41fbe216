/**
 * The duplicate check of a batch file's custom_ids in a fixed 12 bytes per slot (about 24 bytes
 * per id) instead of a Set of the strings (about 80 bytes per id: 8 MB for 100k lines): each id
 * is kept as a 64-bit hash with the number of the line it came from, in an open-addressing table
 * of typed arrays. A hash match is only a candidate: `seenAt` returns the line numbers of earlier
 * ids with the same hash, and the caller compares the actual ids (re-reading those lines), so a
 * hash collision never rejects a valid file.
 */
export type IdHash = (id: string) => [number, number];

export class CustomIdSet {
  constructor(private readonly hash: IdHash = hash64) {}

  private capacity = 1 << 12;
  private high = new Uint32Array(this.capacity);
  private low = new Uint32Array(this.capacity);
  /** Line number of the id in the slot; 0 = empty (line numbers start at 1). */
  private lines = new Uint32Array(this.capacity);
  private count = 0;

  /** Line numbers of earlier ids whose hash equals this id's. */
  seenAt(id: string): number[] {
    const [high, low] = this.hash(id);
    const found: number[] = [];
    for (let slot = low & (this.capacity - 1); this.lines[slot] !== 0; slot = (slot + 1) & (this.capacity - 1)) {
      if (this.high[slot] === high && this.low[slot] === low) found.push(this.lines[slot]!);
    }
    return found;
  }

  add(id: string, line: number): void {
    if ((this.count + 1) * 2 > this.capacity) this.grow();
    const [high, low] = this.hash(id);
    this.place(high, low, line);
    this.count += 1;
  }

  private place(high: number, low: number, line: number): void {
    let slot = low & (this.capacity - 1);
    while (this.lines[slot] !== 0) slot = (slot + 1) & (this.capacity - 1);
    this.high[slot] = high;
    this.low[slot] = low;
    this.lines[slot] = line;
  }

  private grow(): void {
    const { high, low, lines } = this;
    this.capacity *= 2;
    this.high = new Uint32Array(this.capacity);
    this.low = new Uint32Array(this.capacity);
    this.lines = new Uint32Array(this.capacity);
    for (let slot = 0; slot < lines.length; slot += 1) {
      if (lines[slot] !== 0) this.place(high[slot]!, low[slot]!, lines[slot]!);
    }
  }
}

/** Two independent 32-bit FNV-1a style hashes over the UTF-16 code units, mixed at the end. */
export function hash64(text: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9 ^ text.length;
  for (let index = 0; index < text.length; index += 1) {
    const unit = text.charCodeAt(index);
    a = Math.imul(a ^ unit, 0x01000193);
    b = Math.imul(b ^ unit, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 13;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  return [b >>> 0, a >>> 0];
}
