import http from 'node:http';
import type net from 'node:net';

/**
 * Keep-alive HTTP lanes: `count` agents of one socket each. A lane sends its requests one after the
 * other on the same connection (a new one only after the server closed the last), so whatever a
 * request leaves behind on its connection (an unread body, a close announced or not) meets the next
 * request on that lane, every time the same sequence is sent: a lost connection can be replayed and
 * shrunk. Lanes run side by side. Nothing is retried: an error is reported as it happened.
 */

export interface LaneRequest {
  method: string;
  /** Already encoded: sent as is. */
  path: string;
  /** Extra headers, duplicates allowed; Host, Content-Length or Transfer-Encoding are added. */
  headers: readonly (readonly [string, string])[];
  body?: Buffer | undefined;
  /** Send the body with Transfer-Encoding: chunked (in a few chunks) instead of Content-Length. */
  chunked?: boolean;
}

export interface LaneAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Which connection carried it (numbered in the order they were opened) and whether it had carried one before. */
  socket: number;
  reused: boolean;
  ms: number;
}

export class LaneError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly socket: number,
    readonly reused: boolean,
    /** What this connection carried before, when reused: the likely culprit of a lost connection. */
    readonly previous: string | undefined,
  ) {
    super(message);
    this.name = 'LaneError';
  }
}

export interface LanesOptions {
  /**
   * Idle sockets are closed after this long. Below the server's keep-alive timeout (Node's
   * default 5 s), so a request never races the server closing an idle connection, which is no loss.
   */
  idleMs?: number;
  /** No answer within this long is an error (code ETIMEDOUT). */
  timeoutMs?: number;
}

export class Lanes {
  private readonly agents: http.Agent[];
  private readonly ids = new WeakMap<net.Socket, number>();
  private readonly lastOn = new Map<number, string>();
  private readonly queues: Promise<unknown>[];
  private opened = 0;
  /** Errors that came after a complete answer (the server reset the connection while we still wrote). */
  readonly lateErrors: string[] = [];

  constructor(
    private readonly base: URL,
    readonly count: number,
    private readonly opts: LanesOptions = {},
  ) {
    this.agents = Array.from(
      { length: count },
      () => new http.Agent({ keepAlive: true, maxSockets: 1, maxFreeSockets: 1, timeout: opts.idleMs ?? 3_000, scheduling: 'lifo' }),
    );
    this.queues = Array.from({ length: count }, () => Promise.resolve());
  }

  /** Connections opened so far. */
  get socketsOpened(): number {
    return this.opened;
  }

  /** Queue `req` on `lane`: it is sent once the lane's earlier requests have been answered (or failed). */
  send(lane: number, req: LaneRequest, label: string): Promise<LaneAnswer> {
    const i = ((lane % this.count) + this.count) % this.count;
    const run = (this.queues[i] as Promise<unknown>).then(() => this.sendNow(i, req, label));
    this.queues[i] = run.catch(() => undefined);
    return run;
  }

  private sendNow(lane: number, req: LaneRequest, label: string): Promise<LaneAnswer> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const headers: string[] = ['Host', this.base.host];
      for (const [k, v] of req.headers) headers.push(k, v);
      if (req.body !== undefined) {
        if (req.chunked) headers.push('Transfer-Encoding', 'chunked');
        else headers.push('Content-Length', String(req.body.length));
      }
      let socket = 0;
      let reused = false;
      let answered = false;
      let settled = false;
      const fail = (code: string, message: string) => {
        if (settled) {
          if (answered) this.lateErrors.push(`${label}: ${code} ${message} after the answer (socket #${socket})`);
          return;
        }
        settled = true;
        clearTimeout(timer);
        const previous = reused ? this.lastOn.get(socket) : undefined;
        reject(new LaneError(`${code}: ${message}`, code, socket, reused, previous));
      };
      const r = http.request({
        host: this.base.hostname,
        port: this.base.port,
        method: req.method,
        path: req.path,
        agent: this.agents[lane],
        headers,
        setHost: false,
      });
      const timer = setTimeout(() => {
        fail('ETIMEDOUT', `no answer within ${this.opts.timeoutMs ?? 30_000} ms`);
        r.destroy();
      }, this.opts.timeoutMs ?? 30_000);
      r.on('socket', (s: net.Socket) => {
        let id = this.ids.get(s);
        if (id === undefined) {
          id = ++this.opened;
          this.ids.set(s, id);
        }
        socket = id;
        reused = r.reusedSocket;
      });
      r.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'ERROR', err.message));
      r.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('aborted', () => fail('EABORTED', 'the answer was cut off'));
        res.on('error', (err: NodeJS.ErrnoException) => fail(err.code ?? 'ERROR', err.message));
        res.on('end', () => {
          if (settled) return;
          answered = true;
          settled = true;
          clearTimeout(timer);
          this.lastOn.set(socket, `${label} → ${res.statusCode}${res.headers.connection === 'close' ? ' (Connection: close)' : ''}`);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            socket,
            reused,
            ms: performance.now() - started,
          });
        });
      });
      const body = req.body;
      if (body === undefined) r.end();
      else if (req.chunked && body.length > 1) {
        // A few chunks of uneven size, so the server sees the body arrive in pieces.
        const cut = [Math.floor(body.length / 3), Math.floor((body.length * 2) / 3)];
        r.write(body.subarray(0, cut[0]));
        r.write(body.subarray(cut[0], cut[1]));
        r.end(body.subarray(cut[1]));
      } else r.end(body);
    });
  }

  /** Close every connection (a request still waiting fails) and let the queues settle. */
  async close(): Promise<void> {
    for (const a of this.agents) a.destroy();
    await Promise.all(this.queues);
  }
}
