/**
 * The endpoint a batch file's lines call (README "Batches"). OpenAI runs every line of a batch against
 * the batch's one `endpoint` and fails a batch whose lines name another `url`
 * (platform.openai.com/docs/api-reference/batch/request-input); the gateway refuses such a
 * batch at create instead, before any provider call. So every line of a file names the same url
 * (checked at upload: a line naming another → 400 naming it), and the batch's endpoint must be
 * that url.
 */
import { errors } from '../core/errors.ts';

/** Collects the one url of a file's lines, line by line; a line naming another is 400 naming it. */
export class BatchLineUrls {
  private first: { url: string; line: number } | undefined;

  constructor(private readonly param: string) {}

  line(request: Record<string, unknown>, number: number): void {
    const url = request.url;
    if (typeof url !== 'string' || url === '') throw errors.invalidValue(this.param, `Line ${number} of the batch file has a "url" that is not a non-empty string.`);
    if (!this.first) {
      this.first = { url, line: number };
      return;
    }
    if (url !== this.first.url) {
      throw errors.invalidValue(
        this.param,
        `Line ${number} of the batch file has url ${JSON.stringify(url.slice(0, 200))}, but line ${this.first.line} has ${JSON.stringify(this.first.url.slice(0, 200))}; every line of a batch calls the batch's one endpoint.`,
      );
    }
  }

  /** The url every line names (undefined: no line yet). */
  get url(): string | undefined {
    return this.first?.url;
  }
}

/**
 * True when a line url calls the batch's endpoint on `provider`: the same string, or — on Azure,
 * whose classic docs write `/chat/completions` (learn.microsoft.com/azure/ai-foundry/openai/how-to/batch)
 * — the same path without the leading `/v1`; Vertex ignores the url (it runs chat completions only).
 */
export function urlCallsEndpoint(url: string, endpoint: string, provider: string): boolean {
  if (url === endpoint) return true;
  if (provider === 'openai') return false;
  const strip = (value: string): string => value.replace(/^\/v1(?=\/)/, '');
  return strip(url) === strip(endpoint);
}

/** 400 before any provider call when the lines of `fileId` call another endpoint than the batch's. */
export function assertLinesCallEndpoint(lineUrl: string, endpoint: string, provider: string, fileId: string): void {
  if (!urlCallsEndpoint(lineUrl, endpoint, provider)) {
    throw errors.batchEndpointMismatch(endpoint, fileId, `its lines call ${JSON.stringify(lineUrl.slice(0, 200))}`);
  }
}
