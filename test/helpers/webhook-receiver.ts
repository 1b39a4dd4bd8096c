import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received<B = unknown> {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: B;
}

/**
 * A real HTTP receiver on a free loopback port, as a webhook target. `answer(n)` gives the status
 * of the n-th request (default 204), or 'hang' to never answer it.
 */
export async function startReceiver<B = unknown>(opts: { path?: string; answer?: (n: number) => number | 'hang' } = {}) {
  const requests: Received<B>[] = [];
  const server = http.createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      text += d;
    });
    req.on('end', () => {
      requests.push({ url: req.url ?? '', headers: req.headers, body: JSON.parse(text) as B });
      const a = opts.answer?.(requests.length) ?? 204;
      if (a === 'hang') return;
      res.writeHead(a, { 'content-type': 'text/plain' }).end(a < 300 ? 'ok' : 'nope');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${opts.path ?? '/hooks'}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
