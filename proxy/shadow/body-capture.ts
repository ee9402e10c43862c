/**
 * The first `limit` bytes of a body, collected as it streams past. Past the limit the rest is
 * only counted: a comparison never holds more than the cap per side in memory.
 */
export class BodyCapture {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  /** every byte seen, kept or not */
  size = 0;

  constructor(readonly limit: number) {}

  get truncated(): boolean {
    return this.size > this.kept;
  }

  add(chunk: Buffer): void {
    this.size += chunk.length;
    const room = this.limit - this.kept;
    if (room <= 0) return;
    // copy: the caller's chunk may be a view into a buffer that is reused
    const piece = chunk.length <= room ? Buffer.from(chunk) : Buffer.from(chunk.subarray(0, room));
    this.chunks.push(piece);
    this.kept += piece.length;
  }

  toBuffer(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.kept);
  }
}
