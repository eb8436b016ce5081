/**
 * The `otel-genai` dialect: spans following the OpenTelemetry GenAI agent
 * conventions (`invoke_agent {gen_ai.agent.name}`, `execute_tool
 * {gen_ai.tool.name}`, `invoke_workflow {gen_ai.workflow.name}`,
 * `create_agent`). docs/conventions.md ("Reading other vocabularies") lists
 * every attribute read and every inference made.
 *
 * - Agent runs come from `invoke_agent` spans (INTERNAL in-process, CLIENT for
 *   a remote agent). A CLIENT span whose server-side `invoke_agent` of the same
 *   agent is in the data is counted once, at the server side.
 * - Handoffs are transfers, read in this order: the draft transfer attributes
 *   on an `execute_tool` span (`gen_ai.transfer.*`, or the competing
 *   `gen_ai.agent.handoff.*`); a transfer tool's name (`transfer_to_<agent>`,
 *   `handoff_to_<agent>`, or `transfer_to_agent` with the target in the
 *   arguments); an `invoke_agent` nested under another agent's `execute_tool`
 *   (delegation that returns to the caller); a remote `invoke_agent` CLIENT span
 *   naming its `gen_ai.caller.name`. Sequential runs with no transfer between
 *   them are not handoffs: nothing is inferred from order alone.
 * - The source is the agent of the nearest enclosing `invoke_agent`; arrival is
 *   the nested run, else the target's earliest run starting at or after the
 *   transfer. Transfers from one source run to one target that land in the same
 *   run are one handoff attempted several times (a retried tool call), and so is
 *   a failed call followed by another call of the same tool to the same target.
 * - Python frameworks write arguments and names their own way: Google ADK's
 *   `gcp.vertex.agent.tool_call_args` (and, with content capture off, the target
 *   run ADK starts right after the tool under the same span), Strands' span
 *   events, Pydantic AI v2's `agent run` / `running tool` / `tool_arguments`.
 * - A Strands Graph (`invoke_graph`) runs each node's agent under it and gives a
 *   node the outputs of the dependencies whose edges it traversed as its input
 *   (`Graph._build_node_input`: `Inputs from previous nodes:`, then `From {node_id}:`
 *   per dependency), which Strands records on the node's `invoke_agent` (the
 *   `gen_ai.user.message` event, or the latest conventions' operation-details event):
 *   each dependency named there is an edge taken, a handoff from that node's latest
 *   run under the same graph that ended before this one started (`pass_control`,
 *   inferred, arriving at this run). A node id that is no agent's name (`add_node(agent,
 *   "research")`) is matched by what its run answered: the `  - Agent: {result}` block
 *   after `From {node_id}:` is `str(AgentResult)`, which Strands also writes as the
 *   run's answer (`gen_ai.choice` `message`, or `gen_ai.output.messages`). A nested
 *   swarm or graph is one node: its input is on its own span, its entry its first run.
 *   A node that recorded no messages at all (its events were lost) is read from the graph's
 *   batches: after a batch that was one agent run, a handoff from it (only an edge from the
 *   batch just completed makes a node ready); after several, not observable (--explain says so).
 * - A Mastra workflow (`@mastra/otel-exporter`: `workflow_step`, `parallel`, `conditional`, `loop`
 *   spans under `invoke_workflow`) hands each agent step the work of the agent steps before it:
 *   mastra-workflows.ts reads those edges (`pass_control`, inferred). An agent run such a step
 *   was handed is no delegation of the tool the workflow runs in (a workflow used as a tool).
 * - A transfer to an agent that never ran, whose call failed or reported an error
 *   (or whose sender's run failed), was refused: an undelivered handoff.
 * - Chat, completion and other model spans are left unclaimed: they carry no
 *   handoff, and structure is read through the context, which sees every span.
 *
 * Linear in the group's spans but for one sort of the runs and a binary search
 * per transfer; every walk up a parent chain is memoized and cycle-safe.
 *
 * @see https://github.com/open-telemetry/semantic-conventions-genai/blob/main/docs/gen-ai/gen-ai-agent-spans.md
 * @see https://github.com/open-telemetry/semantic-conventions-genai/blob/main/docs/gen-ai/non-normative/examples-agent-interactions.md
 */
import {
  ERROR_TYPE,
  GCP_VERTEX_AGENT_TOOL_CALL_ARGS,
  GEN_AI_AGENT_HANDOFF_SOURCE_NAME,
  GEN_AI_AGENT_HANDOFF_TARGET_NAME,
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_CALLER_NAME,
  GEN_AI_CALLER_TYPE,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_INPUT_MESSAGES,
  GEN_AI_OPERATION_DETAILS_EVENT,
  GEN_AI_OPERATION_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_TOOL_CALL_ARGUMENTS,
  GEN_AI_TOOL_MESSAGE_EVENT,
  GEN_AI_USER_MESSAGE_EVENT,
  GEN_AI_CHOICE_EVENT,
  GEN_AI_OUTPUT_MESSAGES,
  GEN_AI_TOOL_NAME,
  GEN_AI_TOOL_STATUS,
  GEN_AI_TRANSFER_MODE,
  GEN_AI_TRANSFER_TARGET_ID,
  GEN_AI_TRANSFER_TARGET_NAME,
  GEN_AI_TRANSFER_TARGET_TYPE,
  GEN_AI_USAGE_COMPLETION_TOKENS,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  GEN_AI_USAGE_PROMPT_TOKENS,
  GEN_AI_WORKFLOW_NAME,
  MASTRA_SPAN_TYPE,
  MASTRA_WORKFLOW_STEP_ID,
  PYDANTIC_AI_AGENT_NAME,
  PYDANTIC_AI_TOOL_ARGUMENTS,
} from '../../model/attributes.js';
import type { TransferMode } from '../../model/handoff-model.js';
import { SpanKindNumber, StatusCodeNumber, type AttributeValue, type SpanRecord } from '../../model/span-record.js';
import { parseJsonText, put, readName, readNumber, type Attributes } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { isMastraWorkflowSpan, readMastraWorkflows } from './mastra-workflows.js';
import { NearestAncestor } from './nearest-ancestor.js';
import { compareByStart, partitionPoint } from '../span-index.js';
import { upperBound } from '../state-index.js';

const INVOKE_AGENT = 'invoke_agent';
const EXECUTE_TOOL = 'execute_tool';
const INVOKE_WORKFLOW = 'invoke_workflow';
const CREATE_AGENT = 'create_agent';

/** Strands' multi-agent spans (`start_multiagent_span`: `invoke_{swarm,graph}`, CLIENT): containers, claimed to say what they hide. */
const INVOKE_SWARM = 'invoke_swarm';
const INVOKE_GRAPH = 'invoke_graph';
/** Google ADK's span for the merged response of parallel tool calls (`trace_merged_tool_calls`). */
const ADK_MERGED_TOOLS = '(merged tools)';
/** Strands' `Graph._build_node_input`: the block that opens a node's dependencies, each then a `\nFrom {node_id}:` block. */
const GRAPH_INPUTS_MARKER = 'Inputs from previous nodes:';
/** Longest input message parsed for a graph node's dependencies. */
const MAX_NODE_INPUT_CHARS = 1 << 22;

/** The text blocks of an input message: Strands' content blocks (`[{"text": …}]`) or the latest conventions' messages (`[{"parts": [{"type": "text", "content": …}]}]`). */
function textBlocksOf(value: AttributeValue | undefined, out: string[]): void {
  if (typeof value !== 'string' || value.indexOf(GRAPH_INPUTS_MARKER) < 0) return;
  const parsed = parseJsonText(value, MAX_NODE_INPUT_CHARS);
  if (!Array.isArray(parsed)) return;
  for (let i = 0; i < parsed.length; i++) {
    const item = parsed[i] as { text?: unknown; parts?: unknown } | null;
    if (item === null || typeof item !== 'object') continue;
    if (typeof item.text === 'string') out.push(item.text);
    const parts = item.parts;
    if (!Array.isArray(parts)) continue;
    for (let j = 0; j < parts.length; j++) {
      const part = parts[j] as { type?: unknown; content?: unknown } | null;
      if (part !== null && typeof part === 'object' && part.type === 'text' && typeof part.content === 'string') out.push(part.content);
    }
  }
}

/** A dependency a Strands graph node's input names: the node id and the results given under it (`str(AgentResult)` each). */
export interface GraphDependency {
  readonly node: string;
  readonly results: string[];
}

/** The dependencies a Strands graph node's input names (see the file header), or undefined when it names none. */
export function graphDependenciesOf(span: SpanRecord): GraphDependency[] | undefined {
  const blocks: string[] = [];
  textBlocksOf(span.attributes[GEN_AI_INPUT_MESSAGES], blocks);
  const events = span.events;
  for (let i = 0; i < events.length && blocks.length === 0; i++) {
    const event = events[i]!;
    if (event.name === GEN_AI_USER_MESSAGE_EVENT) textBlocksOf(event.attributes.content, blocks);
    else if (event.name === GEN_AI_OPERATION_DETAILS_EVENT) textBlocksOf(event.attributes[GEN_AI_INPUT_MESSAGES], blocks);
  }
  let dependencies: GraphDependency[] | undefined;
  let open = false;
  let current: GraphDependency | undefined;
  for (let i = 0; i < blocks.length; i++) {
    const block = blocks[i]!;
    const text = block.trim();
    if (text === GRAPH_INPUTS_MARKER) open = true;
    else if (open && text.startsWith('From ') && text.endsWith(':') && text.indexOf('\n') < 0) {
      const node = text.slice(5, -1).trim();
      current = undefined;
      if (node.length > 0) (dependencies ??= []).push((current = { node, results: [] }));
    } else if (current && block.startsWith('  - ')) {
      // `  - {agent_name}: {result}`; AgentResult has no agent_name, so it is `Agent`.
      const colon = block.indexOf(': ', 4);
      if (colon > 0) current.results.push(block.slice(colon + 2).trim());
    }
  }
  return dependencies;
}

/** The text parts of GenAI output messages (JSON), joined and trimmed. */
function textOfMessages(value: AttributeValue | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const parsed = parseJsonText(value, MAX_NODE_INPUT_CHARS);
  if (!Array.isArray(parsed)) return undefined;
  let text: string | undefined;
  for (let i = 0; i < parsed.length; i++) {
    const parts = (parsed[i] as { parts?: unknown } | null)?.parts;
    if (!Array.isArray(parts)) continue;
    for (let j = 0; j < parts.length; j++) {
      const part = parts[j] as { type?: unknown; content?: unknown } | null;
      if (part !== null && typeof part === 'object' && part.type === 'text' && typeof part.content === 'string') text = (text ?? '') + part.content;
    }
  }
  return text?.trim();
}

/** What an agent run answered, as Strands records it (`gen_ai.choice` `message`, or the text parts of `gen_ai.output.messages`), trimmed; undefined when not recorded. */
function answerOf(span: SpanRecord): string | undefined {
  const attribute = textOfMessages(span.attributes[GEN_AI_OUTPUT_MESSAGES]);
  if (attribute !== undefined) return attribute;
  const events = span.events;
  for (let i = events.length - 1; i >= 0; i--) {
    const event = events[i]!;
    if (event.name === GEN_AI_CHOICE_EVENT && typeof event.attributes.message === 'string') return event.attributes.message.trim();
    if (event.name === GEN_AI_OPERATION_DETAILS_EVENT) {
      const text = textOfMessages(event.attributes[GEN_AI_OUTPUT_MESSAGES]);
      if (text !== undefined) return text;
    }
  }
  return undefined;
}

/** True when one of the span's operation-details events holds output messages (an agent run's answer). */
function eventHoldsOutput(span: SpanRecord): boolean {
  const events = span.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.name === GEN_AI_OPERATION_DETAILS_EVENT && typeof event.attributes[GEN_AI_OUTPUT_MESSAGES] === 'string') return true;
  }
  return false;
}

/**
 * True when the span records its messages at all: Strands writes a run's input and answer as span
 * events on every span (`gen_ai.user.message`, `gen_ai.choice`, … or the operation-details event),
 * so a node span with none of them lost its events (an SDK keeping none, `OTEL_SPAN_EVENT_COUNT_LIMIT=0`,
 * or a pipeline dropping them); one with some recorded its input, which then named no dependency.
 */
function recordsMessages(span: SpanRecord): boolean {
  if (span.attributes[GEN_AI_INPUT_MESSAGES] !== undefined || span.attributes[GEN_AI_OUTPUT_MESSAGES] !== undefined) return true;
  const events = span.events;
  for (let i = 0; i < events.length; i++) {
    const name = events[i]!.name;
    if (name === GEN_AI_USER_MESSAGE_EVENT || name === GEN_AI_CHOICE_EVENT || name === GEN_AI_OPERATION_DETAILS_EVENT || name === GEN_AI_TOOL_MESSAGE_EVENT) return true;
  }
  return false;
}

/** How a Strands graph's node edges were read, for its `--explain` line. */
interface GraphReading {
  named: number;
  entries: number;
  fromBatch: number;
  unobservable: number;
}

/** The `--explain` reason of an `invoke_graph` span. */
function graphReason(reading: GraphReading | undefined): string {
  const base = `a Strands graph, a container of its nodes' runs; its edges are read from each node's input (${GRAPH_INPUTS_MARKER} From <node>:)`;
  if (reading === undefined) return `${base}: no node ran`;
  const said: string[] = [];
  if (reading.named > 0) said.push(`${reading.named} node run${reading.named === 1 ? '' : 's'} named ${reading.named === 1 ? 'its' : 'their'} inputs`);
  if (reading.entries > 0) said.push(`${reading.entries} entry node run${reading.entries === 1 ? '' : 's'} (the graph's task, no edge)`);
  if (reading.fromBatch > 0) said.push(`${reading.fromBatch} without a recorded input took ${reading.fromBatch === 1 ? 'its edge' : 'their edges'} from the one node of the batch before (inferred: only an edge from that batch makes a node ready)`);
  if (reading.unobservable > 0) said.push(`${reading.unobservable} without a recorded input ran after a batch of several nodes or a nested swarm or graph: which of them fed ${reading.unobservable === 1 ? 'it' : 'them'} is not observable, no edge read`);
  return `${base}: ${said.join('; ')}`;
}

/** True when one of the span's events of this name holds a graph node's dependencies (kept on reduced spans). */
function eventHoldsGraphInput(span: SpanRecord, name: string): boolean {
  const events = span.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    if (event.name !== name) continue;
    const value = name === GEN_AI_USER_MESSAGE_EVENT ? event.attributes.content : event.attributes[GEN_AI_INPUT_MESSAGES];
    if (typeof value === 'string' && value.indexOf(GRAPH_INPUTS_MARKER) >= 0) return true;
  }
  return false;
}
/** The operations this dialect claims. Model calls (`chat`, `text_completion`, `generate_content`, `embeddings`, …) stay unclaimed: timing only. */
const CLAIMED_OPERATIONS: ReadonlySet<string> = new Set([INVOKE_AGENT, EXECUTE_TOOL, INVOKE_WORKFLOW, CREATE_AGENT, INVOKE_SWARM, INVOKE_GRAPH]);

/** Keys of `gen_ai.tool.call.arguments` that name the target of a generic transfer tool, in preference order. */
const TARGET_ARGUMENT_KEYS: readonly string[] = ['agent_name', 'agent', 'target_agent', 'target_agent_name', 'target', 'to_agent', 'to', 'name'];

/** Longest arguments text parsed: the target's name sits near the top of a tool call, not in megabytes of payload. */
const MAX_ARGUMENTS_CHARS = 1 << 20;

/** `transfer_to_x`, `handoff-to-x`, `Transfer To X`: the words separated by anything not a letter or digit. */
const TRANSFER_TOOL_SEPARATED = /^(?:transfer|handoff)[^\p{L}\p{N}]+to[^\p{L}\p{N}]+(.+)$/iu;
/** `transferToX`, `HandoffToX`. */
const TRANSFER_TOOL_CAMEL = /^(?:[Tt]ransfer|[Hh]andoff)To(?=[\p{Lu}\p{N}])(.+)$/u;
const NON_ALPHANUMERIC_RUNS = /[^\p{L}\p{N}]+/gu;
const EDGE_UNDERSCORES = /^_+|_+$/g;
const UNDERSCORES = /_/g;

/** Word `index` (from 0) of a span name: 1 is `transfer_to_x` in `execute_tool transfer_to_x x`. */
function wordOf(name: string, index: number): string | undefined {
  let start = 0;
  for (let i = 0; i < index; i++) {
    const space = name.indexOf(' ', start);
    if (space < 0) return undefined;
    start = space + 1;
  }
  const end = name.indexOf(' ', start);
  const word = end < 0 ? name.slice(start) : name.slice(start, end);
  return word.length > 0 ? word : undefined;
}

const NAMED_OPERATIONS: readonly string[] = [INVOKE_AGENT, EXECUTE_TOOL, INVOKE_WORKFLOW, CREATE_AGENT];

/**
 * Pydantic AI's instrumentation version 2 (its default until 2026) names its spans
 * `agent run` and `running tool`, without `gen_ai.operation.name` before April 2026
 * (pydantic_ai/_instrumentation.py `InstrumentationNames.for_version`).
 */
const PYDANTIC_AI_AGENT_RUN = 'agent run';
const PYDANTIC_AI_RUNNING_TOOL = 'running tool';

/** `gen_ai.operation.name`, else the first word of the span name when it is an agent operation, else Pydantic AI's v2 names (no allocation: run on every span). */
function operationOf(span: SpanRecord): string | undefined {
  const op = readName(span.attributes, GEN_AI_OPERATION_NAME);
  if (op !== undefined) return op;
  const name = span.name;
  if (name === PYDANTIC_AI_AGENT_RUN) return readName(span.attributes, GEN_AI_AGENT_NAME) !== undefined || readName(span.attributes, PYDANTIC_AI_AGENT_NAME) !== undefined ? INVOKE_AGENT : undefined;
  if (name === PYDANTIC_AI_RUNNING_TOOL) return readName(span.attributes, GEN_AI_TOOL_NAME) !== undefined ? EXECUTE_TOOL : undefined;
  for (let i = 0; i < NAMED_OPERATIONS.length; i++) {
    const candidate = NAMED_OPERATIONS[i]!;
    if (name.startsWith(candidate) && (name.length === candidate.length || name.charCodeAt(candidate.length) === 32)) return candidate;
  }
  return undefined;
}

/** A tool span's tool: `gen_ai.tool.name`, else the span name's second word. */
function toolNameOf(span: SpanRecord): string {
  return readName(span.attributes, GEN_AI_TOOL_NAME) ?? wordOf(span.name, 1) ?? span.name;
}

function isAgentSpan(span: SpanRecord): boolean {
  return operationOf(span) === INVOKE_AGENT;
}

function isAgentOrToolSpan(span: SpanRecord): boolean {
  const op = operationOf(span);
  return op === INVOKE_AGENT || op === EXECUTE_TOOL;
}

/**
 * `gen_ai.agent.name`, else the span name's `invoke_agent <name>`, else
 * `gen_ai.agent.id`. A span name that is only the model (`invoke_agent
 * {gen_ai.request.model}`, as the Vercel AI SDK 7 names an agent without a
 * functionId) names no agent.
 */
function agentOf(span: SpanRecord): string | undefined {
  const name = readName(span.attributes, GEN_AI_AGENT_NAME);
  if (name !== undefined) return name;
  if (span.name === PYDANTIC_AI_AGENT_RUN) return readName(span.attributes, PYDANTIC_AI_AGENT_NAME);
  if (span.name.startsWith(INVOKE_AGENT + ' ')) {
    const rest = span.name.slice(INVOKE_AGENT.length + 1).trim();
    if (rest.length > 0 && rest !== readName(span.attributes, GEN_AI_REQUEST_MODEL)) return rest;
  }
  return readName(span.attributes, GEN_AI_AGENT_ID);
}

/**
 * The key agent names are matched by: lowercase, each run of characters that
 * are not letters or digits one `_`, trimmed. `Billing Agent`, `billing-agent`
 * and the `billing_agent` of `transfer_to_billing_agent` are one agent.
 */
export function normalizeAgentName(name: string): string {
  // Every dialect keys agents through this, several times a span, over a few names: the Unicode
  // regex replace is done once per name (3% of an OpenAI Agents audit before). Bounded, as a
  // hostile trace may name a new agent on every span.
  let key = agentKeys.get(name);
  if (key === undefined) {
    key = name.toLowerCase().replace(NON_ALPHANUMERIC_RUNS, '_').replace(EDGE_UNDERSCORES, '');
    if (key.length === 0) key = name;
    if (agentKeys.size >= MAX_CACHED_AGENT_KEYS) agentKeys.clear();
    agentKeys.set(name, key);
  }
  return key;
}

const MAX_CACHED_AGENT_KEYS = 4096;
const agentKeys = new Map<string, string>();

/** The second, looser key: no separators at all (`BillingAgent` and `transfer_to_billingagent`). */
function compactKeyOf(key: string): string {
  return key.replace(UNDERSCORES, '');
}

function readMode(attrs: Attributes): TransferMode | undefined {
  const mode = attrs[GEN_AI_TRANSFER_MODE];
  return mode === 'return_to_caller' || mode === 'pass_control' ? mode : undefined;
}

/** A target name from one argument value: a string, or an object's `name`. */
function nameIn(value: unknown): string | undefined {
  if (typeof value === 'string') {
    const trimmed = value.trim();
    return trimmed.length > 0 ? trimmed : undefined;
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const name = (value as { name?: unknown }).name;
    if (typeof name === 'string' && name.trim().length > 0) return name.trim();
  }
  return undefined;
}

/**
 * The target agent named in `gen_ai.tool.call.arguments` of a generic transfer
 * tool (`transfer_to_agent({"agent_name": "billing"})`). The value is whatever
 * the exporter wrote: JSON text (possibly encoded twice), a number, an array;
 * anything unexpected is no target, never an error.
 */
export function targetFromArguments(value: AttributeValue | unknown): string | undefined {
  let parsed: unknown = value;
  for (let depth = 0; depth < 2 && typeof parsed === 'string'; depth++) {
    const text = parsed.trim();
    if (text.length === 0 || text.length > MAX_ARGUMENTS_CHARS || (text[0] !== '{' && text[0] !== '"')) return undefined;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const args = parsed as Record<string, unknown>;
  for (let i = 0; i < TARGET_ARGUMENT_KEYS.length; i++) {
    const key = TARGET_ARGUMENT_KEYS[i]!;
    if (!Object.prototype.hasOwnProperty.call(args, key)) continue;
    const name = nameIn(args[key]);
    if (name !== undefined) return name;
  }
  return undefined;
}

/**
 * The arguments of the `tool_call` part in GenAI input messages (JSON text: `[{"role":
 * "tool", "parts": [{"type": "tool_call", "name", "id", "arguments": {…}}]}]`), as the
 * latest conventions record a tool's input; undefined when there is none.
 */
function toolCallArgumentsIn(messages: AttributeValue | undefined): unknown {
  if (typeof messages !== 'string' || messages.length > MAX_ARGUMENTS_CHARS || messages.indexOf('tool_call') < 0) return undefined;
  const parsed = parseJsonText(messages, MAX_ARGUMENTS_CHARS);
  if (!Array.isArray(parsed)) return undefined;
  for (let i = 0; i < parsed.length; i++) {
    const parts = (parsed[i] as { parts?: unknown } | null)?.parts;
    if (!Array.isArray(parts)) continue;
    for (let j = 0; j < parts.length; j++) {
      const part = parts[j] as { type?: unknown; arguments?: unknown } | null;
      if (part !== null && typeof part === 'object' && part.type === 'tool_call') return part.arguments;
    }
  }
  return undefined;
}

/** Where a tool call's arguments are read from, in order (for the ignore reason when none names a target). */
const ARGUMENT_SOURCES = `${GEN_AI_TOOL_CALL_ARGUMENTS}, ${GCP_VERTEX_AGENT_TOOL_CALL_ARGS} (Google ADK), ${PYDANTIC_AI_TOOL_ARGUMENTS} (Pydantic AI v2), ${GEN_AI_INPUT_MESSAGES}, the ${GEN_AI_TOOL_MESSAGE_EVENT} or ${GEN_AI_OPERATION_DETAILS_EVENT} event (Strands)`;

/**
 * The target a generic transfer tool's arguments name, wherever the framework wrote
 * them: `gen_ai.tool.call.arguments`; Google ADK's `gcp.vertex.agent.tool_call_args`
 * (ADK writes no GenAI arguments attribute); Pydantic AI v2's `tool_arguments`;
 * `gen_ai.input.messages` (the latest conventions, copied to the span for Langfuse);
 * else the span's events: Strands' `gen_ai.tool.message` (`content`) or the latest
 * conventions' operation-details event (`gen_ai.input.messages`).
 */
export function transferTargetInArguments(span: SpanRecord): string | undefined {
  const attrs = span.attributes;
  const target =
    targetFromArguments(attrs[GEN_AI_TOOL_CALL_ARGUMENTS]) ??
    targetFromArguments(attrs[GCP_VERTEX_AGENT_TOOL_CALL_ARGS]) ??
    targetFromArguments(attrs[PYDANTIC_AI_TOOL_ARGUMENTS]) ??
    targetFromArguments(toolCallArgumentsIn(attrs[GEN_AI_INPUT_MESSAGES]));
  if (target !== undefined) return target;
  const events = span.events;
  for (let i = 0; i < events.length; i++) {
    const event = events[i]!;
    let found: string | undefined;
    if (event.name === GEN_AI_TOOL_MESSAGE_EVENT) found = targetFromArguments(event.attributes.content);
    else if (event.name === GEN_AI_OPERATION_DETAILS_EVENT) found = targetFromArguments(toolCallArgumentsIn(event.attributes[GEN_AI_INPUT_MESSAGES]));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** A generic transfer tool (`transfer_to_agent`): the target is in its arguments. */
export const GENERIC_TRANSFER = Symbol('generic transfer');

/** What a tool name says about a transfer: the target written in it, or GENERIC_TRANSFER for `transfer_to_agent`. */
export function transferTargetOfTool(tool: string): string | typeof GENERIC_TRANSFER | undefined {
  const match = TRANSFER_TOOL_SEPARATED.exec(tool) ?? TRANSFER_TOOL_CAMEL.exec(tool);
  if (!match) return undefined;
  const target = match[1]!.trim();
  return normalizeAgentName(target) === 'agent' ? GENERIC_TRANSFER : target;
}

/** The position of the first of `spans` (in start order) starting at or after `ms`. */
function firstStartingAt(spans: readonly SpanRecord[], ms: number): number {
  return partitionPoint(spans.length, (i) => spans[i]!.startMs < ms);
}

/** Runs sharing a key (an agent's, or an answer), in start order, with their starts for binary search. */
interface RunList {
  readonly runs: Run[];
  readonly starts: number[];
  /** Each run's place among all the runs the lists were made from: comparable across lists. */
  readonly orders: number[];
}

/** `runs` (in start order) grouped by `keyOf`; a run whose key is undefined is left out. */
function runListsBy(runs: readonly Run[], keyOf: (run: Run) => string | undefined): Map<string, RunList> {
  const lists = new Map<string, RunList>();
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i]!;
    const key = keyOf(run);
    if (key === undefined) continue;
    let list = lists.get(key);
    if (!list) lists.set(key, (list = { runs: [], starts: [], orders: [] }));
    list.runs.push(run);
    list.starts.push(run.span.startMs);
    list.orders.push(i);
  }
  return lists;
}

/**
 * The latest run of `list` (in start order) other than `not` that had ended by `atMs`, and its
 * place in the list. Runs that started after `atMs` cannot have, so the scan starts below them.
 */
function latestEndedBy(list: RunList | undefined, atMs: number, not: Run): { readonly run: Run; readonly order: number } | undefined {
  if (!list) return undefined;
  for (let i = upperBound(list.starts, atMs) - 1; i >= 0; i--) {
    const run = list.runs[i]!;
    if (run !== not && run.span.endMs <= atMs) return { run, order: list.orders[i]! };
  }
  return undefined;
}

interface Run {
  readonly span: SpanRecord;
  readonly agent: string;
  readonly key: string;
  readonly compact: string;
  readonly client: boolean;
  readonly taskId: string | undefined;
  /** Set when this is a CLIENT span and the remote agent's own run is in the data (under it). */
  server: Run | undefined;
  /** Set on that server-side run: the CLIENT span it answers. */
  clientOf: Run | undefined;
  /** Counted as an agent run (every run but a CLIENT span with a server side). */
  counted: boolean;
}

function compareSpans(a: { span: SpanRecord }, b: { span: SpanRecord }): number {
  return compareByStart(a.span, b.span);
}

/** Counted runs by name key, each list in start order. */
class RunsByName {
  readonly #byKey = new Map<string, Run[]>();
  readonly #byCompact = new Map<string, Run[]>();

  add(run: Run): void {
    let list = this.#byKey.get(run.key);
    if (!list) this.#byKey.set(run.key, (list = []));
    list.push(run);
    let loose = this.#byCompact.get(run.compact);
    if (!loose) this.#byCompact.set(run.compact, (loose = []));
    loose.push(run);
  }

  /** Runs answering to `key`: exact key first, else the separator-free one. */
  runsOf(key: string): readonly Run[] | undefined {
    return this.#byKey.get(key) ?? this.#byCompact.get(compactKeyOf(key));
  }

  /** The earliest run of `key` starting at or after `startMs` (binary search). */
  firstAtOrAfter(key: string, startMs: number): Run | undefined {
    const runs = this.runsOf(key);
    if (!runs) return undefined;
    const lo = partitionPoint(runs.length, (i) => runs[i]!.span.startMs < startMs);
    return runs[lo];
  }

  /** How the data spells the agent of `name`, if it has a run of it; else `name` itself. */
  canonical(name: string): string {
    const runs = this.runsOf(normalizeAgentName(name));
    return runs && runs.length > 0 ? runs[runs.length - 1]!.agent : name;
  }
}

interface TransferDraft {
  readonly span: SpanRecord;
  readonly source: string;
  /** The source run's span id, else the source's name key: transfers are merged per source run. */
  readonly sourceKey: string;
  readonly target: string;
  readonly targetKey: string;
  readonly mode: TransferMode | undefined;
  readonly inferred: boolean;
  readonly arrival: SpanRecord | undefined;
  readonly taskId: string | undefined;
  /** Why the framework refused the transfer (TransferPart.refusal), if it did. */
  readonly refusal?: string;
}

function runPartOf(run: Run): AgentRunPart {
  const attrs = run.span.attributes;
  const failed = run.span.statusCode === StatusCodeNumber.Error || readName(attrs, ERROR_TYPE) !== undefined;
  const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.span, agent: run.agent, outcome: failed ? 'failed' : 'completed' };
  put(part, 'agentId', readName(attrs, GEN_AI_AGENT_ID));
  put(part, 'taskId', run.taskId);
  put(part, 'inputTokens', readNumber(attrs, GEN_AI_USAGE_INPUT_TOKENS) ?? readNumber(attrs, GEN_AI_USAGE_PROMPT_TOKENS));
  put(part, 'outputTokens', readNumber(attrs, GEN_AI_USAGE_OUTPUT_TOKENS) ?? readNumber(attrs, GEN_AI_USAGE_COMPLETION_TOKENS));
  return part;
}

/** The interpretation of one group's claimed spans; one instance per `interpret` call. */
class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #runs: Run[] = [];
  readonly #runById = new Map<string, Run>();
  readonly #tools: SpanRecord[] = [];
  readonly #toolIds = new Set<string>();
  readonly #counted = new RunsByName();
  /** Counted runs nested directly under an `execute_tool` span (by its id), in start order. */
  readonly #nestedByTool = new Map<string, Run[]>();
  /** Arrivals of transfers read from tool spans: a caller-aware CLIENT span under such a tool adds no second handoff. */
  readonly #coveredArrivals = new Set<string>();
  readonly #drafts: TransferDraft[] = [];
  /** Strands `invoke_graph` span ids. */
  readonly #graphIds = new Set<string>();
  /** Mastra's workflow step and container spans (mastra-workflows.ts). */
  readonly #mastraSteps: SpanRecord[] = [];
  /** Agent runs a Mastra workflow step handed work to: inside a tool call they are the workflow's, not the caller's delegations. */
  readonly #workflowArrivals = new Set<string>();
  /** Strands `invoke_swarm` span ids (a swarm can be a graph's node). */
  readonly #swarmIds = new Set<string>();
  readonly #structural: NearestAncestor;
  readonly #agentAncestor: NearestAncestor;

  constructor(context: DialectContext) {
    this.#context = context;
    this.#structural = new NearestAncestor(context, isAgentOrToolSpan);
    this.#agentAncestor = new NearestAncestor(context, isAgentSpan);
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    this.#classify(spans);
    this.#placeRuns();
    // Before the tools: an agent a workflow step hands work to is no delegation of the tool the workflow runs in.
    if (this.#mastraSteps.length > 0) this.#readMastraWorkflows();
    for (let i = 0; i < this.#tools.length; i++) this.#readTool(this.#tools[i]!);
    for (let i = 0; i < this.#runs.length; i++) this.#readCaller(this.#runs[i]!);
    this.#emitTransfers();
    if (this.#graphIds.size > 0) this.#readGraphEdges();
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      // Pushed after the transfers: a CLIENT span that is both keeps the agent-run role for timing.
      if (run.counted) this.parts.push(runPartOf(run));
    }
    return { parts: this.parts, ignored: this.ignored };
  }

  #ignore(span: SpanRecord, reason: string): void {
    this.ignored.push({ span, reason });
  }

  #classify(spans: readonly SpanRecord[]): void {
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      const op = operationOf(span);
      if (op === INVOKE_AGENT) {
        const agent = agentOf(span);
        if (agent === undefined) {
          this.#ignore(span, `${INVOKE_AGENT} without ${GEN_AI_AGENT_NAME} or ${GEN_AI_AGENT_ID} (a span name that is only the model names no agent): which agent ran is unknown`);
          continue;
        }
        if (this.#runById.has(span.spanId)) continue; // a re-exported copy
        const key = normalizeAgentName(agent);
        const run: Run = {
          span,
          agent,
          key,
          compact: compactKeyOf(key),
          client: span.kind === SpanKindNumber.Client,
          taskId: readName(span.attributes, GEN_AI_CONVERSATION_ID),
          server: undefined,
          clientOf: undefined,
          counted: true,
        };
        this.#runs.push(run);
        this.#runById.set(span.spanId, run);
      } else if (op === EXECUTE_TOOL) {
        if (this.#toolIds.has(span.spanId)) continue;
        this.#toolIds.add(span.spanId);
        this.#tools.push(span);
      } else if (op === INVOKE_WORKFLOW) {
        const name = readName(span.attributes, GEN_AI_WORKFLOW_NAME);
        this.#ignore(span, `${INVOKE_WORKFLOW}${name === undefined ? '' : ` ${name}`}: a container of agent runs, no handoff of its own`);
      } else if (op === INVOKE_SWARM) {
        this.#swarmIds.add(span.spanId);
        this.#ignore(span, `a Strands swarm, a container of its agents' runs; its handoffs are the handoff_to_agent calls inside them`);
      } else if (op === INVOKE_GRAPH) {
        // Ignored by #readGraphEdges, whose reason says how each node's edges were read.
        this.#graphIds.add(span.spanId);
      } else if (op === CREATE_AGENT) {
        this.#ignore(span, `${CREATE_AGENT}: defines an agent, no handoff meaning`);
      } else if (isMastraWorkflowSpan(span, op)) {
        this.#mastraSteps.push(span);
      } else {
        this.#ignore(span, `operation ${String(op)} has no handoff meaning`);
      }
    }
    this.#runs.sort(compareSpans);
    this.#tools.sort(compareByStart);
  }

  /**
   * Strands Graph edges: for each node of an `invoke_graph` (a counted run directly in it, no
   * agent or tool span between, or a nested swarm or graph, whose entry is its first run), a
   * handoff from each dependency its input names (see the file header). A dependency is
   * matched among the graph's runs, those inside nested nodes included.
   */
  #readGraphEdges(): void {
    const graphs = this.#graphIds;
    const swarms = this.#swarmIds;
    // The nearest agent, tool, graph or swarm above a span, walked once per span (graphs nest).
    const structuralAbove = new NearestAncestor(this.#context, (candidate) => graphs.has(candidate.spanId) || swarms.has(candidate.spanId) || isAgentOrToolSpan(candidate));
    const isContainer = (span: SpanRecord | undefined): span is SpanRecord => span !== undefined && (graphs.has(span.spanId) || swarms.has(span.spanId));
    /** Runs in each graph's subtree of containers, in start order. */
    const byGraph = new Map<string, Run[]>();
    /** The first run of each container. */
    const firstRun = new Map<string, Run>();
    /** Nodes that read an input: [the span holding it, its graph, the run it arrives at, the container it is (if nested)]. */
    const nodes: { input: SpanRecord; graph: string; run: Run; nested: string | undefined }[] = [];
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      if (!run.counted) continue;
      const around = structuralAbove.of(run.span);
      if (!isContainer(around)) continue;
      if (graphs.has(around.spanId)) nodes.push({ input: run.span, graph: around.spanId, run, nested: undefined });
      let container: SpanRecord | undefined = around;
      for (let depth = 0; isContainer(container) && depth < 64; depth++) {
        if (!firstRun.has(container.spanId)) {
          firstRun.set(container.spanId, run);
          const up = structuralAbove.of(container);
          // A nested swarm or graph directly in a graph is one node of it, entered at its first run.
          if (isContainer(up) && graphs.has(up.spanId)) nodes.push({ input: container, graph: up.spanId, run, nested: container.spanId });
        }
        if (graphs.has(container.spanId)) {
          let list = byGraph.get(container.spanId);
          if (!list) byGraph.set(container.spanId, (list = []));
          list.push(run);
        }
        container = structuralAbove.of(container);
      }
    }
    // Each graph's runs by agent key, and (built only when a node id is no agent's name) by their answer:
    // lookups, not a scan of every run per dependency (that was quadratic on a long graph).
    const byKey = new Map<string, Map<string, RunList>>();
    const byAnswer = new Map<string, Map<string, RunList>>();
    for (const [graph, runs] of byGraph) byKey.set(graph, runListsBy(runs, (run) => run.key));
    const readings = new Map<string, GraphReading>();
    const unread: (typeof nodes)[number][] = [];
    for (let n = 0; n < nodes.length; n++) {
      const node = nodes[n]!;
      const run = node.run;
      let reading = readings.get(node.graph);
      if (!reading) readings.set(node.graph, (reading = { named: 0, entries: 0, fromBatch: 0, unobservable: 0 }));
      const dependencies = graphDependenciesOf(node.input);
      if (dependencies === undefined) {
        // Messages recorded, naming no dependency: the graph's task (an entry node); none recorded: read from the batches below.
        if (recordsMessages(node.input)) reading.entries++;
        else unread.push(node);
        continue;
      }
      reading.named++;
      const startMs = node.input.startMs;
      for (let d = 0; d < dependencies.length; d++) {
        const dependency = dependencies[d]!;
        let source = latestEndedBy(byKey.get(node.graph)!.get(normalizeAgentName(dependency.node)), startMs, run);
        // A node id that is no agent's name (or a nested swarm's): the latest earlier run whose answer is the result given.
        if (!source && dependency.results.length > 0) {
          let answers = byAnswer.get(node.graph);
          if (!answers) byAnswer.set(node.graph, (answers = runListsBy(byGraph.get(node.graph)!, (candidate) => answerOf(candidate.span) || undefined)));
          for (let r = 0; r < dependency.results.length; r++) {
            const found = latestEndedBy(answers.get(dependency.results[r]!), startMs, run);
            if (found && (!source || found.order > source.order)) source = found;
          }
        }
        if (!source) continue;
        const part: Mutable<TransferPart> = { type: 'transfer', span: source.run.span, source: source.run.agent, target: run.agent, mode: 'pass_control', inferred: true, arrival: run.span };
        put(part, 'taskId', run.taskId ?? source.run.taskId);
        this.parts.push(part);
      }
    }
    if (unread.length > 0) this.#readGraphBatches(nodes, unread, readings);
    for (const graph of graphs) {
      const span = this.#context.span(graph);
      if (span) this.#ignore(span, graphReason(readings.get(graph)));
    }
  }

  /**
   * The edges into graph nodes whose input is not recorded (the SDK kept no span events, or the
   * pipeline dropped them), from the graph's batches. `Graph._execute_graph` runs the ready nodes
   * together and finds the next ones only when all have ended, so a node that started after every
   * node then running had ended opens the next batch; a node of batch 1 is an entry node, on the
   * graph's task. A later node became ready only through an edge from the batch just completed,
   * and `_build_node_input` gives it that dependency's result: when that batch was one agent run,
   * the edge from it is certain (pass_control, inferred). After a batch of several nodes (or a
   * nested swarm or graph) which fed it is not recorded anywhere, and edges from earlier batches
   * (a node whose dependencies finished in different batches) cannot be seen at all.
   */
  #readGraphBatches(nodes: readonly { input: SpanRecord; graph: string; run: Run; nested: string | undefined }[], unread: readonly { input: SpanRecord; graph: string; run: Run; nested: string | undefined }[], readings: Map<string, GraphReading>): void {
    type Node = (typeof nodes)[number];
    const batchOf = new Map<Node, { index: number; batches: Node[][] }>();
    const byGraph = new Map<string, Node[]>();
    for (let i = 0; i < nodes.length; i++) {
      let list = byGraph.get(nodes[i]!.graph);
      if (!list) byGraph.set(nodes[i]!.graph, (list = []));
      list.push(nodes[i]!);
    }
    for (const list of byGraph.values()) {
      list.sort((a, b) => compareByStart(a.input, b.input));
      const batches: Node[][] = [];
      let endMs = -Infinity;
      for (let i = 0; i < list.length; i++) {
        const node = list[i]!;
        if (batches.length === 0 || node.input.startMs >= endMs) {
          batches.push([node]);
          endMs = node.input.endMs;
        } else {
          batches[batches.length - 1]!.push(node);
          if (node.input.endMs > endMs) endMs = node.input.endMs;
        }
        batchOf.set(node, { index: batches.length - 1, batches });
      }
    }
    for (let i = 0; i < unread.length; i++) {
      const node = unread[i]!;
      const reading = readings.get(node.graph)!;
      const { index, batches } = batchOf.get(node)!;
      if (index === 0) {
        reading.entries++;
        continue;
      }
      const before = batches[index - 1]!;
      const source = before.length === 1 && before[0]!.nested === undefined ? before[0]!.run : undefined;
      if (source === undefined) {
        reading.unobservable++;
        continue;
      }
      reading.fromBatch++;
      const part: Mutable<TransferPart> = { type: 'transfer', span: source.span, source: source.agent, target: node.run.agent, mode: 'pass_control', inferred: true, arrival: node.run.span };
      put(part, 'taskId', node.run.taskId ?? source.taskId);
      this.parts.push(part);
    }
  }

  /** Mastra workflows: each agent step handed the work of the agent steps before it (mastra-workflows.ts). */
  #readMastraWorkflows(): void {
    const read = readMastraWorkflows(this.#mastraSteps, this.#context, {
      runOf: (span) => {
        const run = this.#runById.get(span.spanId);
        return run && run.counted ? run : undefined;
      },
      operationOf,
    });
    for (let i = 0; i < read.parts.length; i++) {
      const part = read.parts[i]!;
      this.parts.push(part);
      if (part.arrival) this.#workflowArrivals.add(part.arrival.spanId);
    }
    for (let i = 0; i < read.ignored.length; i++) this.ignored.push(read.ignored[i]!);
  }

  /** Pairs CLIENT spans with their server side, indexes counted runs, and finds runs nested under tools. */
  #placeRuns(): void {
    const runs = this.#runs;
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      if (run.client) continue;
      const parent = this.#structural.of(run.span);
      const client = parent && this.#runById.get(parent.spanId);
      // Runs are in start order, so the first server-side run a CLIENT span meets is its earliest.
      if (client && client.client && client.server === undefined && (client.key === run.key || client.compact === run.compact)) {
        client.server = run;
        client.counted = false;
        run.clientOf = client;
      }
    }
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      if (!run.counted) {
        if (readName(run.span.attributes, GEN_AI_CALLER_NAME) === undefined)
          this.#ignore(run.span, `remote ${INVOKE_AGENT} ${run.agent}: its run is read from the server-side span ${run.server!.span.spanId}`);
        continue;
      }
      this.#counted.add(run);
      // A server-side run sits where its CLIENT span sits.
      const anchor = run.clientOf ?? run;
      const parent = this.#structural.of(anchor.span);
      if (parent && this.#toolIds.has(parent.spanId)) {
        let nested = this.#nestedByTool.get(parent.spanId);
        if (!nested) this.#nestedByTool.set(parent.spanId, (nested = []));
        nested.push(run);
      }
    }
  }

  /** The agent that owns `span` (nearest enclosing `invoke_agent`, of any dialect), else the names the span declares. */
  #sourceOf(span: SpanRecord): { source: string; sourceKey: string; taskId: string | undefined } | undefined {
    const owner = this.#agentAncestor.of(span);
    if (owner) {
      const run = this.#runById.get(owner.spanId);
      const agent = run ? run.agent : agentOf(owner);
      if (agent !== undefined) {
        const taskId = run ? run.taskId : readName(owner.attributes, GEN_AI_CONVERSATION_ID);
        return { source: agent, sourceKey: `run:${owner.spanId}`, taskId };
      }
    }
    const declared = readName(span.attributes, GEN_AI_AGENT_NAME) ?? readName(span.attributes, GEN_AI_AGENT_HANDOFF_SOURCE_NAME);
    if (declared === undefined) return undefined;
    const source = this.#counted.canonical(declared);
    return { source, sourceKey: `agent:${normalizeAgentName(source)}`, taskId: undefined };
  }

  /**
   * The first counted run that starts after `tool` ends, under the same parent span,
   * with no other tool call between them: where Google ADK runs a transfer's target
   * (`_postprocess_handle_function_calls_async`, inside the sender's `call_llm`).
   */
  #siblingRunAfter(tool: SpanRecord): Run | undefined {
    const parent = this.#context.parentOf(tool);
    if (!parent) return undefined;
    const siblings = this.#context.childrenOf(parent);
    // Siblings are in start order: the scan starts at the first that starts once the tool has ended.
    for (let i = firstStartingAt(siblings, tool.endMs); i < siblings.length; i++) {
      const sibling = siblings[i]!;
      if (sibling === tool || sibling.startMs < tool.endMs) continue;
      const run = this.#runById.get(sibling.spanId);
      if (run !== undefined) return run.counted ? run : undefined;
      if (this.#toolIds.has(sibling.spanId) && transferTargetOfTool(readName(sibling.attributes, GEN_AI_TOOL_NAME) ?? wordOf(sibling.name, 1) ?? '') !== undefined) return undefined;
    }
    return undefined;
  }

  /**
   * Why a transfer to an agent that never ran was refused, when something says so:
   * the tool call failed (status ERROR), the tool reported an error (Strands'
   * `gen_ai.tool.status` = `error`: "Agent '…' not found in swarm"), or the sender's
   * run failed (Google ADK raises "Agent … not found in the agent tree." after the
   * tool span). Otherwise undefined: the target may run in data not read.
   */
  #refusalOf(tool: SpanRecord, target: string, source: string): string | undefined {
    const cause =
      tool.statusCode === StatusCodeNumber.Error
        ? `the tool call failed${tool.statusMessage ? `: ${tool.statusMessage}` : ''}`
        : readName(tool.attributes, GEN_AI_TOOL_STATUS) === 'error'
          ? `the tool reported an error (${GEN_AI_TOOL_STATUS})`
          : undefined;
    if (cause !== undefined) return `refused: no agent ${target} ran; ${cause}`;
    const owner = this.#agentAncestor.of(tool);
    if (owner && owner.statusCode === StatusCodeNumber.Error && this.#lastInRun(tool, owner)) {
      return `refused: no agent ${target} ran; ${source}'s run failed right after it${owner.statusMessage ? `: ${owner.statusMessage}` : ''}`;
    }
    return undefined;
  }

  /**
   * True when nothing of `owner`'s run started after `span` ended: its failure came right after the
   * transfer (ADK's "not found in the agent tree"). A run that went on working and failed later failed
   * for something else; its target may simply run in data that was not read.
   */
  #lastInRun(span: SpanRecord, owner: SpanRecord): boolean {
    for (let node = span; node.spanId !== owner.spanId; ) {
      const parent = this.#context.parentOf(node);
      if (parent === undefined) return false;
      const siblings = this.#context.childrenOf(parent);
      // In start order: only those from the first starting once `span` ended can have started after it.
      for (let i = firstStartingAt(siblings, span.endMs); i < siblings.length; i++) {
        const sibling = siblings[i]!;
        if (sibling.spanId !== node.spanId && sibling.startMs > node.startMs) return false;
      }
      node = parent;
    }
    return true;
  }

  #readTool(tool: SpanRecord): void {
    const attrs = tool.attributes;
    const toolName = readName(attrs, GEN_AI_TOOL_NAME) ?? wordOf(tool.name, 1);
    const nested = this.#nestedByTool.get(tool.spanId);
    const targetType = readName(attrs, GEN_AI_TRANSFER_TARGET_TYPE);
    if (targetType !== undefined && targetType !== 'agent') {
      this.#ignore(tool, `transfer to a ${targetType} (${GEN_AI_TRANSFER_TARGET_TYPE}), not to an agent`);
      return;
    }
    const mode = readMode(attrs);
    let target = readName(attrs, GEN_AI_TRANSFER_TARGET_NAME) ?? readName(attrs, GEN_AI_AGENT_HANDOFF_TARGET_NAME) ?? readName(attrs, GEN_AI_TRANSFER_TARGET_ID);
    const declared = target !== undefined;
    let generic = false;
    if (target === undefined && toolName !== undefined) {
      const fromName = transferTargetOfTool(toolName);
      if (fromName === GENERIC_TRANSFER) {
        generic = true;
        // `execute_tool {gen_ai.tool.name} {gen_ai.transfer.target.name}` names the target third.
        target = transferTargetInArguments(tool) ?? wordOf(tool.name, 2);
        if (target === undefined) {
          // Arguments not recorded (content capture off): Google ADK runs the target right after the
          // transfer, inside the sender's model call: the tool's next sibling agent run is the target.
          const sibling = this.#siblingRunAfter(tool);
          if (sibling !== undefined) target = sibling.agent;
        }
      } else {
        target = fromName;
      }
    }
    if (target === undefined && (!nested || nested.length === 0)) {
      if (toolName === ADK_MERGED_TOOLS) this.#ignore(tool, `Google ADK's merged response of parallel tool calls: each call has its own span, this one no call of its own`);
      else if (generic) this.#ignore(tool, `transfer tool ${toolName} names no target: no agent in ${ARGUMENT_SOURCES} (is content capture off?), and no agent run follows it under the same span`);
      else if (mode !== undefined) this.#ignore(tool, `${GEN_AI_TRANSFER_MODE} without ${GEN_AI_TRANSFER_TARGET_NAME}, and no agent run under the tool`);
      else this.#ignore(tool, `tool ${toolName ?? tool.name} is not a transfer: no ${GEN_AI_TRANSFER_TARGET_NAME}, not transfer_to_<agent>, no agent run under it`);
      return;
    }
    const owner = this.#sourceOf(tool);
    if (owner === undefined) {
      this.#ignore(tool, `transfer outside any ${INVOKE_AGENT} span and without ${GEN_AI_AGENT_NAME}: the source agent is unknown`);
      return;
    }
    const taskId = readName(attrs, GEN_AI_CONVERSATION_ID) ?? owner.taskId;
    let arrival: Run | undefined;
    if (target !== undefined) {
      const key = normalizeAgentName(target);
      const compact = compactKeyOf(key);
      if (nested) {
        for (let i = 0; i < nested.length && !arrival; i++) if (nested[i]!.key === key || nested[i]!.compact === compact) arrival = nested[i];
      }
      const nestedArrival = arrival !== undefined;
      arrival ??= this.#counted.firstAtOrAfter(key, tool.startMs);
      const name = arrival ? arrival.agent : this.#counted.canonical(target);
      if (nestedArrival) this.#coveredArrivals.add(arrival!.span.spanId);
      const refusal = arrival || this.#counted.runsOf(key) ? undefined : this.#refusalOf(tool, name, owner.source);
      this.#drafts.push({
        span: tool,
        source: owner.source,
        sourceKey: owner.sourceKey,
        target: refusal === undefined ? name : 'unknown',
        refusal,
        targetKey: arrival ? arrival.key : key,
        // A target working inside the tool call hands back when the call returns.
        mode: mode ?? (nestedArrival ? 'return_to_caller' : undefined),
        inferred: !declared,
        arrival: arrival?.span,
        taskId: taskId ?? arrival?.taskId,
      });
    }
    // Every other agent run inside the tool call is a delegation to it (agent as a tool), but for those a
    // Mastra workflow in the tool handed work to from its earlier steps.
    if (nested) {
      for (let i = 0; i < nested.length; i++) {
        const run = nested[i]!;
        if (run === arrival || this.#workflowArrivals.has(run.span.spanId)) continue;
        this.#coveredArrivals.add(run.span.spanId);
        this.#drafts.push({
          span: tool,
          source: owner.source,
          sourceKey: owner.sourceKey,
          target: run.agent,
          targetKey: run.key,
          mode: mode ?? 'return_to_caller',
          inferred: true,
          arrival: run.span,
          taskId: taskId ?? run.taskId,
        });
      }
    }
  }

  /** A remote `invoke_agent` CLIENT span naming its caller (the caller-aware refinement) is a declared handoff. */
  #readCaller(run: Run): void {
    if (!run.client) return;
    const attrs = run.span.attributes;
    const caller = readName(attrs, GEN_AI_CALLER_NAME);
    if (caller === undefined) return;
    const arrival = run.server ?? run;
    if (this.#coveredArrivals.has(arrival.span.spanId)) {
      // Already the transfer of the tool it runs in.
      if (!run.counted) this.#ignore(run.span, `remote ${INVOKE_AGENT} ${run.agent}: the handoff is read from the tool span it runs in, the run from the server side`);
      return;
    }
    const callerType = readName(attrs, GEN_AI_CALLER_TYPE);
    if (callerType !== undefined && callerType !== 'agent') {
      if (!run.counted) this.#ignore(run.span, `remote ${INVOKE_AGENT} ${run.agent} called by a ${callerType} (${GEN_AI_CALLER_TYPE}), not an agent`);
      return;
    }
    const source = this.#counted.canonical(caller);
    const owner = this.#agentAncestor.of(run.span);
    this.#drafts.push({
      span: run.span,
      source,
      sourceKey: owner ? `run:${owner.spanId}` : `agent:${normalizeAgentName(source)}`,
      target: run.agent,
      targetKey: run.key,
      mode: readMode(attrs),
      inferred: false,
      arrival: arrival.span,
      taskId: run.taskId ?? arrival.taskId,
    });
  }

  /**
   * Merges transfers of one source run to one target landing in the same run (retries),
   * earliest first; and a tool call that failed (status ERROR: Pydantic AI's ModelRetry,
   * a delegate that raised) followed by another call of the same tool from the same run
   * to the same target: the model retrying the handoff, one handoff attempted again,
   * though each attempt ran the target anew.
   */
  #emitTransfers(): void {
    const drafts = this.#drafts;
    drafts.sort(compareSpans);
    const merged = new Map<string, Mutable<TransferPart>>();
    /** By source run, target and tool: the handoff and whether its latest attempt failed. */
    const byTool = new Map<string, { part: Mutable<TransferPart>; lastFailed: SpanRecord | undefined }>();
    for (let i = 0; i < drafts.length; i++) {
      const draft = drafts[i]!;
      const key = `${draft.sourceKey}\u0000${draft.targetKey}\u0000${draft.arrival ? draft.arrival.spanId : ''}`;
      const toolKey = this.#toolIds.has(draft.span.spanId) ? `${draft.sourceKey}\u0000${draft.targetKey}\u0000${toolNameOf(draft.span)}` : undefined;
      const failed = draft.span.statusCode === StatusCodeNumber.Error ? draft.span : undefined;
      const first = merged.get(key);
      if (first) {
        first.sendCount = (first.sendCount ?? 1) + 1;
        if (!draft.inferred) first.inferred = false;
        first.mode ??= draft.mode;
        if (draft.span !== first.span) this.#ignore(draft.span, `retry of the transfer on span ${first.span.spanId}: counted in its sendCount`);
        continue;
      }
      const previous = toolKey === undefined ? undefined : byTool.get(toolKey);
      if (previous && previous.lastFailed && previous.lastFailed !== draft.span && draft.span.startMs >= previous.lastFailed.endMs) {
        const part = previous.part;
        part.sendCount = (part.sendCount ?? 1) + 1;
        if (!draft.inferred) part.inferred = false;
        const counted = part.span === previous.lastFailed ? 'its sendCount' : `the sendCount of the handoff on span ${part.span.spanId}`;
        this.#ignore(draft.span, `retry of the failed call on span ${previous.lastFailed.spanId} (same tool, same source run, same target): counted in ${counted}`);
        previous.lastFailed = failed;
        merged.set(key, part);
        continue;
      }
      const part: Mutable<TransferPart> = {
        type: 'transfer',
        span: draft.span,
        source: draft.source,
        target: draft.target,
        inferred: draft.inferred,
      };
      put(part, 'taskId', draft.taskId);
      put(part, 'mode', draft.mode);
      put(part, 'arrival', draft.arrival);
      put(part, 'refusal', draft.refusal);
      merged.set(key, part);
      if (toolKey !== undefined) byTool.set(toolKey, { part, lastFailed: failed });
      this.parts.push(part);
    }
  }
}

/** Spans following the OpenTelemetry GenAI agent conventions (see the file header). */
export const otelGenAiDialect: Dialect = {
  id: 'otel-genai',
  description: 'OpenTelemetry GenAI agent conventions (invoke_agent, execute_tool transfers, invoke_workflow)',
  readsAttribute(name) {
    return (
      name.startsWith('gen_ai.') ||
      name === ERROR_TYPE ||
      name === GCP_VERTEX_AGENT_TOOL_CALL_ARGS ||
      name === PYDANTIC_AI_AGENT_NAME ||
      name === PYDANTIC_AI_TOOL_ARGUMENTS ||
      name === MASTRA_SPAN_TYPE ||
      name === MASTRA_WORKFLOW_STEP_ID
    );
  },
  readsEvent(name, span) {
    // Read for a transfer tool's arguments (transferTargetInArguments), so on tool spans; and for a
    // Strands graph node's dependencies, on the agent spans whose input holds them.
    if (name === GEN_AI_TOOL_MESSAGE_EVENT) return operationOf(span) === EXECUTE_TOOL;
    if (name === GEN_AI_OPERATION_DETAILS_EVENT) {
      const op = operationOf(span);
      // On an agent run: a graph node's input, or its answer (a graph node named otherwise than its agent is matched by it).
      return op === EXECUTE_TOOL || (op === INVOKE_AGENT && (eventHoldsGraphInput(span, name) || eventHoldsOutput(span))) || ((op === INVOKE_SWARM || op === INVOKE_GRAPH) && eventHoldsGraphInput(span, name));
    }
    if (name === GEN_AI_CHOICE_EVENT) return operationOf(span) === INVOKE_AGENT;
    if (name !== GEN_AI_USER_MESSAGE_EVENT) return false;
    const op = operationOf(span);
    return (op === INVOKE_AGENT || op === INVOKE_SWARM || op === INVOKE_GRAPH) && eventHoldsGraphInput(span, name);
  },
  claims(span) {
    const op = operationOf(span);
    return op !== undefined && (CLAIMED_OPERATIONS.has(op) || isMastraWorkflowSpan(span, op));
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
