/**
 * Synchronous request hooks use fastify's callback form (https://fastify.dev/docs/latest/Reference/Hooks/):
 * no promise per request. A failure is handed to fastify one microtask later, as an async hook's
 * rejection was: an error answer then never overtakes the 400 Node's parser writes for a framing
 * error later in the same packet (test/http-edge-errors.test.ts).
 */
export function failLater(done: (error: Error) => void, error: unknown): void {
  queueMicrotask(() => done(error as Error));
}
