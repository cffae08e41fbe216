/**
 * The floor: the least a Node HTTP proxy can do. node:http server, forwarded with http.request over
 * a keep-alive agent to the same path on the upstream, the answer piped back as it arrives. No
 * routing, auth, parsing, logging or metrics: whatever a gateway costs above this is its own.
 * - default (the chat benchmarks): the request body read whole, then sent with its length;
 * - `--stream` (bench/upload-1gib.ts): the request body piped as it arrives (`request.pipe(outgoing)`,
 *   its content-length passed on), and the answer's content-length and content-disposition too, so a
 *   1 GiB multipart upload or download goes through untouched and never buffered.
 *
 *   node bench/support/floor-proxy.mjs PORT UPSTREAM_ORIGIN [--stream]   (prints `listening <port>` when ready)
 *
 * Plain JavaScript, run without a loader, so nothing but node:http is measured.
 */
import http from 'node:http';

const [portText, upstreamOrigin, mode] = process.argv.slice(2);
if (!portText || !upstreamOrigin || (mode !== undefined && mode !== '--stream')) {
  process.stderr.write('usage: node floor-proxy.mjs PORT UPSTREAM_ORIGIN [--stream]\n');
  process.exit(2);
}
const stream = mode === '--stream';
const upstream = new URL(upstreamOrigin);
// Keep-alive to the upstream (https://nodejs.org/api/http.html#new-agentoptions), as any gateway does.
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
/** Request and answer headers passed through; hop-by-hop ones (connection, transfer-encoding) are Node's. */
const REQUEST_HEADERS = ['content-type', 'authorization', 'accept', ...(stream ? ['content-length'] : [])];
const ANSWER_HEADERS = ['content-type', 'cache-control', ...(stream ? ['content-length', 'content-disposition'] : [])];

const pick = (from, names, into = {}) => {
  for (const name of names) if (from[name] !== undefined) into[name] = from[name];
  return into;
};

/** Sends the request upstream with `headers`; `send(outgoing)` writes its body. */
function forward(request, response, headers, send) {
  const outgoing = http.request(
    { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers, agent },
    (answer) => {
      response.writeHead(answer.statusCode ?? 502, pick(answer.headers, ANSWER_HEADERS));
      answer.pipe(response);
    },
  );
  outgoing.on('error', (error) => {
    if (response.headersSent) response.destroy();
    else response.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: error.message } }));
  });
  send(outgoing);
}

const server = http.createServer((request, response) => {
  if (stream) return forward(request, response, pick(request.headers, REQUEST_HEADERS), (outgoing) => request.pipe(outgoing));
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers = pick(request.headers, REQUEST_HEADERS, { 'content-length': String(body.length) });
    forward(request, response, headers, (outgoing) => outgoing.end(body));
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
