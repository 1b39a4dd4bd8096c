import { IncomingMessage } from 'node:http';
import { Socket } from 'node:net';
import type { HttpBindings } from '@hono/node-server';
import type { MiddlewareHandler } from 'hono';

/**
 * A request body still on the wire after the answer, up to this many declared bytes, is read and
 * discarded before answering, so the connection stays reusable. Larger or chunked remainders are
 * not worth the wait: the answer says `Connection: close` instead.
 */
export const DRAIN_MAX_BYTES = 64 * 1024;
/** How long a drain may hold the answer back before the connection is closed after all. */
export const DRAIN_TIMEOUT_MS = 1_000;
/**
 * After a `Connection: close` answer the socket is half-closed and the rest of the body read and
 * thrown away until the client closes its side, for at most this long and this many bytes. Closing
 * at once, with body bytes still arriving, makes the kernel send a reset that can destroy the
 * answer before the client has read it (RFC 9112 §9.6, "lingering close").
 */
export const LINGER_MS = 5_000;
export const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Hono middleware keeping HTTP/1.1 keep-alive connections clean when an answer is decided before
 * the request body was read: a 401/403 from auth, a 413 from the body limit (with Content-Length at
 * once, chunked mid-stream), a 415 or 400 from readJson, a 404 of an unknown route.
 *
 * Without it, @hono/node-server answers `Connection: keep-alive` and then, once the response is
 * sent, tries to drain the body; but the reader left attached to it (Readable.toWeb, created as
 * soon as anything, here the body limit, touches `c.req.raw.body`) keeps pausing the stream, so
 * the drain stalls, its 500 ms timeout destroys the socket, and the client's next request on it
 * dies with `socket hang up`. Here, after the answer is decided, the body's readers are detached
 * and the remainder discarded; if it is already here or small, the connection is kept, else the
 * answer says `Connection: close` and the socket is closed cleanly once it has been sent.
 *
 * It assumes what holds for every route here: once a handler has returned its Response, nothing
 * reads the request body any more.
 *
 * Only the node server has a socket: under `app.request()` (tests) or HTTP/2 this does nothing.
 * Mount it before any middleware that may answer early.
 */
export function unreadBody(): MiddlewareHandler {
  return async function unreadBodyMiddleware(c, next) {
    await next();
    const incoming = (c.env as Partial<HttpBindings> | undefined)?.incoming;
    if (!(incoming instanceof IncomingMessage) || incoming.readableEnded || incoming.destroyed) return;
    discard(incoming);
    // The parser has seen the whole message: nothing of it is left on the wire, so the connection
    // is as good as after a read body.
    if (incoming.complete) return;
    const declared = contentLength(incoming);
    if (declared !== undefined && declared <= DRAIN_MAX_BYTES && (await ended(incoming, DRAIN_TIMEOUT_MS))) return;
    closeAfterAnswer(c.res, (res) => {
      c.res = res;
    });
    lingerOnClose(incoming);
  };
}

/**
 * Detach whatever reads the body and let it flow into nothing, as Node's own IncomingMessage
 * dump does: with no 'data' listener left to pause it, bytes keep coming off the socket, so the
 * parser reaches the end of this request instead of stalling in it.
 */
function discard(incoming: IncomingMessage): void {
  incoming.removeAllListeners('data');
  incoming.resume();
}

function contentLength(incoming: IncomingMessage): number | undefined {
  if (incoming.headers['transfer-encoding'] !== undefined) return undefined;
  const v = incoming.headers['content-length'];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** True once the body has been read to its end, false if it fails or `ms` pass first. */
function ended(incoming: IncomingMessage, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => () => {
      clearTimeout(timer);
      incoming.off('end', onEnd).off('error', onFail).off('close', onClose);
      resolve(ok);
    };
    const onEnd = done(true);
    const onFail = done(false);
    const onClose = () => done(incoming.readableEnded)();
    const timer = setTimeout(onFail, ms);
    incoming.once('end', onEnd).once('error', onFail).once('close', onClose);
    if (incoming.readableEnded) onEnd();
  });
}

/**
 * `Connection: close` on the answer: Node then ends the socket once the response is sent (and
 * @hono/node-server copies the header through), and the client will not send another request on
 * it. Hono's own middlewares set headers on `c.res` in place; a response with immutable headers
 * is copied first.
 */
function closeAfterAnswer(res: Response, replace: (res: Response) => void): void {
  try {
    res.headers.set('connection', 'close');
  } catch {
    const copy = new Response(res.body, res);
    copy.headers.set('connection', 'close');
    replace(copy);
  }
}

const lingering = new WeakSet<Socket>();

/**
 * Make the socket's close a lingering one. Node ends a `Connection: close` response's socket with
 * `destroySoon()` (and @hono/node-server's drain timeout calls the same): end our side, then
 * destroy once the write is done, body bytes still arriving or not. Here the destroy waits for the
 * client to close its side (it has read the whole answer by then), or for the linger limits.
 */
function lingerOnClose(incoming: IncomingMessage): void {
  const socket = incoming.socket as Socket | null;
  if (!socket || socket.destroyed || lingering.has(socket)) return;
  lingering.add(socket);
  let bytes = 0;
  let started = false;
  const stop = () => {
    clearTimeout(timer);
    socket.destroy();
  };
  let timer: NodeJS.Timeout | undefined;
  // Counted once the answer is out: the cap is on what a client may make us read after it.
  incoming.on('data', (chunk: Buffer) => {
    if (!started) return;
    bytes += chunk.length;
    if (bytes > LINGER_MAX_BYTES) stop();
  });
  socket.destroySoon = function lingeringClose() {
    if (started || socket.destroyed) return;
    started = true;
    // The client has closed its side already: nothing is left to linger for.
    if (socket.readableEnded) return Socket.prototype.destroySoon.call(socket);
    timer = setTimeout(stop, LINGER_MS);
    timer.unref();
    socket.once('end', stop);
    socket.once('close', () => clearTimeout(timer));
    socket.end();
  };
}
