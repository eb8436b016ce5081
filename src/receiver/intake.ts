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
