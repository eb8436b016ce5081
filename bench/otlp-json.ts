/**
 * OTLP/JSON span shapes and attribute builders for the benchmark's generated
 * trace files (bench/generate-shapes.ts, bench/framework-shapes.ts): spans are
 * written straight as the JSON the Collector's file exporter and the JS exporter
 * produce, without the SDK, so a million spans take seconds.
 */

export type OtlpValue =
  | { stringValue: string }
  | { intValue: number }
  | { boolValue: boolean }
  | { doubleValue: number }
  | { arrayValue: { values: OtlpValue[] } };

export interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}

export interface OtlpLink {
  traceId: string;
  spanId: string;
  attributes: OtlpAttribute[];
  droppedAttributesCount: number;
  flags: number;
}

export interface OtlpEvent {
  timeUnixNano: string;
  name: string;
  attributes: OtlpAttribute[];
  droppedAttributesCount: number;
}

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: OtlpAttribute[];
  droppedAttributesCount: number;
  events: OtlpEvent[];
  droppedEventsCount: number;
  status: { code: number; message?: string };
  links: OtlpLink[];
  droppedLinksCount: number;
  flags: number;
}

export interface OtlpScope {
  name: string;
  version?: string;
}

export const KIND_INTERNAL = 1;
export const KIND_SERVER = 2;
export const KIND_CLIENT = 3;
export const KIND_PRODUCER = 4;
export const KIND_CONSUMER = 5;

export const str = (key: string, stringValue: string): OtlpAttribute => ({ key, value: { stringValue } });
export const int = (key: string, intValue: number): OtlpAttribute => ({ key, value: { intValue } });
export const dbl = (key: string, doubleValue: number): OtlpAttribute => ({ key, value: { doubleValue } });
export const bool = (key: string, boolValue: boolean): OtlpAttribute => ({ key, value: { boolValue } });
export const strs = (key: string, values: readonly string[]): OtlpAttribute => ({
  key,
  value: { arrayValue: { values: values.map((stringValue) => ({ stringValue })) } },
});
