/**
 * Writes an SSE answer to the client: the events of one upstream read go out in one write
 * (the socket is corked until the current burst of events is written), and a client that reads
 * slowly is waited for ('drain') instead of having the answer pile up in the gateway's memory —
 * while we wait, the upstream body is not read, so TCP backpressure reaches the provider.
 */
import type { ServerResponse } from 'node:http';
import type { SseTarget } from '../core/raw-json.ts';

export class SseWriter implements SseTarget {
  private corked = false;
  private readonly uncork = (): void => {
    if (!this.corked) return;
    this.corked = false;
    this.response.uncork();
  };

  constructor(private readonly response: ServerResponse) {}

  /** SseTarget: the client's connection is gone. */
  get closed(): boolean {
    return this.response.destroyed;
  }

  /** Writes `text`; resolves at once unless the client's socket is full, then once it drained (or closed). */
  write(text: string): Promise<void> | undefined {
    if (this.writeNow(text)) return undefined;
    return drained(this.response);
  }

  /** SseTarget: writes `text`; false when the client's socket is full (then see whenWritable). */
  writeNow(text: string): boolean {
    const response = this.response;
    if (!this.corked) {
      this.corked = true;
      response.cork();
      // Runs in this event-loop turn's check phase, after the I/O callbacks and their promise
      // jobs: every event already received is written first, and when the upstream's end came in
      // the same read, end() (which uncorks fully) sends it all in one write.
      setImmediate(this.uncork);
    }
    if (response.write(text)) return true;
    this.uncork();
    return false;
  }

  /** SseTarget: `resume` once the client drained (or closed). */
  whenWritable(resume: () => void): void {
    void drained(this.response).then(resume);
  }

  /**
   * Ends the answer with `text`. Node's end() uncorks the socket fully itself
   * (lib/_http_outgoing.js, "Fully uncork connection on end()"), so what is still corked leaves
   * together with `text` and the last chunk of the chunked encoding, in one write.
   */
  end(text: string): void {
    this.corked = false;
    this.response.end(text);
  }
}

function drained(response: ServerResponse): Promise<void> {
  if (response.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
