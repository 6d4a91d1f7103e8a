/**
 * What node's parser refused (malformed request, head too slow or too large): answered by the edge in
 * its catalogued JSON shape, counted as a client error, never against a Prod.
 */
import type { Duplex } from 'node:stream';
import { DroverError } from '../errors.js';
import type { ClientErrorReason } from './metrics.js';

/** The `clientError` listener of the edge's server; `count` hears the reason of every answer. */
export function clientErrorHandler(count: (reason: ClientErrorReason) => void): (err: NodeJS.ErrnoException, socket: Duplex) => void {
  return (err, socket) => {
    const code = err.code ?? '';
    // A client resetting or vanishing is not a request to answer.
    if (!socket.writable || code === 'ECONNRESET' || code === 'EPIPE') {
      socket.destroy();
      return;
    }
    let status: 400 | 408 | 431 = 400;
    let reason: ClientErrorReason = 'bad_request';
    let e: DroverError;
    if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
      status = 408;
      reason = 'header_timeout';
      e = new DroverError('DROVER_E_REQUEST_TIMEOUT', 'the request head did not arrive in time', { fix: 'send the request line and headers at once; the edge\'s limit is drover edge --header-timeout' });
    } else if (code === 'HPE_HEADER_OVERFLOW') {
      status = 431;
      reason = 'headers_too_large';
      e = new DroverError('DROVER_E_BAD_REQUEST', 'the request headers are too large', { fix: 'send fewer or smaller headers (node\'s limit is 16 KiB)' });
    } else {
      e = new DroverError('DROVER_E_BAD_REQUEST', `malformed HTTP request (${code || err.message})`, { fix: 'send a valid HTTP/1.1 request' });
    }
    count(reason);
    const body = JSON.stringify(e.toBody());
    const text = status === 408 ? 'Request Timeout' : status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
    socket.end(`HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  };
}
