/** POST /chat/completions: well-formed chats, malformed messages, odd file parts, deep JSON. */
import { clientCase, rawCase } from './case-kit.ts';
import { isForeign, POOL_KINDS, POOL_SLOTS, type Actor, type CaseDraft, type Owner, type PoolRef, type World } from './case-types.ts';
import { deepJson, oddJsonValue, oddString } from './hostile-values.ts';
import type { Random } from './random.ts';
import { allowedModels, MODELS } from './upload-shapes.ts';

function pickActor(random: Random): Actor {
  return random.weighted<Actor>([
    [4, 'alice'],
    [3, 'bob'],
    [2, 'carol'],
    [2, 'admin'],
    [0.5, 'revoked'],
    [0.5, 'garbage'],
    [0.5, 'none'],
  ]);
}

/** A file part pointing somewhere: a pool file (maybe another owner's), a gs:// URI, an odd id. */
/** The model that would read a reference of this kind (the Google ones take gs:// and Gemini URIs). */
const READER: Record<string, string> = { vertex: 'gemini-2.0-flash', gemini: 'gemini-api-flash', openai: 'gpt-4o-mini-openai', azure: 'azure-gpt' };

interface PartChoice {
  part: (world: World) => unknown;
  label: string;
  foreign: boolean;
  /** The model that reads such a reference. */
  reader?: string;
  /** The caller's own plain Vertex or managed file as a file part: chat on its reader must work (issue 7). */
  own?: boolean;
}

function filePartFor(random: Random, actor: Actor): PartChoice {
  const variant = random.int(4);
  if (variant <= 1) {
    const ref: PoolRef = { kind: random.pick(POOL_KINDS), owner: random.pick<Owner>(['admin', 'alice', 'bob', 'carol']), slot: random.int(POOL_SLOTS - 1) };
    const asImage = variant === 1;
    return {
      part: (world) => (asImage ? { type: 'image_url', image_url: { url: world.poolId(ref) } } : { type: 'file', file: { file_id: world.poolId(ref) } }),
      label: `${asImage ? 'image_url' : 'file'} = ${ref.kind} file of ${ref.owner}`,
      ...(READER[ref.kind] ? { reader: READER[ref.kind]! } : {}),
      own: !asImage && ref.owner === actor && (ref.kind === 'vertex' || ref.kind === 'managed'),
      // Raw ids of OpenAI and Azure files in image_url are just bad URLs; gs:// and unified ids are references.
      foreign: isForeign(actor, ref.owner) && (!asImage || ref.kind === 'vertex' || ref.kind === 'gemini' || ref.kind === 'managed'),
    };
  }
  const odd = random.pick<unknown>([
    { type: 'file', file: { file_id: 'gs://unifile-test/managed/unifile/00000000-0000-4000-8000-000000000000/x.txt' } },
    { type: 'file', file: { file_id: 'gs://someone-elses-bucket/secret.pdf' } },
    { type: 'image_url', image_url: { url: 'gs://someone-elses-bucket/secret.png' } },
    { type: 'file', file: { file_id: 'file-uf_AAAAAAAAAAAAAAAAAAAAAAAA' } },
    { type: 'file', file: { file_id: '\u0000' } },
    { type: 'file', file: { file_id: 'file-abc\u0000' } },
    { type: 'file', file: { file_id: '\ud800' } },
    { type: 'file', file: { file_id: 'x'.repeat(10_000) } },
    { type: 'file', file: { file_id: null } },
    { type: 'file', file: { file_id: 12 } },
    { type: 'file', file: null },
    { type: 'file', file: { file_data: 'not base64 !!', filename: 'a.pdf' } },
    { type: 'file', file: { file_data: 'data:application/pdf;base64,JVBERi0xLjQK', filename: '\u0000' } },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,@@@' } },
    { type: 'image_url', image_url: null },
    { type: 'image_url', image_url: { url: 'file:///etc/passwd' } },
    { type: 'input_audio', input_audio: { data: '', format: 'nosuch' } },
  ]);
  return { part: () => odd, label: `odd part ${JSON.stringify(odd).slice(0, 80)}`, foreign: false };
}

function malformedMessages(random: Random): { messages: unknown; label: string } {
  return random.pick<{ messages: unknown; label: string }>([
    { messages: [{ role: 'user', content: [null] }], label: 'content:[null]' },
    { messages: [{ role: 'user', content: null }], label: 'content:null' },
    { messages: [null], label: 'messages:[null]' },
    { messages: null, label: 'messages:null' },
    { messages: [], label: 'messages:[]' },
    { messages: 'hello', label: 'messages:string' },
    { messages: { role: 'user', content: 'x' }, label: 'messages:object' },
    { messages: [{ role: 'nosuch', content: 'x' }], label: 'role nosuch' },
    { messages: [{ role: 'user' }], label: 'no content' },
    { messages: [{ role: 12, content: 'x' }], label: 'role number' },
    { messages: [{ role: 'user', content: [{ type: 'text' }] }], label: 'text part without text' },
    { messages: [{ role: 'user', content: [{ type: 'text', text: null }] }], label: 'text null' },
    { messages: [{ role: 'user', content: [{ type: 'nosuch' }] }], label: 'unknown part type' },
    { messages: [{ role: 'user', content: [{}] }], label: 'empty part' },
    { messages: [{ role: 'user', content: [[]] }], label: 'array part' },
    { messages: [{ role: 'user', content: 12 }], label: 'content number' },
    { messages: [{ role: 'user', content: oddString(random) }], label: 'odd string content' },
    { messages: [{ role: 'tool', content: 'x' }], label: 'tool without tool_call_id' },
    { messages: [{ role: 'assistant', tool_calls: [null] }], label: 'tool_calls:[null]' },
    { messages: [{ role: 'assistant', tool_calls: [{ id: 1, type: 'function', function: null }] }], label: 'tool_calls bad' },
    { messages: [{ role: 'user', content: oddJsonValue(random) }], label: 'odd content value' },
    { messages: Array.from({ length: random.pick([2, 5]) }, () => oddJsonValue(random)), label: 'odd message values' },
  ]);
}

function pickModel(random: Random, actor: Actor): { model: unknown; label: string; known: boolean } {
  return random.weighted<{ model: unknown; label: string; known: boolean }>([
    [6, (() => { const model = random.pick(allowedModels(actor)); return { model, label: model, known: true }; })()],
    [1, { model: random.pick(MODELS), label: 'any model', known: false }],
    [1, (() => { const model = random.pick<unknown>(['nosuch', '', null, 12, ['gpt-4o-mini-openai'], 'gpt-4o-mini-openai\u0000', '\ud800', 'x'.repeat(5000), 'anthropic/claude']); return { model, label: `model ${JSON.stringify(model).slice(0, 40)}`, known: false }; })()],
  ]);
}

type ChatClass = (random: Random) => CaseDraft;

const ROUTE = 'POST /v1/chat/completions';

function chatPath(random: Random): string {
  return random.pick(['/v1/chat/completions', '/chat/completions']);
}

const validChat: ChatClass = (random) => {
  const actor = pickActor(random);
  const model = random.pick(allowedModels(actor));
  const stream = random.chance(0.3);
  const text = random.pick(['hello', 'Summarise this.', oddString(random)]);
  return clientCase(
    { klass: `chat.valid${stream ? '.stream' : ''}`, route: ROUTE, actor, detail: `${model} text ${JSON.stringify(text).slice(0, 40)}`, owed: 'answer', ...(['admin', 'alice', 'bob', 'carol'].includes(actor) && text.trim() !== '' && text.length < 10_000 && !/[\ud800-\udfff\u0000]/.test(text) ? { expect: 'success' as const } : {}) },
    async (client) =>
      stream
        ? client.chat.completions.create({ model, messages: [{ role: 'user', content: text }], stream: true })
        : client.chat.completions.create({ model, messages: [{ role: 'user', content: text }], max_tokens: 16 }),
  );
};

const fileParts: ChatClass = (random) => {
  const actor = pickActor(random);
  const picked = pickModel(random, actor);
  const part = filePartFor(random, actor);
  // Mostly the model that would really read the reference: that is where a confused deputy shows.
  const useReader = part.reader !== undefined && random.chance(0.7);
  const { model, label } = useReader ? { model: part.reader!, label: part.reader! } : picked;
  // A managed file is read by any of its targets: carol's pool files target gpt-4o-mini-openai only.
  const expectServed = part.own && (useReader || (part.label.startsWith('file = managed') && picked.known)) && (actor !== 'carol' || model === 'gpt-4o-mini-openai');
  const stream = random.chance(0.2);
  const path = chatPath(random);
  return rawCase(
    { klass: 'chat.file-part', route: ROUTE, actor, detail: `${label}: ${part.label}${stream ? ' stream' : ''}`, owed: 'answer', ...(part.foreign ? { foreign: true } : {}), ...(expectServed ? { expect: 'success' as const } : {}) },
    (world) => ({
      spec: {
        method: 'POST',
        target: path,
        headers: [['content-type', 'application/json']],
        body: Buffer.from(JSON.stringify({ model, stream, messages: [{ role: 'user', content: [{ type: 'text', text: 'read this' }, part.part(world)] }] })),
      },
    }),
  );
};

const malformed: ChatClass = (random) => {
  const actor = pickActor(random);
  const { model, label } = pickModel(random, actor);
  const messages = malformedMessages(random);
  const path = chatPath(random);
  const extra = random.chance(0.3) ? { [random.pick(['stream', 'max_tokens', 'temperature', 'tools', 'n', 'response_format', 'stream_options'])]: oddJsonValue(random) } : {};
  return rawCase(
    { klass: 'chat.malformed-messages', route: ROUTE, actor, detail: `${label}: ${messages.label} ${JSON.stringify(extra).slice(0, 80)}`, owed: 'answer' },
    () => ({ spec: { method: 'POST', target: path, headers: [['content-type', 'application/json']], body: Buffer.from(JSON.stringify({ model, messages: messages.messages, ...extra })) } }),
  );
};

const badJson: ChatClass = (random) => {
  const actor = pickActor(random);
  const model = random.pick(allowedModels(actor));
  const variant = random.int(12);
  const bodies: Array<[string, Buffer, string | undefined]> = [
    ['5000-deep arrays in content', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":${deepJson(5000, 'array')}}]}`), 'application/json'],
    ['5000-deep objects in metadata', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"x"}],"metadata":${deepJson(5000, 'object')}}`), 'application/json'],
    ['65-deep objects', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"x"}],"x":${deepJson(65, 'object')}}`), 'application/json'],
    ['truncated', Buffer.from(`{"model":"${model}","messages":[{"role":"us`), 'application/json'],
    ['NUL raw byte', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"a\u0000b"}]}`), 'application/json'],
    ['escaped NUL', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"a\\u0000b"}]}`), 'application/json'],
    ['lone surrogate escape', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"\\ud800"}]}`), 'application/json'],
    ['invalid UTF-8', Buffer.concat([Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"`), Buffer.from([0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}]}')]), 'application/json'],
    ['json as text/plain', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"x"}]}`), 'text/plain'],
    ['no content type', Buffer.from(`{"model":"${model}","messages":[{"role":"user","content":"x"}]}`), undefined],
    ['empty json', Buffer.alloc(0), 'application/json'],
    ['__proto__ keys', Buffer.from(`{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}},"model":"${model}","messages":[{"role":"user","content":"x","__proto__":null}]}`), 'application/json'],
  ];
  const [label, body, type] = bodies[variant]!;
  const path = chatPath(random);
  return rawCase(
    { klass: `chat.bad-json.${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`, route: ROUTE, actor, detail: label, owed: 'answer' },
    () => ({ spec: { method: 'POST', target: path, headers: type ? [['content-type', type]] : [], body } }),
  );
};

export const CHAT_CLASSES: ReadonlyArray<readonly [number, ChatClass]> = [
  [3, validChat],
  [4, fileParts],
  [5, malformed],
  [3, badJson],
];
