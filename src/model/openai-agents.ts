/**
 * One mapping of the OpenAI Agents SDK's traces and spans (@openai/agents,
 * `Trace.toJSON()` / `Span.toJSON()`) onto OpenTelemetry span names, kinds,
 * attributes and ids, shared by the two ways Baton reads them: the tracing
 * processor (src/integrations/openai-agents/) that turns live SDK spans into
 * OTel spans, and the input encoding (src/ingest/encodings/openai-agents.ts)
 * that reads the SDK's own exported JSON. Both yield the same spans, so one
 * dialect (src/analyze/dialects/openai-agents.ts) reads either.
 *
 * - Names and attributes follow the OTel GenAI agent conventions
 *   (`invoke_agent {agent}`, `execute_tool {tool}`, `chat {model}`,
 *   `invoke_workflow {workflow}`); a handoff is the draft tool-based transfer
 *   (`gen_ai.transfer.*`, `pass_control`), since an SDK handoff is a tool call
 *   that passes control. The span data itself stays under `openai_agents.`.
 * - Ids: an SDK trace id `trace_<32 hex>` is the OTel trace id as is, a span id
 *   `span_<24 hex>` gives its first 16 hex digits; any other id (a custom
 *   `setTracingIdGenerator`) is hashed (FNV-1a), so the same SDK id always gives
 *   the same OTel id, in the processor, the encoding and across files.
 * - Payloads (tool arguments and results, model input and output, custom span
 *   data, error data) are never copied unless `recordPayloads` is set; names,
 *   counts and the agents a handoff asked for always are.
 *
 * Pure and dependency-free: called per span, so no closures or spreads.
 *
 * @see https://openai.github.io/openai-agents-js/guides/tracing/
 * @see https://github.com/open-telemetry/semantic-conventions-genai/blob/main/docs/gen-ai/gen-ai-agent-spans.md
 */
import {
  GEN_AI_AGENT_HANDOFF_SOURCE_NAME,
  GEN_AI_AGENT_HANDOFF_TARGET_NAME,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  GEN_AI_PROVIDER_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_RESPONSE_ID,
  GEN_AI_TOOL_CALL_ARGUMENTS,
  GEN_AI_TOOL_CALL_RESULT,
  GEN_AI_TOOL_NAME,
  GEN_AI_TOOL_TYPE,
  GEN_AI_TRANSFER_MODE,
  GEN_AI_TRANSFER_TARGET_NAME,
  GEN_AI_TRANSFER_TARGET_TYPE,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_WORKFLOW_NAME,
  OPENAI_AGENTS_AGENT_HANDOFFS,
  OPENAI_AGENTS_AGENT_OUTPUT_TYPE,
  OPENAI_AGENTS_AGENT_TOOLS,
  OPENAI_AGENTS_ERROR_MESSAGE,
  OPENAI_AGENTS_GROUP_ID,
  OPENAI_AGENTS_GUARDRAIL_TRIGGERED,
  OPENAI_AGENTS_HANDOFF_FROM_AGENT,
  OPENAI_AGENTS_HANDOFF_REQUESTED_AGENTS,
  OPENAI_AGENTS_HANDOFF_TO_AGENT,
  OPENAI_AGENTS_PARENT_ID,
  OPENAI_AGENTS_SPAN_ID,
  OPENAI_AGENTS_SPAN_TYPE,
  OPENAI_AGENTS_TRACE_ID,
  OPENAI_AGENTS_TURN,
  OPENAI_AGENTS_TURN_AGENT_NAME,
} from './attributes.js';
import type { AttributeValue } from './span-record.js';

/** The span kinds the mapping uses: model calls are CLIENT spans, everything else INTERNAL. */
export type AgentsSpanKind = 'internal' | 'client';

/** An SDK span as OTel sees it. */
export interface AgentsOtelSpan {
  readonly name: string;
  readonly kind: AgentsSpanKind;
  readonly attributes: Record<string, AttributeValue>;
  /** The SDK recorded an error on the span. */
  readonly error: boolean;
  readonly statusMessage: string;
}

/** Options of the mapping. */
export interface AgentsMappingOptions {
  /** Copy tool arguments/results, custom span data and error data (default false: names and counts only). */
  readonly recordPayloads?: boolean;
}

const HEX = /^[0-9a-f]+$/i;
const ALL_ZERO = /^0+$/;

/** FNV-1a over the string's UTF-16 code units, 32 bits, from `seed`. */
function fnv1a32(text: string, seed: number): number {
  let hash = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, '0');
}

/** `hexDigits / 8` independent 32-bit hashes: deterministic, never all zero. */
function hashHex(text: string, hexDigits: number): string {
  let out = '';
  for (let i = 0; i < hexDigits / 8; i++) out += hex8(fnv1a32(text, 0x811c9dc5 ^ Math.imul(i + 1, 0x9e3779b9)));
  return ALL_ZERO.test(out) ? `${out.slice(0, -1)}1` : out;
}

/** The OTel trace id (32 lowercase hex) of an SDK trace id: `trace_<32 hex>` as is, anything else hashed. */
export function otelTraceIdOf(agentsTraceId: string): string {
  if (agentsTraceId.length === 38 && agentsTraceId.startsWith('trace_')) {
    const hex = agentsTraceId.slice(6);
    if (HEX.test(hex) && !ALL_ZERO.test(hex)) return hex.toLowerCase();
  }
  return hashHex(agentsTraceId, 32);
}

/** The OTel span id (16 lowercase hex) of an SDK span id: the first 16 hex digits of `span_<hex>`, anything else hashed. */
export function otelSpanIdOf(agentsSpanId: string): string {
  if (agentsSpanId.length >= 21 && agentsSpanId.startsWith('span_')) {
    const hex = agentsSpanId.slice(5);
    if (HEX.test(hex)) {
      const head = hex.slice(0, 16);
      if (!ALL_ZERO.test(head)) return head.toLowerCase();
    }
  }
  return hashHex(agentsSpanId, 16);
}

/** The span id of the span standing for the trace itself (`invoke_workflow`): derived from the trace id, so every reader agrees on it. */
export function otelWorkflowSpanIdOf(agentsTraceId: string): string {
  return hashHex(`trace:${agentsTraceId}`, 16);
}

/** The SDK's default handoff tool name for an agent (`Billing Agent` → `transfer_to_Billing_Agent`): every character but ASCII letters and digits becomes `_`, as `defaultHandoffToolName` does. */
export function handoffToolNameOf(agent: string): string {
  const name = agent.replace(/[^a-zA-Z0-9]/g, '_');
  return `transfer_to_${name.length > 0 ? name : 'agent'}`;
}

type Json = Record<string, unknown>;

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function finiteOf(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** The strings of an array (other elements dropped), or undefined when it is not one. */
function stringsOf(value: unknown): string[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const out: string[] = [];
  for (let i = 0; i < value.length; i++) if (typeof value[i] === 'string') out.push(value[i] as string);
  return out;
}

function textOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value);
  } catch {
    return undefined;
  }
}

function set(attrs: Record<string, AttributeValue>, key: string, value: AttributeValue | undefined): void {
  if (value !== undefined) attrs[key] = value;
}

/** The agents a "Multiple handoffs requested" error lists (`error.data.requested_agents`). */
export function requestedAgentsOf(error: unknown): string[] | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const data = (error as Json).data;
  if (data === null || typeof data !== 'object') return undefined;
  const agents = stringsOf((data as Json).requested_agents);
  return agents && agents.length > 0 ? agents : undefined;
}

/**
 * The OTel shape of one SDK span: `data` is `span_data` (or `Span.spanData`),
 * `error` the span's `error` (`{message, data}` or null). Unknown span types keep
 * their type as name; nothing here throws on a malformed value.
 */
export function describeAgentsSpan(
  ids: { readonly spanId: string; readonly traceId: string; readonly parentId: string | null | undefined },
  data: unknown,
  error: unknown,
  options: AgentsMappingOptions = {},
): AgentsOtelSpan {
  let d: Json = data !== null && typeof data === 'object' ? (data as Json) : {};
  let type = stringOf(d.type) ?? 'unknown';
  // `toJSON()` writes task and turn spans as custom spans holding the real data (`sdk_span_type`), for the OpenAI backend.
  if (type === 'custom' && d.data !== null && typeof d.data === 'object') {
    const inner = d.data as Json;
    if (inner.sdk_span_type === 'task' || inner.sdk_span_type === 'turn') {
      type = inner.sdk_span_type;
      d = inner;
    }
  }
  const attrs: Record<string, AttributeValue> = {};
  attrs[OPENAI_AGENTS_SPAN_TYPE] = type;
  attrs[OPENAI_AGENTS_SPAN_ID] = ids.spanId;
  attrs[OPENAI_AGENTS_TRACE_ID] = ids.traceId;
  set(attrs, OPENAI_AGENTS_PARENT_ID, stringOf(ids.parentId));
  attrs[GEN_AI_PROVIDER_NAME] = 'openai';
  const payloads = options.recordPayloads === true;
  let name: string = type;
  let kind: AgentsSpanKind = 'internal';
  switch (type) {
    case 'agent': {
      const agent = stringOf(d.name);
      name = agent === undefined ? 'invoke_agent' : `invoke_agent ${agent}`;
      attrs[GEN_AI_OPERATION_NAME] = 'invoke_agent';
      set(attrs, GEN_AI_AGENT_NAME, agent);
      set(attrs, OPENAI_AGENTS_AGENT_HANDOFFS, stringsOf(d.handoffs));
      set(attrs, OPENAI_AGENTS_AGENT_TOOLS, stringsOf(d.tools));
      set(attrs, OPENAI_AGENTS_AGENT_OUTPUT_TYPE, stringOf(d.output_type));
      break;
    }
    case 'handoff': {
      const from = stringOf(d.from_agent);
      const to = stringOf(d.to_agent);
      const tool = to === undefined ? 'transfer' : handoffToolNameOf(to);
      name = `execute_tool ${tool}`;
      attrs[GEN_AI_OPERATION_NAME] = 'execute_tool';
      attrs[GEN_AI_TOOL_NAME] = tool;
      attrs[GEN_AI_TOOL_TYPE] = 'function';
      attrs[GEN_AI_TRANSFER_MODE] = 'pass_control';
      set(attrs, OPENAI_AGENTS_HANDOFF_FROM_AGENT, from);
      set(attrs, OPENAI_AGENTS_HANDOFF_TO_AGENT, to);
      set(attrs, GEN_AI_AGENT_HANDOFF_SOURCE_NAME, from);
      if (to !== undefined) {
        attrs[GEN_AI_TRANSFER_TARGET_NAME] = to;
        attrs[GEN_AI_TRANSFER_TARGET_TYPE] = 'agent';
        attrs[GEN_AI_AGENT_HANDOFF_TARGET_NAME] = to;
      }
      set(attrs, OPENAI_AGENTS_HANDOFF_REQUESTED_AGENTS, requestedAgentsOf(error));
      break;
    }
    case 'function': {
      const tool = stringOf(d.name);
      name = tool === undefined ? 'execute_tool' : `execute_tool ${tool}`;
      attrs[GEN_AI_OPERATION_NAME] = 'execute_tool';
      set(attrs, GEN_AI_TOOL_NAME, tool);
      attrs[GEN_AI_TOOL_TYPE] = 'function';
      if (payloads) {
        set(attrs, GEN_AI_TOOL_CALL_ARGUMENTS, textOf(d.input));
        set(attrs, GEN_AI_TOOL_CALL_RESULT, textOf(d.output));
      }
      break;
    }
    case 'generation': {
      const model = stringOf(d.model);
      name = model === undefined ? 'chat' : `chat ${model}`;
      kind = 'client';
      attrs[GEN_AI_OPERATION_NAME] = 'chat';
      set(attrs, GEN_AI_REQUEST_MODEL, model);
      const usage = d.usage !== null && typeof d.usage === 'object' ? (d.usage as Json) : undefined;
      if (usage) {
        set(attrs, GEN_AI_USAGE_INPUT_TOKENS, finiteOf(usage.input_tokens));
        set(attrs, GEN_AI_USAGE_OUTPUT_TOKENS, finiteOf(usage.output_tokens));
      }
      break;
    }
    case 'response':
      name = 'chat';
      kind = 'client';
      attrs[GEN_AI_OPERATION_NAME] = 'chat';
      set(attrs, GEN_AI_RESPONSE_ID, stringOf(d.response_id));
      break;
    case 'guardrail': {
      const guardrail = stringOf(d.name);
      name = guardrail === undefined ? 'guardrail' : `guardrail ${guardrail}`;
      if (typeof d.triggered === 'boolean') attrs[OPENAI_AGENTS_GUARDRAIL_TRIGGERED] = d.triggered;
      break;
    }
    case 'custom': {
      name = stringOf(d.name) ?? 'custom';
      if (payloads) set(attrs, 'openai_agents.custom.data', textOf(d.data));
      break;
    }
    case 'task': {
      const task = stringOf(d.name);
      name = task === undefined ? 'task' : `task ${task}`;
      break;
    }
    case 'turn': {
      const turn = finiteOf(d.turn);
      const agent = stringOf(d.agent_name);
      name = `turn${turn === undefined ? '' : ` ${turn}`}${agent === undefined ? '' : ` ${agent}`}`;
      set(attrs, OPENAI_AGENTS_TURN, turn);
      set(attrs, OPENAI_AGENTS_TURN_AGENT_NAME, agent);
      break;
    }
    case 'mcp_tools': {
      const server = stringOf(d.server);
      name = server === undefined ? 'mcp_tools' : `mcp_tools ${server}`;
      break;
    }
    default:
      break;
  }
  let statusMessage = '';
  const failed = error !== null && error !== undefined && typeof error === 'object';
  if (failed) {
    statusMessage = stringOf((error as Json).message) ?? 'error';
    attrs[OPENAI_AGENTS_ERROR_MESSAGE] = statusMessage;
    if (payloads) set(attrs, 'openai_agents.error.data', textOf((error as Json).data));
  }
  return { name, kind, attributes: attrs, error: failed, statusMessage };
}

/** The OTel shape of the SDK trace itself (`Trace.toJSON()`): the workflow span its top-level spans belong to. */
export function describeAgentsTrace(traceId: string, workflowName: unknown, groupId: unknown): AgentsOtelSpan {
  const workflow = stringOf(workflowName);
  const attrs: Record<string, AttributeValue> = {};
  attrs[OPENAI_AGENTS_SPAN_TYPE] = 'trace';
  attrs[OPENAI_AGENTS_TRACE_ID] = traceId;
  attrs[GEN_AI_OPERATION_NAME] = 'invoke_workflow';
  attrs[GEN_AI_PROVIDER_NAME] = 'openai';
  set(attrs, GEN_AI_WORKFLOW_NAME, workflow);
  const group = stringOf(groupId);
  // A group ties the traces of one conversation together: the GenAI conversation id.
  set(attrs, OPENAI_AGENTS_GROUP_ID, group);
  set(attrs, GEN_AI_CONVERSATION_ID, group);
  return { name: workflow === undefined ? 'invoke_workflow' : `invoke_workflow ${workflow}`, kind: 'internal', attributes: attrs, error: false, statusMessage: '' };
}
