/**
 * `baton-sdk`: the instrumentation SDK an existing multi-agent app imports.
 * Depends only on @opentelemetry/api (a peer) and ajv; never loads graphology, Ink or React.
 * Plan checks are `baton-sdk/plan`, the file exporter `baton-sdk/export`; the
 * analyzer's errors (bad trace input, bad config) belong to baton-cli.
 */
export { Baton } from './sdk/baton.js';
export type {
  AgentRun,
  BatonMode,
  BatonOptions,
  BatonStats,
  ConsumeOptions,
  PublishEvent,
  ReceiveOptions,
  ReceiveParenting,
  ReceivedHandoff,
  RunAgentOptions,
  SendOptions,
  StateAccess,
  StateResultFacts,
  ValidationSampling,
} from './sdk/baton.js';
export { InMemoryStateStore, StateConflictError, instrumentStore } from './sdk/state-store.js';
export type {
  InstrumentedStateStore,
  StateEntry,
  StateWriteOptions,
  StateWriteResult,
  StoreAccessDefaults,
  VersionedStateStore,
} from './sdk/state-store.js';
export type { PropagationMode } from './sdk/trace-context.js';
export { SchemaRegistry, parseSchemaRef } from './schemas/validators.js';
export type { SchemaCheck } from './schemas/validators.js';
export { ENVELOPE_SCHEMA_DEFAULT_VERSION, ENVELOPE_SCHEMA_ID } from './model/envelope.js';
export type {
  EventMessage,
  HandoffBlock,
  HandoffContext,
  HandoffEnvelope,
  HandoffEnvelopeDraft,
  HandoffEnvelopeV1,
  HandoffEnvelopeV2,
  HandoffMetadata,
  HandoffOutput,
  SchemaRef,
  TraceContextCarrier,
} from './model/envelope.js';
export {
  BatonError,
  EnvelopeInvalidError,
  EnvelopeTooLargeError,
  ExportFileError,
  InstrumentationFaultError,
  SchemaRegistrationError,
  SchemaUnknownError,
} from './model/errors.js';
export type { SchemaIssue } from './model/errors.js';
export { AgentOutcome, BatonOperation, CONVENTIONS_VERSION, ValidationResult } from './model/attributes.js';
