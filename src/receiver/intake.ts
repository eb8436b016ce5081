/**
 * The seam between the OTLP receivers and whatever consumes their spans (the
 * live session of `baton watch`, a test, a bench): one small interface, so the
 * HTTP and gRPC servers share one meaning of "accepted", "rejected" and "busy"
 * and answer exporters the way the OTLP specification asks.
 * Spec: https://opentelemetry.io/docs/specs/otlp/#otlphttp-response
 */
import type { SpanRecord } from '../model/span-record.js';

/** Which receiver a request came through, and how its body was encoded. */
export interface RequestOrigin {
  readonly protocol: 'http' | 'grpc';
  readonly encoding: 'protobuf' | 'json';
  /** The peer, `127.0.0.1:53122`: for messages, never for analysis. */
  readonly peer: string;
}

/** What the consumer did with one request's spans. */
export type IntakeResult =
  | {
      readonly status: 'accepted';
      /** Spans refused for good (the exporter must not retry them): reported as partial success. */
      readonly rejected: number;
      /** Why, when some were refused: one line for the exporter's log. */
      readonly message?: string;
    }
  | {
      /**
       * Nothing was taken: the consumer cannot keep up (`busy`: 429 / RESOURCE_EXHAUSTED)
       * or is shutting down (`unavailable`: 503 / UNAVAILABLE). The exporter retries
       * after `retryAfterMs`.
       */
      readonly status: 'busy' | 'unavailable';
      readonly retryAfterMs: number;
    };

/** Takes decoded spans from a receiver. Must not throw; must answer at once (receivers never wait on it). */
export interface SpanIntake {
  offer(spans: SpanRecord[], origin: RequestOrigin): IntakeResult;
  /** Told of spans a receiver refused itself (invalid ids or times), so every span is counted somewhere. */
  spansRefused?(spans: number, reason: string, origin: RequestOrigin): void;
  /** Told of a request that could not be read at all (bad body, over the limit, wrong type). */
  requestRefused?(reason: string): void;
}

/**
 * What became of one request body, decided by whoever decodes it: the answer a
 * receiver sends, in either protocol.
 */
export type BodyVerdict =
  | {
      readonly status: 'accepted';
      /** Spans in the request. */
      readonly spans: number;
      /** Spans refused for good (invalid ids or times, or refused by the intake): reported as partial success. */
      readonly rejected: number;
      /** The partial-success message (`2 of 512 spans refused: …`), or '' when nothing was refused. */
      readonly message: string;
    }
  | {
      /** The body does not decode as an OTLP trace request: 400 / INVALID_ARGUMENT, not retryable. */
      readonly status: 'invalid';
      readonly reason: string;
    }
  | {
      readonly status: 'busy' | 'unavailable';
      readonly retryAfterMs: number;
    };

/**
 * Takes request bodies still encoded, and decodes them itself (the live session's
 * analysis worker, off the receiving thread). The receiver answers once the
 * verdict comes, so a malformed body still gets its 400 / INVALID_ARGUMENT and a
 * partial success its counts. Must not reject.
 */
export interface BodyIntake {
  /**
   * `body` may be taken over (its memory transferred to another thread): the receiver
   * must not read it after the call. `source` names the request in messages.
   */
  offerBody(body: Buffer, encoding: RequestOrigin['encoding'], origin: RequestOrigin, source: string): Promise<BodyVerdict>;
  /** Told of a request that could not be read at all (bad body, over the limit, wrong type). */
  requestRefused?(reason: string): void;
}

/** True when `intake` decodes bodies itself. */
export function isBodyIntake(intake: SpanIntake | BodyIntake): intake is BodyIntake {
  return typeof (intake as Partial<BodyIntake>).offerBody === 'function';
}

/** What a receiver counts about the requests it saw (spans are counted by the intake). */
export interface ReceiverCounters {
  requests: number;
  /** Requests answered 4xx / INVALID_ARGUMENT etc.: malformed, too large, wrong type. */
  badRequests: number;
  /** Requests refused with retry (overload or shutdown). */
  throttledRequests: number;
  /** Requests that ended before their body did (client went away, or too slow). */
  abortedRequests: number;
  /** Body bytes read, after decompression. */
  bytesReceived: number;
}

/** Fresh counters. */
export function newReceiverCounters(): ReceiverCounters {
  return { requests: 0, badRequests: 0, throttledRequests: 0, abortedRequests: 0, bytesReceived: 0 };
}

/** OTLP's recommended largest request, after decompression: 64 MiB. */
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024;
