import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { LINGER_MAX_BYTES, LINGER_MS } from './unread-body.ts';

const TITLES: Record<number, string> = { 400: 'Bad Request', 413: 'Content Too Large', 431: 'Request Header Fields Too Large' };

/** Node's HTTP parser error codes and the answer each deserves. */
function statusFor(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413;
  return 400;
}

/**
 * Requests Node's own parser refuses (a header section over 16 KiB, a raw non-ASCII byte in the
 * URL, a malformed request line) never reach Hono. By default Node writes a bare 400/431 with no
 * body and destroys the socket at once, so a client still sending its request sees ECONNRESET
 * instead of the answer. Here they get a problem+json answer like every other 4xx, and the socket
 * closes the lingering way (see unread-body.ts): our side ends, whatever the client still sends
 * is read and dropped until it closes its side or the linger limits pass.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already on its way (headers sent) cannot be replaced, and a reset or timed-out
    // socket has nobody to read an answer.
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (err.code === 'ECONNRESET' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT' || !socket.writable || inFlight) {
      socket.destroy();
      return;
    }
    const status = statusFor(err.code);
    const body = JSON.stringify({
      type: 'about:blank',
      title: TITLES[status],
      status,
      detail: status === 431 ? 'the request header section is too large' : 'the request could not be parsed as HTTP/1.1',
    });
    let read = 0;
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.on('data', (chunk: Buffer) => {
      read += chunk.length;
      if (read > LINGER_MAX_BYTES) socket.destroy();
    });
    socket.once('end', () => socket.destroy());
    socket.once('close', () => clearTimeout(timer));
    socket.end(
      `HTTP/1.1 ${status} ${TITLES[status]}\r\ncontent-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
    socket.resume();
  });
}
