/** Helpers of the emulator chat tests. */

/** SSE `data:` payloads of a raw response body, split on the blank line that ends each event. */
export function sseData(text: string, separator = '\n\n'): string[] {
  return text
    .split(separator)
    .filter((event) => event !== '')
    .map((event) => event.replace(/^data: /, ''));
}
