/**
 * The floor for the chat benchmarks: the least a Node HTTP proxy can do for a chat completion.
 * node:http server, the request body read whole, forwarded with http.request over a keep-alive
 * agent to the same path on the upstream, and the answer (JSON or SSE) piped back as it arrives.
 * No routing, auth, parsing, logging or metrics: whatever a gateway costs above this is its own.
 *
 *   node bench/support/floor-proxy.mjs PORT UPSTREAM_ORIGIN     (prints `listening <port>` when ready)
 *
 * Plain JavaScript, run without a loader, so nothing but node:http is measured.
 */
import http from 'node:http';

const [portText, upstreamOrigin] = process.argv.slice(2);
if (!portText || !upstreamOrigin) {
  process.stderr.write('usage: node floor-proxy.mjs PORT UPSTREAM_ORIGIN\n');
  process.exit(2);
}
const upstream = new URL(upstreamOrigin);
// Keep-alive to the upstream (https://nodejs.org/api/http.html#new-agentoptions), as any gateway does.
const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
/** Request and answer headers passed through; hop-by-hop ones (content-length, connection) are Node's. */
const REQUEST_HEADERS = ['content-type', 'authorization', 'accept'];
const ANSWER_HEADERS = ['content-type', 'cache-control'];

const server = http.createServer((request, response) => {
  const chunks = [];
  request.on('data', (chunk) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    const headers = { 'content-length': String(body.length) };
    for (const name of REQUEST_HEADERS) if (request.headers[name] !== undefined) headers[name] = request.headers[name];
    const outgoing = http.request(
      { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers, agent },
      (answer) => {
        const answerHeaders = {};
        for (const name of ANSWER_HEADERS) if (answer.headers[name] !== undefined) answerHeaders[name] = answer.headers[name];
        response.writeHead(answer.statusCode ?? 502, answerHeaders);
        answer.pipe(response);
      },
    );
    outgoing.on('error', (error) => {
      if (response.headersSent) response.destroy();
      else response.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: error.message } }));
    });
    outgoing.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write(`listening ${server.address().port}\n`));
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => process.exit(0));
