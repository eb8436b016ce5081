/**
 * OTLP/HTTP trace receiver on node:http: `POST /v1/traces` with protobuf or JSON
 * bodies, gzip or deflate or neither, answered in the request's own encoding as
 * the specification asks (200 with an ExportTraceServiceResponse, partial
 * success when spans were refused; 400 with a google.rpc.Status for a body that
 * does not decode; 404, 405, 413, 415; 429 or 503 with Retry-After when the
 * consumer cannot take more, so exporters back off and retry).
 *
 * Bodies are bounded while they arrive, decompressed bytes included (a 64 KiB
 * gzip bomb stops at the limit, not at the end of memory), and a client that
 * sends too slowly is cut off after `requestTimeoutMs`.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { DEFAULT_MAX_REQUEST_BYTES, isBodyIntake, newReceiverCounters, type BodyIntake, type ReceiverCounters, type SpanIntake } from './intake.js';
import { offerBodyTo } from './offer-body.js';
import { RpcCode, encodeExportResponse, encodeRpcStatus, exportResponseJson, rpcStatusJson } from './otlp-wire.js';

/** Options of {@link startOtlpHttpReceiver}. */
export interface OtlpHttpReceiverOptions {
  /** Interface to bind. Default `127.0.0.1` (loopback only: traces can hold prompts and payloads). */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 4318. */
  readonly port?: number;
  /** Largest body, after decompression. Default 64 MiB. */
  readonly maxRequestBytes?: number;
  /** A request whose body has not fully arrived after this long is answered 408 and closed. Default 30 000. */
  readonly requestTimeoutMs?: number;
}

/** A running receiver. */
export interface OtlpHttpReceiver {
  /** `http://127.0.0.1:4318`: what OTEL_EXPORTER_OTLP_ENDPOINT should be set to. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly counters: Readonly<ReceiverCounters>;
  /** Stops accepting connections, lets requests in progress finish, and resolves when closed. */
  close(): Promise<void>;
}

const TRACES_PATH = '/v1/traces';

type BodyEncoding = 'protobuf' | 'json';

/** The body encoding a Content-Type names, or undefined when it is neither OTLP encoding. */
function bodyEncodingOf(contentType: string | undefined): BodyEncoding | undefined {
  if (contentType === undefined) return undefined;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

class RequestTooLarge extends Error {}
/** The body is not in the Content-Encoding it claims. */
class NotDecompressible extends Error {}

/** Starts the receiver; resolves once it listens (rejects with the bind error, e.g. EADDRINUSE). */
export async function startOtlpHttpReceiver(intake: SpanIntake | BodyIntake, options: OtlpHttpReceiverOptions = {}): Promise<OtlpHttpReceiver> {
  const host = options.host ?? '127.0.0.1';
  const maxBytes = options.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  const counters = newReceiverCounters();
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const server = createServer(
    {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 30_000),
      // Node checks the timeouts above only this often (default 30 s): a slow client is cut off near its deadline.
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, requestTimeoutMs / 4)),
      // Exporters keep connections alive between batches; node closes idle ones after 5 s by default.
      keepAliveTimeout: 30_000,
    },
    (req, res) => {
      handle(req, res).catch((error: unknown) => {
        // A fault of ours: answer 500 once, never crash the monitor.
        counters.badRequests++;
        if (!res.headersSent) reply(res, 500, 'json', rpcStatusJson(RpcCode.Internal, `internal error: ${(error as Error).message}`));
      });
    },
  );

  /** Answers a request that cannot be taken, counted and told to the intake. */
  function bad(req: IncomingMessage, res: ServerResponse, status: number, encoding: BodyEncoding, message: string): void {
    counters.badRequests++;
    intake.requestRefused?.(`HTTP ${status}: ${message}`);
    if (status === 400) reply(res, 400, encoding, statusBody(encoding, RpcCode.InvalidArgument, message));
    else refuse(req, res, status, encoding, message);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    counters.requests++;
    const path = (req.url ?? '/').split('?')[0];
    // Errors before the body is known are answered in JSON unless the client named protobuf.
    const encoding = bodyEncodingOf(req.headers['content-type']);
    const answerAs: BodyEncoding = encoding ?? 'json';
    if (path !== TRACES_PATH) {
      return bad(req, res, 404, answerAs, `no such path ${JSON.stringify(path)}: traces go to POST ${TRACES_PATH}`);
    }
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      return bad(req, res, 405, answerAs, `method ${req.method} not allowed: use POST`);
    }
    if (encoding === undefined) {
      return bad(req, res, 415, 'json', `unsupported content type ${JSON.stringify(req.headers['content-type'] ?? '')}: use application/x-protobuf or application/json`);
    }
    const contentEncoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (contentEncoding !== 'identity' && contentEncoding !== 'gzip' && contentEncoding !== 'deflate') {
      return bad(req, res, 415, encoding, `unsupported content encoding ${JSON.stringify(contentEncoding)}: use gzip or none`);
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      return bad(req, res, 413, encoding, `request of ${declared} bytes is over the ${maxBytes}-byte limit`);
    }
    let body: Buffer;
    try {
      body = await readBody(req, contentEncoding, maxBytes);
    } catch (error) {
      if (error instanceof RequestTooLarge) {
        return bad(req, res, 413, encoding, `request is over the ${maxBytes}-byte limit after decompression`);
      }
      if (!(error instanceof NotDecompressible)) {
        // The client went away (or was cut off as too slow): nobody to answer.
        counters.abortedRequests++;
        return;
      }
      return bad(req, res, 400, encoding, `body does not decompress as ${contentEncoding}: ${(error as Error).message}`);
    }
    counters.bytesReceived += body.length;
    const peer = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    const origin = { protocol: 'http', encoding, peer } as const;
    const source = `${peer} POST ${TRACES_PATH}`;
    // A body intake decodes on its own thread: the answer waits for its verdict, so a body that
    // does not decode still gets its 400 and a partial success its counts.
    const verdict = isBodyIntake(intake) ? await intake.offerBody(body, encoding, origin, source) : offerBodyTo(intake, body, origin, source);
    if (verdict.status === 'invalid') return bad(req, res, 400, encoding, verdict.reason);
    if (verdict.status !== 'accepted') {
      counters.throttledRequests++;
      const seconds = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000));
      res.setHeader('Retry-After', String(seconds));
      const busy = verdict.status === 'busy';
      return reply(
        res,
        busy ? 429 : 503,
        encoding,
        statusBody(
          encoding,
          busy ? RpcCode.ResourceExhausted : RpcCode.Unavailable,
          busy ? 'the monitor cannot keep up: retry later' : 'the monitor is shutting down',
          seconds * 1000,
        ),
      );
    }
    return reply(res, 200, encoding, encoding === 'json' ? exportResponseJson(verdict.rejected, verdict.message) : encodeExportResponse(verdict.rejected, verdict.message));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4318, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`,
    host: address.address,
    port: address.port,
    counters,
    close: () => closeServer(server),
  };
}

function statusBody(encoding: BodyEncoding, code: number, message: string, retryAfterMs?: number): Buffer | string {
  return encoding === 'json' ? rpcStatusJson(code, message, retryAfterMs) : encodeRpcStatus(code, message, retryAfterMs);
}

function reply(res: ServerResponse, status: number, encoding: BodyEncoding, body: Buffer | string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', encoding === 'json' ? 'application/json' : 'application/x-protobuf');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

/**
 * Answers an error without reading the body, and closes the connection after it:
 * the client may still be sending a body we will not read (a 100 MB upload to a
 * wrong path must not be drained), and a keep-alive connection with unread bytes
 * cannot carry a next request.
 */
function refuse(req: IncomingMessage, res: ServerResponse, status: number, encoding: BodyEncoding, message: string): void {
  res.setHeader('Connection', 'close');
  reply(res, status, encoding, statusBody(encoding, status === 413 ? RpcCode.ResourceExhausted : RpcCode.InvalidArgument, message));
  // Let the response flush, then drop what the client still sends.
  res.once('finish', () => {
    if (!req.complete) req.socket.destroySoon();
  });
  req.resume();
}

/** Reads the whole body, decompressing as it comes, and fails past `maxBytes` of either side. */
function readBody(req: IncomingMessage, contentEncoding: string, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let compressed = 0;
    let done = false;
    const fail = (error: Error) => {
      if (done) return;
      done = true;
      if (inflater) inflater.destroy();
      // Stop reading the rest of an oversized body; the reply still goes out on this socket.
      req.unpipe();
      req.resume();
      reject(error);
    };
    const inflater: Gunzip | Inflate | undefined =
      contentEncoding === 'gzip' ? createGunzip() : contentEncoding === 'deflate' ? createInflate() : undefined;
    const take = (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) return fail(new RequestTooLarge());
      chunks.push(chunk);
    };
    req.on('aborted', () => fail(new Error('aborted')));
    req.on('error', (error) => fail(error));
    if (inflater) {
      req.on('data', (chunk: Buffer) => {
        compressed += chunk.length;
        if (compressed > maxBytes) fail(new RequestTooLarge());
      });
      inflater.on('data', take);
      inflater.on('error', (error) => fail(new NotDecompressible(error.message)));
      inflater.on('end', () => {
        if (done) return;
        done = true;
        resolve(Buffer.concat(chunks, size));
      });
      req.pipe(inflater);
    } else {
      req.on('data', take);
      req.on('end', () => {
        if (done) return;
        done = true;
        resolve(Buffer.concat(chunks, size));
      });
    }
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Idle keep-alive connections would hold close() open until they time out.
    server.closeIdleConnections();
  });
}
