/**
 * Gemini thought signatures across turns (ai.google.dev/gemini-api/docs/thought-signatures):
 * thinking models attach an opaque `thoughtSignature` to parts of a model turn (always to a
 * function call's part) and need it back, on the same part, when that turn is replayed in the next
 * request — Gemini 3 refuses function calls without it. OpenAI's message format has no place for
 * it, so the assistant message carries it twice, as LiteLLM does: in
 * `provider_specific_fields.thought_signature` (on each tool call, and on the message for a text
 * part's signature), and appended to the tool call id after `__thought__` for clients that rebuild
 * messages from id, name and arguments only.
 */

const ID_MARK = '__thought__';

type Json = Record<string, unknown>;

export function toolCallId(id: string, signature: string | undefined): string {
  return signature ? `${id}${ID_MARK}${signature}` : id;
}

/** The field that carries a signature on an OpenAI tool call or message. */
export function signatureFields(signature: string | undefined): Json {
  return signature ? { provider_specific_fields: { thought_signature: signature } } : {};
}

function fieldSignature(value: unknown): string | undefined {
  const fields = isRecord(value) ? value.provider_specific_fields : undefined;
  const signature = isRecord(fields) ? fields.thought_signature : undefined;
  return typeof signature === 'string' && signature !== '' ? signature : undefined;
}

/** The signature a client brought back on an assistant tool call, if any. */
export function toolCallSignature(call: unknown): string | undefined {
  const explicit = fieldSignature(call);
  if (explicit) return explicit;
  const id = isRecord(call) ? call.id : undefined;
  if (typeof id !== 'string') return undefined;
  const mark = id.indexOf(ID_MARK);
  return mark >= 0 && mark + ID_MARK.length < id.length ? id.slice(mark + ID_MARK.length) : undefined;
}

/** The signature of an assistant message's own (text) part, if the client brought it back. */
export function messageSignature(message: unknown): string | undefined {
  return fieldSignature(message);
}

function isRecord(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
