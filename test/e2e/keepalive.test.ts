import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';
import { serve } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/api/app.ts';
import { answerClientErrors } from '../../src/api/client-errors.ts';
import { DRAIN_MAX_BYTES } from '../../src/api/unread-body.ts';
import { EventixClient } from '../../src/client/client.ts';
import type { ApiToken } from '../../src/config.ts';
import { silentLogger } from '../../src/logger.ts';
import { type ApiResponse, expectProblem, type Json, prng } from '../helpers/api.ts';
import { useTestDatabase } from '../helpers/db.ts';
import { waitFor } from '../helpers/wait.ts';

/*
 * Early answers (413, 415, 401, 403, 404, 400 before the body was read) over a REAL socket: the
 * bug they guard against lives between Node, @hono/node-server and the client, where
 * `app.request()` never goes. A refused body must never cost the client its next request.
 */

/** Twice the drain threshold, so a body under the limit can still be too large to drain. */
const LIMIT = 2 * DRAIN_MAX_BYTES;
/** Over the body limit (and so over the drain threshold): the server must close, cleanly. */
const BIG = 3 * LIMIT;
const ADMIN: ApiToken = { name: 'ka-admin', scope: 'admin', secret: 'keepalive-admin-0123456789abcdef' };
const READER: ApiToken = { name: 'ka-reader', scope: 'read', secret: 'keepalive-reader-0123456789abcdef' };
const REFUSED = 'ka-refused';

/** A valid submission of `bytes` bytes (give or take a few): were it accepted, it would write a row. */
function taskBody(bytes: number, namespace = REFUSED): Buffer {
  const head = JSON.stringify({ task: 'ka.job', namespace, args: [''] });
  return Buffer.from(head.replace('[""]', `["${'x'.repeat(Math.max(0, bytes - head.length))}"]`));
}

interface Served {
  port: number;
  base: string;
  /** Sockets the server accepted. */
  connections: number;
  /** Server-side 'request' events, to act the moment the server has the headers. */
  server: http.Server;
  close(): Promise<void>;
}

/** Serve `app` exactly as `eventix start` does (src/cli/serve.ts), on an ephemeral port. */
async function start(app: App): Promise<Served> {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }) as http.Server;
  answerClientErrors(server);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const served: Served = {
    port,
    base: `http://127.0.0.1:${port}`,
    connections: 0,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  server.on('connection', () => served.connections++);
  return served;
}

interface Reply extends ApiResponse {
  /** The client socket the exchange used. */
  socket: Socket;
}

/**
 * A node:http client on one keep-alive socket at a time (maxSockets 1). Every socket error or
 * reset is recorded: the point of the file is that there are none.
 */
const agents: http.Agent[] = [];

class KeepAliveClient {
  readonly agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  readonly socketErrors: Error[] = [];
  /** Client sockets that closed with an error (a reset, not a clean FIN). */
  readonly badCloses: Socket[] = [];
  readonly sockets = new Set<Socket>();

  constructor(readonly port: number) {
    agents.push(this.agent);
  }

  send(
    method: string,
    path: string,
    opts: { body?: Buffer; chunks?: Buffer[]; headers?: Record<string, string>; beforeBody?: () => Promise<void> } = {},
  ): Promise<Reply> {
    return new Promise<Reply>((resolve, reject) => {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.body) headers['content-length'] = String(opts.body.length);
      const req = http.request({ host: '127.0.0.1', port: this.port, method, path, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') h.set(k, v);
          let body: Json;
          if (/json/.test(h.get('content-type') ?? '') && text) body = JSON.parse(text);
          resolve({ status: res.statusCode ?? 0, headers: h, body, text, socket: req.socket as Socket });
        });
      });
      req.on('error', reject);
      req.on('socket', (s: Socket) => {
        if (this.sockets.has(s)) return;
        this.sockets.add(s);
        s.on('error', (err) => this.socketErrors.push(err));
        s.on('close', (hadError) => {
          if (hadError) this.badCloses.push(s);
        });
      });
      const write = async () => {
        if (opts.beforeBody) {
          req.flushHeaders();
          await opts.beforeBody();
        }
        if (opts.chunks) for (const c of opts.chunks) req.write(c);
        req.end(opts.body);
      };
      write().catch(reject);
    });
  }

  expectClean() {
    expect(this.socketErrors.map((e) => e.message)).toEqual([]);
    expect(this.badCloses).toHaveLength(0);
  }
}

/** `body` split into 16 KiB chunks, sent chunked (no Content-Length): the limit is crossed mid-stream. */
const chunksOf = (body: Buffer) =>
  Array.from({ length: Math.ceil(body.length / 16384) }, (_, i) => body.subarray(i * 16384, (i + 1) * 16384));

describe('keep-alive connections survive answers given before the body was read', () => {
  const db = useTestDatabase();
  let open: Served;
  let secured: Served;
  /** A server with a roomier limit, for bodies it accepts in size but refuses otherwise. */
  let roomy: Served;
  const refusedRows = async () =>
    (await db().pool.query<{ n: number }>('select count(*)::int as n from tasks where namespace = $1', [REFUSED])).rows[0]!.n;

  beforeAll(async () => {
    open = await start(createApp({ database: db(), logger: silentLogger, maxBodyBytes: LIMIT }));
    secured = await start(createApp({ database: db(), logger: silentLogger, maxBodyBytes: LIMIT, apiTokens: [ADMIN, READER] }));
    roomy = await start(createApp({ database: db(), logger: silentLogger, maxBodyBytes: 4 * 1024 * 1024 }));
  });
  afterAll(async () => {
    for (const a of agents) a.destroy();
    await open?.close();
    await secured?.close();
    await roomy?.close();
  });

  /** After a refused request, the same client's next request must go through (and write its row). */
  async function expectNextSucceeds(client: KeepAliveClient, token?: string) {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    const ok = await client.send('POST', '/tasks', { body: taskBody(200, 'ka-ok'), headers });
    expect(ok.status, ok.text).toBe(201);
    return ok;
  }

  /** A `Connection: close` answer: complete, then the server's FIN (not a reset) ends the socket. */
  async function expectClosedCleanly(client: KeepAliveClient, reply: Reply) {
    expect(reply.headers.get('connection')).toBe('close');
    await waitFor(() => reply.socket.destroyed, { message: 'the socket of a Connection: close answer closes' });
    client.expectClean();
  }

  it('oversize body with Content-Length: 413 problem, then the next request succeeds', async () => {
    const client = new KeepAliveClient(open.port);
    const r = await client.send('POST', '/tasks', { body: taskBody(BIG), headers: { 'content-type': 'application/json' } });
    expect(expectProblem(r, 413, { code: 'PayloadTooLarge' }).detail).toContain(String(LIMIT));
    await expectNextSucceeds(client);
    await expectClosedCleanly(client, r);
    client.expectClean();
    expect(await refusedRows()).toBe(0);
  });

  it('oversize chunked body, over the limit mid-stream: 413, then the next request succeeds', async () => {
    const client = new KeepAliveClient(open.port);
    const r = await client.send('POST', '/tasks', { chunks: chunksOf(taskBody(BIG)), headers: { 'content-type': 'application/json' } });
    expectProblem(r, 413, { code: 'PayloadTooLarge' });
    await expectNextSucceeds(client);
    await expectClosedCleanly(client, r);
    client.expectClean();
    expect(await refusedRows()).toBe(0);
  });

  it('large body with the wrong content type: 415, then the next request succeeds', async () => {
    // Under the limit, so it passes the body limit; readJson refuses it without reading it, and it
    // is too large to drain.
    for (const [served, bytes] of [
      [roomy, 1024 * 1024],
      [open, LIMIT - 100],
    ] as const) {
      const client = new KeepAliveClient(served.port);
      const r = await client.send('POST', '/tasks', { body: taskBody(bytes), headers: { 'content-type': 'text/plain' } });
      expectProblem(r, 415, { code: 'UnsupportedMediaType' });
      await expectNextSucceeds(client);
      await expectClosedCleanly(client, r);
      client.expectClean();
    }
    expect(await refusedRows()).toBe(0);
  });

  it('a body to an auth-refused route: 401 or 403, then the next request succeeds', async () => {
    const client = new KeepAliveClient(secured.port);
    const json = { 'content-type': 'application/json' };
    const reader = { ...json, authorization: `Bearer ${READER.secret}` };
    // Authentication answers before the body limit looks at the body, so any size gets its 401.
    for (const body of [taskBody(BIG), taskBody(LIMIT - 100), taskBody(300)]) {
      expectProblem(await client.send('POST', '/tasks', { body, headers: json }), 401, { code: 'Unauthorized' });
      await expectNextSucceeds(client, ADMIN.secret);
      expectProblem(await client.send('POST', '/tasks', { chunks: chunksOf(body), headers: json }), 401, { code: 'Unauthorized' });
      await expectNextSucceeds(client, ADMIN.secret);
    }
    // The scope is checked by the route, after the body limit let a Content-Length under it pass.
    for (const body of [taskBody(LIMIT - 100), taskBody(300)]) {
      expectProblem(await client.send('POST', '/tasks', { body, headers: reader }), 403, { code: 'Forbidden' });
      await expectNextSucceeds(client, ADMIN.secret);
    }
    client.expectClean();
    expect(await refusedRows()).toBe(0);
  });

  it('404 of an unknown route and 400 before the body is read: the next request succeeds', async () => {
    const client = new KeepAliveClient(open.port);
    const json = { 'content-type': 'application/json' };
    // Under the limit: over it, the body limit's 413 would answer first.
    const r404 = await client.send('POST', '/no/such/route', { body: taskBody(LIMIT - 100), headers: json });
    expectProblem(r404, 404, { code: 'NotFound' });
    await expectNextSucceeds(client);
    // readUid refuses the path before readJson looks at the body.
    const r400 = await client.send('POST', '/tasks/not-a-uuid/heartbeat', { body: taskBody(LIMIT - 100), headers: json });
    expectProblem(r400, 400, { field: 'uid' });
    await expectNextSucceeds(client);
    client.expectClean();
  });

  it('a body already received, or small and still on its way, is discarded and the connection kept', async () => {
    const client = new KeepAliveClient(open.port);
    const small = await client.send('POST', '/tasks', { body: taskBody(2000), headers: { 'content-type': 'text/plain' } });
    expectProblem(small, 415);
    expect(small.headers.get('connection')).toBe('keep-alive');
    expect((await expectNextSucceeds(client)).socket).toBe(small.socket);

    // The headers first; the body only once the server has them, so it is still unread (and on the
    // wire) when readJson refuses: the server reads it to the end before answering.
    const body = taskBody(DRAIN_MAX_BYTES - 100);
    const requested = once(open.server, 'request');
    const late = await client.send('POST', '/tasks', {
      body,
      headers: { 'content-type': 'text/plain' },
      beforeBody: async () => void (await requested),
    });
    expectProblem(late, 415);
    expect(late.headers.get('connection')).toBe('keep-alive');
    expect((await expectNextSucceeds(client)).socket).toBe(late.socket);
    client.expectClean();
    expect(await refusedRows()).toBe(0);
  });

  it('fetch (as EventixClient uses it): refused bodies never break the next call', async () => {
    const eventix = new EventixClient({ baseUrl: open.base });
    const big = taskBody(BIG);
    const stream = () => {
      const chunks = chunksOf(big);
      return new ReadableStream<Uint8Array>({
        pull(c) {
          const next = chunks.shift();
          if (next) c.enqueue(next);
          else c.close();
        },
      });
    };
    const refusals: [string, () => Promise<Response>, number][] = [
      [
        '413 with Content-Length',
        () => fetch(`${open.base}/tasks`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } }),
        413,
      ],
      [
        '413 chunked',
        () =>
          fetch(`${open.base}/tasks`, { method: 'POST', body: stream(), duplex: 'half', headers: { 'content-type': 'application/json' } }),
        413,
      ],
      [
        '415',
        () => fetch(`${open.base}/tasks`, { method: 'POST', body: taskBody(LIMIT - 100), headers: { 'content-type': 'text/plain' } }),
        415,
      ],
      [
        '404',
        () =>
          fetch(`${open.base}/nowhere`, { method: 'POST', body: taskBody(LIMIT - 100), headers: { 'content-type': 'application/json' } }),
        404,
      ],
    ];
    for (const [name, refuse, status] of refusals) {
      const res = await refuse();
      expect(res.status, name).toBe(status);
      expect(res.headers.get('content-type'), name).toBe('application/problem+json');
      expect(((await res.json()) as Json).status, name).toBe(status);
      const next = await eventix.submit({ task: 'ka.job', namespace: 'ka-ok', args: [name] });
      expect(next.created, name).toBe(true);
    }
    expect(await refusedRows()).toBe(0);
  });

  it("requests Node's parser refuses get a problem+json answer and a clean close, not a reset", async () => {
    // Raw sockets: node:http refuses to send these requests at all.
    const raw = (request: Buffer) =>
      new Promise<{ text: string; reset: boolean }>((resolve) => {
        const socket = net.connect(open.port, '127.0.0.1');
        const chunks: Buffer[] = [];
        let reset = false;
        socket.on('data', (c: Buffer) => chunks.push(c));
        socket.on('error', () => {
          reset = true;
        });
        socket.on('close', () => resolve({ text: Buffer.concat(chunks).toString('utf8'), reset }));
        // The client keeps its side open while the server answers, as a real client sending a request does.
        socket.write(request, () => setImmediate(() => socket.end()));
      });
    const huge = await raw(Buffer.from(`GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(huge.reset).toBe(false);
    expect(huge.text).toMatch(/^HTTP\/1\.1 431 /);
    expect(huge.text).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(huge.text.slice(huge.text.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 431 });
    const garbled = await raw(
      Buffer.concat([Buffer.from('GET /tasks/'), Buffer.from([0xff, 0x01]), Buffer.from(' HTTP/1.1\r\nhost: x\r\n\r\n')]),
    );
    expect(garbled.reset).toBe(false);
    expect(garbled.text).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(garbled.text.slice(garbled.text.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, title: 'Bad Request' });
    // The server is still fine for everyone else.
    await expectNextSucceeds(new KeepAliveClient(open.port));
  });

  it('a few hundred mixed bad and good requests over one keep-alive agent and over fetch: no socket errors', async () => {
    const rng = prng(10_002);
    const json = { 'content-type': 'application/json' };
    const admin = { ...json, authorization: `Bearer ${ADMIN.secret}` };
    type Kind = { name: string; server: () => Served; method: string; path: string; status: number; headers: Record<string, string> } & (
      | { body: () => Buffer }
      | { chunks: () => Buffer[] }
    );
    const kinds: Kind[] = [
      {
        name: 'good submit',
        server: () => open,
        method: 'POST',
        path: '/tasks',
        status: 201,
        headers: json,
        body: () => taskBody(rng.int(50, 4000), 'ka-mix'),
      },
      { name: 'good read', server: () => open, method: 'GET', path: '/healthz', status: 200, headers: {}, body: () => Buffer.alloc(0) },
      {
        name: '413 CL',
        server: () => open,
        method: 'POST',
        path: '/tasks',
        status: 413,
        headers: json,
        body: () => taskBody(rng.int(LIMIT + 1, BIG)),
      },
      {
        name: '413 chunked',
        server: () => open,
        method: 'POST',
        path: '/tasks',
        status: 413,
        headers: json,
        chunks: () => chunksOf(taskBody(rng.int(LIMIT + 1, BIG))),
      },
      {
        name: '415',
        server: () => open,
        method: 'POST',
        path: '/tasks',
        status: 415,
        headers: { 'content-type': 'text/plain' },
        body: () => taskBody(rng.int(10, LIMIT - 100)),
      },
      // Over the limit, the body limit's 413 comes first.
      {
        name: '404',
        server: () => open,
        method: 'PUT',
        path: '/nope',
        status: 404,
        headers: json,
        body: () => taskBody(rng.int(10, LIMIT)),
      },
      {
        name: '400 malformed',
        server: () => open,
        method: 'POST',
        path: '/tasks',
        status: 400,
        headers: json,
        body: () => Buffer.from('{"task":'),
      },
      {
        name: '401',
        server: () => secured,
        method: 'POST',
        path: '/tasks',
        status: 401,
        headers: json,
        body: () => taskBody(rng.int(10, BIG)),
      },
      {
        name: 'good authed',
        server: () => secured,
        method: 'POST',
        path: '/tasks',
        status: 201,
        headers: admin,
        body: () => taskBody(rng.int(50, 4000), 'ka-mix'),
      },
    ];
    const { rows: before } = await db().pool.query<{ n: number }>(`select count(*)::int as n from tasks where namespace = 'ka-mix'`);
    const clients = { open: new KeepAliveClient(open.port), secured: new KeepAliveClient(secured.port) };
    let created = 0;
    const fetchFailures: string[] = [];
    for (let i = 0; i < 300; i++) {
      const k = rng.pick(kinds);
      const target = k.server();
      const payload = 'body' in k ? k.body() : Buffer.concat(k.chunks());
      let status: number;
      if (i % 2 === 0) {
        const client = target === open ? clients.open : clients.secured;
        const opts = 'body' in k ? { body: payload, headers: k.headers } : { chunks: chunksOf(payload), headers: k.headers };
        const r = await client.send(k.method, k.path, k.method === 'GET' ? { headers: k.headers } : opts);
        status = r.status;
      } else {
        const res = await fetch(`${target.base}${k.path}`, {
          method: k.method,
          headers: k.headers,
          ...(k.method === 'GET' ? {} : { body: payload }),
        }).catch((err: Error) => {
          fetchFailures.push(`${i} ${k.name}: ${err.message} ${String((err.cause as Error | undefined)?.message ?? '')}`);
          return undefined;
        });
        if (!res) continue;
        await res.arrayBuffer();
        status = res.status;
      }
      expect(status, `request ${i}: ${k.name}`).toBe(k.status);
      if (k.status === 201) created++;
    }
    expect(fetchFailures).toEqual([]);
    clients.open.expectClean();
    clients.secured.expectClean();
    const { rows: after } = await db().pool.query<{ n: number }>(`select count(*)::int as n from tasks where namespace = 'ka-mix'`);
    expect(after[0]!.n - before[0]!.n).toBe(created);
    expect(await refusedRows()).toBe(0);
  });
});
