/* eslint-disable */
/**
 * Generated from src/schemas/handoff-envelope.v*.json by scripts/generate-envelope-types.ts.
 * Do not edit: change the schema and regenerate.
 */

/**
 * What one agent hands to the next: the output, the context that shaped it, metadata, and what tracing needs (the handoff block).
 */
export interface HandoffEnvelopeV1 {
  /**
   * The task this handoff belongs to.
   */
  task_id: string;
  source_agent: string;
  target_agent: string;
  status: 'complete' | 'partial' | 'failed' | 'needs_review' | 'in_progress';
  output: HandoffOutput;
  context: HandoffContext;
  metadata: HandoffMetadata;
  handoff?: HandoffBlock;
  [k: string]: unknown | undefined;
}
export interface HandoffOutput {
  /**
   * A compact summary for the next agent; the full artifact lives elsewhere.
   */
  summary: string;
  /**
   * Pointers (URIs, store keys) to the full artifacts.
   */
  artifacts?: string[];
  confidence?: number;
}
export interface HandoffContext {
  original_goal: string;
  constraints?: string[];
  /**
   * The reasoning that shaped the output. Dropping it is where context loss starts.
   */
  decisions_made?: string[];
  [k: string]: unknown | undefined;
}
export interface HandoffMetadata {
  started_at: string;
  completed_at?: string;
  /**
   * Tokens of context passed to the target agent.
   */
  token_count?: number;
  model?: string;
  [k: string]: unknown | undefined;
}
/**
 * Filled in by Baton's send(): identity, retry and versioning facts, the timeout budget, and W3C trace context.
 */
export interface HandoffBlock {
  id: string;
  /**
   * Id of the envelope schema the sender validated against.
   */
  schema_id?: string;
  /**
   * Version of that schema.
   */
  schema_version: string;
  attempt?: number;
  idempotency_key?: string;
  /**
   * Task epoch the sender acted in.
   */
  epoch?: number;
  /**
   * Version of the state entry the output was written as.
   */
  state_version?: number;
  /**
   * How long the target has to acknowledge.
   */
  timeout_budget_ms?: number;
  sent_at?: string;
  trace_context?: TraceContextCarrier;
}
export interface TraceContextCarrier {
  traceparent?: string;
  tracestate?: string;
}

/**
 * Version 2: the output may carry the sender's reasoning_trace. Otherwise as version 1.
 */
export interface HandoffEnvelopeV2 {
  /**
   * The task this handoff belongs to.
   */
  task_id: string;
  source_agent: string;
  target_agent: string;
  status: 'complete' | 'partial' | 'failed' | 'needs_review' | 'in_progress';
  output: HandoffOutputV2;
  context: HandoffContextV2;
  metadata: HandoffMetadataV2;
  handoff?: HandoffBlockV2;
  [k: string]: unknown | undefined;
}
export interface HandoffOutputV2 {
  /**
   * A compact summary for the next agent; the full artifact lives elsewhere.
   */
  summary: string;
  /**
   * Pointers (URIs, store keys) to the full artifacts.
   */
  artifacts?: string[];
  confidence?: number;
  /**
   * The sender's reasoning, for receivers that want more than the summary.
   */
  reasoning_trace?: string;
}
export interface HandoffContextV2 {
  original_goal: string;
  constraints?: string[];
  /**
   * The reasoning that shaped the output. Dropping it is where context loss starts.
   */
  decisions_made?: string[];
  [k: string]: unknown | undefined;
}
export interface HandoffMetadataV2 {
  started_at: string;
  completed_at?: string;
  /**
   * Tokens of context passed to the target agent.
   */
  token_count?: number;
  model?: string;
  [k: string]: unknown | undefined;
}
/**
 * Filled in by Baton's send(): identity, retry and versioning facts, the timeout budget, and W3C trace context.
 */
export interface HandoffBlockV2 {
  id: string;
  /**
   * Id of the envelope schema the sender validated against.
   */
  schema_id?: string;
  /**
   * Version of that schema.
   */
  schema_version: string;
  attempt?: number;
  idempotency_key?: string;
  /**
   * Task epoch the sender acted in.
   */
  epoch?: number;
  /**
   * Version of the state entry the output was written as.
   */
  state_version?: number;
  /**
   * How long the target has to acknowledge.
   */
  timeout_budget_ms?: number;
  sent_at?: string;
  trace_context?: TraceContextCarrierV2;
}
export interface TraceContextCarrierV2 {
  traceparent?: string;
  tracestate?: string;
}
