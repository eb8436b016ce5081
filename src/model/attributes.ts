/**
 * Every span attribute name Baton writes or reads, in one place.
 *
 * Names come from the OpenTelemetry semantic conventions where they cover the
 * ground (GenAI agent spans, messaging, database); only what none of them
 * covers gets a `baton.` name. docs/conventions.md documents each one: who
 * writes it, its type and an example. Bump CONVENTIONS_VERSION whenever a
 * name or a meaning changes, so readers can tell which format they hold.
 *
 * @see https://opentelemetry.io/docs/specs/semconv/gen-ai/gen-ai-agent-spans/
 * @see https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/
 * @see https://opentelemetry.io/docs/specs/semconv/database/database-spans/
 */

/** Version of the attribute conventions in this file; written on every Baton span. */
export const CONVENTIONS_VERSION = '1';

/** Instrumentation scope name of every tracer and meter Baton creates. */
export const INSTRUMENTATION_SCOPE = 'baton';

// OpenTelemetry GenAI semantic conventions.
export const GEN_AI_OPERATION_NAME = 'gen_ai.operation.name';
export const GEN_AI_AGENT_NAME = 'gen_ai.agent.name';
export const GEN_AI_AGENT_ID = 'gen_ai.agent.id';
export const GEN_AI_CONVERSATION_ID = 'gen_ai.conversation.id';
export const GEN_AI_REQUEST_MODEL = 'gen_ai.request.model';
export const GEN_AI_USAGE_INPUT_TOKENS = 'gen_ai.usage.input_tokens';
export const GEN_AI_USAGE_OUTPUT_TOKENS = 'gen_ai.usage.output_tokens';
export const GEN_AI_PROVIDER_NAME = 'gen_ai.provider.name';
export const GEN_AI_TOOL_NAME = 'gen_ai.tool.name';
export const GEN_AI_TOOL_TYPE = 'gen_ai.tool.type';
/** Tool call arguments (opt-in; a JSON string, or a key-value list that ingest turns into one). */
export const GEN_AI_TOOL_CALL_ARGUMENTS = 'gen_ai.tool.call.arguments';
export const GEN_AI_WORKFLOW_NAME = 'gen_ai.workflow.name';
/** Pre-1.27 names of the usage counts, still written by older instrumentations. */
export const GEN_AI_USAGE_PROMPT_TOKENS = 'gen_ai.usage.prompt_tokens';
export const GEN_AI_USAGE_COMPLETION_TOKENS = 'gen_ai.usage.completion_tokens';
// Drafts of agent-to-agent interactions (semantic-conventions-genai, development):
// the tool-based transfer refinement of `execute_tool` (gen_ai.execute_tool.transfer.internal)…
export const GEN_AI_TRANSFER_MODE = 'gen_ai.transfer.mode';
export const GEN_AI_TRANSFER_TARGET_NAME = 'gen_ai.transfer.target.name';
export const GEN_AI_TRANSFER_TARGET_ID = 'gen_ai.transfer.target.id';
export const GEN_AI_TRANSFER_TARGET_TYPE = 'gen_ai.transfer.target.type';
// …the caller-aware refinement of the `invoke_agent` CLIENT span (gen_ai.invoke_agent.caller.client)…
export const GEN_AI_CALLER_NAME = 'gen_ai.caller.name';
export const GEN_AI_CALLER_TYPE = 'gen_ai.caller.type';
// …and a competing proposal naming both ends of a handoff.
export const GEN_AI_AGENT_HANDOFF_SOURCE_NAME = 'gen_ai.agent.handoff.source.name';
export const GEN_AI_AGENT_HANDOFF_TARGET_NAME = 'gen_ai.agent.handoff.target.name';
export const ERROR_TYPE = 'error.type';

// OpenTelemetry messaging semantic conventions (event publish / consume).
export const MESSAGING_SYSTEM = 'messaging.system';
export const MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
export const MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const MESSAGING_MESSAGE_BODY_SIZE = 'messaging.message.body.size';
/** Messages one receive returned (a Redis XREADGROUP reply); written by the store adapters. */
export const MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';

// OpenTelemetry database semantic conventions (state store access).
export const DB_SYSTEM_NAME = 'db.system.name';
export const DB_OPERATION_NAME = 'db.operation.name';
export const DB_COLLECTION_NAME = 'db.collection.name';
export const DB_NAMESPACE = 'db.namespace';

// Baton's own: only what the conventions above do not cover.
export const BATON_CONVENTIONS_VERSION = 'baton.conventions.version';
/** Which Baton operation a span records; values in {@link BatonOperation}. */
export const BATON_OPERATION = 'baton.operation';
export const BATON_TASK_ID = 'baton.task.id';
export const BATON_HANDOFF_ID = 'baton.handoff.id';
export const BATON_HANDOFF_SOURCE_AGENT = 'baton.handoff.source_agent';
export const BATON_HANDOFF_TARGET_AGENT = 'baton.handoff.target_agent';
export const BATON_HANDOFF_STATUS = 'baton.handoff.status';
export const BATON_HANDOFF_SENT_AT = 'baton.handoff.sent_at';
export const BATON_ATTEMPT = 'baton.attempt';
export const BATON_IDEMPOTENCY_KEY = 'baton.idempotency_key';
export const BATON_STEP = 'baton.step';
export const BATON_EPOCH = 'baton.epoch';
export const BATON_TIMEOUT_BUDGET_MS = 'baton.timeout_budget_ms';
export const BATON_ACK_DELAY_MS = 'baton.ack.delay_ms';
export const BATON_ACK_WITHIN_BUDGET = 'baton.ack.within_budget';
/** True on a receive or ack span whose sent_at is later than the receive by the receiver's clock: the clocks disagree. */
export const BATON_CLOCK_SKEW_SUSPECTED = 'baton.clock_skew_suspected';
export const BATON_ENVELOPE_SCHEMA_ID = 'baton.envelope.schema_id';
export const BATON_ENVELOPE_SCHEMA_VERSION = 'baton.envelope.schema_version';
export const BATON_ENVELOPE_SENDER_SCHEMA_VERSION = 'baton.envelope.sender_schema_version';
export const BATON_ENVELOPE_SIZE_BYTES = 'baton.envelope.size_bytes';
export const BATON_ENVELOPE_BODY = 'baton.envelope.body';
export const BATON_VALIDATION_RESULT = 'baton.validation.result';
export const BATON_VALIDATION_ERROR_PATH = 'baton.validation.error_path';
export const BATON_VALIDATION_ERROR_KEYWORD = 'baton.validation.error_keyword';
export const BATON_VALIDATION_ERROR_COUNT = 'baton.validation.error_count';
export const BATON_VALIDATION_DURATION_MS = 'baton.validation.duration_ms';
export const BATON_CONTEXT_TOKEN_COUNT = 'baton.context.token_count';
export const BATON_CONTEXT_SIZE_BYTES = 'baton.context.size_bytes';
export const BATON_CONTEXT_DECISIONS_COUNT = 'baton.context.decisions_count';
export const BATON_CONTEXT_CONSTRAINTS_COUNT = 'baton.context.constraints_count';
export const BATON_CONTEXT_MISSING_FIELDS = 'baton.context.missing_fields';
export const BATON_STATE_KEY = 'baton.state.key';
export const BATON_STATE_VERSION_READ = 'baton.state.version_read';
export const BATON_STATE_VERSION_WRITTEN = 'baton.state.version_written';
export const BATON_STATE_VERSION_EXPECTED = 'baton.state.version_expected';
export const BATON_STATE_FOUND = 'baton.state.found';
/** True on a write the store recognised as a repeat (same idempotency key) and committed nothing for. */
export const BATON_STATE_DEDUPLICATED = 'baton.state.deduplicated';
export const BATON_EVENT_EXPECTED_TOPIC = 'baton.event.expected_topic';
export const BATON_AGENT_DEPENDS_ON = 'baton.agent.depends_on';
export const BATON_AGENT_OUTCOME = 'baton.agent.outcome';
export const BATON_FAULT_COUNT = 'baton.fault.count';

/** Values of `baton.operation`: the kind of handoff part a span records. */
export const BatonOperation = {
  HandoffSend: 'handoff.send',
  HandoffReceive: 'handoff.receive',
  HandoffAck: 'handoff.ack',
  StateRead: 'state.read',
  StateWrite: 'state.write',
  EventPublish: 'event.publish',
  EventConsume: 'event.consume',
  AgentRun: 'agent.run',
} as const;
export type BatonOperation = (typeof BatonOperation)[keyof typeof BatonOperation];

/** Values of `baton.validation.result`. */
export const ValidationResult = {
  Valid: 'valid',
  Invalid: 'invalid',
  /** Validation could not run: unknown schema version, or an envelope that is not an object. */
  Error: 'error',
} as const;
export type ValidationResult = (typeof ValidationResult)[keyof typeof ValidationResult];

/** Values of `baton.agent.outcome`. */
export const AgentOutcome = {
  Completed: 'completed',
  Failed: 'failed',
  /** Gave up waiting on a dependency: the symptom of a deadlock. */
  Blocked: 'blocked',
} as const;
export type AgentOutcome = (typeof AgentOutcome)[keyof typeof AgentOutcome];

/** Metric instrument names Baton emits through the host's MeterProvider. */
export const METRIC_HANDOFF_LATENCY = 'baton.handoff.latency';
export const METRIC_HANDOFFS = 'baton.handoffs';
export const METRIC_VALIDATION_FAILURES = 'baton.validation.failures';
export const METRIC_ACK_TIMEOUTS = 'baton.ack.timeouts';
export const METRIC_INSTRUMENTATION_FAULTS = 'baton.instrumentation.faults';
/** Negative sent_at → receive latencies (clock skew), recorded as 0 in METRIC_HANDOFF_LATENCY and counted here. */
export const METRIC_CLOCK_SKEW_SAMPLES = 'baton.clock_skew.samples';
