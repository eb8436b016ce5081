/**
 * The handoff envelope types. The structural types are generated from the JSON
 * Schemas (see envelope.generated.ts); this file names the ones the SDK speaks.
 */
import type { HandoffBlock, HandoffEnvelopeV1, HandoffEnvelopeV2, TraceContextCarrier } from './envelope.generated.js';

export type {
  HandoffBlock,
  HandoffContext,
  HandoffEnvelopeV1,
  HandoffEnvelopeV2,
  HandoffMetadata,
  HandoffOutput,
  TraceContextCarrier,
} from './envelope.generated.js';

/** Any version of Baton's envelope. */
export type HandoffEnvelope = HandoffEnvelopeV1 | HandoffEnvelopeV2;

/** What `send()` takes: an envelope whose handoff block Baton fills in. */
export type HandoffEnvelopeDraft = Omit<HandoffEnvelope, 'handoff'> & { handoff?: Partial<HandoffBlock> };

/** Id of Baton's own envelope schema in the schema registry. */
export const ENVELOPE_SCHEMA_ID = 'baton.handoff-envelope';
/** The envelope schema version Baton uses unless told otherwise. */
export const ENVELOPE_SCHEMA_DEFAULT_VERSION = '1';

/** A schema named by id and version, or as the string `id@version`. */
export type SchemaRef = string | { readonly id: string; readonly version: string };

/** An event as it travels on the bus, carrying trace context like an envelope. */
export interface EventMessage {
  readonly id: string;
  readonly topic: string;
  readonly task_id?: string;
  /** The state key the event announces, if it announces a write. */
  readonly key?: string;
  readonly state_version?: number;
  readonly payload?: unknown;
  readonly trace_context?: TraceContextCarrier;
}
