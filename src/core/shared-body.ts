/**
 * One read of a body for several consumers (the deployments of a managed fan-out, README "Endpoints" (managed files): "the
 * body is read once"). Each consumer gets a branch; a branch's first open() joins a single read of
 * the source, whose chunks go to every joined branch by reference (no copy per deployment). The
 * next chunk is read once every branch has taken the last one in, so the slowest deployment sets
 * the pace and memory stays at a few chunks whatever the file's size.
 *
 * The shared read starts once every branch has opened or been released: a consumer that will not
 * read (its upload failed before sending the body) must call release(), as must every consumer when
 * its upload has settled; a branch whose stream is destroyed (the upload gave up) leaves the read.
 * A branch opened a second time (a re-send after a refreshed credential) reads the source on its own.
 */
import { Readable } from 'node:stream';
import { markCounted, streamedBytes } from './stream-memory.ts';

export interface SharableBody {
  /** Opens a fresh stream over the whole body. */
  open(): Readable;
  bytes: number | undefined;
}

export interface SharedBranch extends SharableBody {
  /** This consumer will not read (any more): the others go on without it. */
  release(): void;
}

/** Bytes a branch holds for a consumer slower than the others. */
const BRANCH_BUFFER_BYTES = 1024 * 1024;

export function shareBody(body: SharableBody, consumers: number): SharedBranch[] {
  if (consumers <= 1) return Array.from({ length: consumers }, () => ({ open: () => body.open(), bytes: body.bytes, release: () => undefined }));
  return new SharedRead(body, consumers).branches;
}

interface Branch {
  stream: Readable | undefined;
  /** Opened or released: the shared read no longer waits for it. */
  settled: boolean;
  /** Its read() ran and no push filled it past its mark since (Readable calls read() once, then waits for a push). */
  wants: boolean;
  active: boolean;
}

class SharedRead {
  readonly branches: SharedBranch[];
  private readonly state: Branch[];
  private source: Readable | undefined;

  constructor(
    private readonly body: SharableBody,
    consumers: number,
  ) {
    this.state = Array.from({ length: consumers }, () => ({ stream: undefined, settled: false, wants: true, active: false }));
    this.branches = this.state.map((branch) => ({
      bytes: body.bytes,
      open: () => this.open(branch),
      release: () => this.leave(branch),
    }));
  }

  private open(branch: Branch): Readable {
    if (branch.settled) return this.body.open(); // a second open (or after release): on its own
    branch.settled = true;
    branch.active = true;
    const stream = markCounted(new Readable({
      highWaterMark: BRANCH_BUFFER_BYTES,
      read: () => {
        branch.wants = true;
        this.resume();
      },
    }));
    stream.on('error', () => undefined); // the consumer reads it through iteration
    stream.once('close', () => this.leave(branch));
    branch.stream = stream;
    this.start();
    return stream;
  }

  private leave(branch: Branch): void {
    branch.settled = true;
    branch.active = false;
    this.start();
    this.resume();
    if (this.source && !this.state.some((other) => other.active)) this.source.destroy(); // nobody reads any more
  }

  /** Every branch opened or released: read the source once, for the branches still reading. */
  private start(): void {
    if (this.source || !this.state.every((branch) => branch.settled) || !this.state.some((branch) => branch.active)) return;
    const source = this.body.open();
    this.source = source;
    source.on('data', (chunk: Buffer) => {
      streamedBytes(chunk.length); // once, not once per deployment
      let full = false;
      for (const branch of this.state) {
        if (!branch.active || branch.stream!.push(chunk)) continue;
        branch.wants = false;
        full = true;
      }
      if (full) source.pause();
    });
    source.once('end', () => {
      for (const branch of this.state) if (branch.active) branch.stream!.push(null);
    });
    source.once('error', (error) => {
      for (const branch of this.state) if (branch.active) branch.stream!.destroy(error);
    });
  }

  private resume(): void {
    const source = this.source;
    if (!source || source.destroyed || source.readableEnded) return;
    if (this.state.every((branch) => !branch.active || branch.wants)) source.resume();
  }
}
