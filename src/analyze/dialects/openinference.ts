/**
 * The `openinference` dialect: LangGraph and LangChain runs as the OpenInference
 * LangChain instrumentation (`@arizeai/openinference-instrumentation-langchain`,
 * Python `openinference-instrumentation-langchain`) and LangSmith's OTel export
 * write them. docs/frameworks.md ("LangGraph / LangChain") lists what is read.
 *
 * - A LangGraph *node run* is the outermost span of one Pregel task: the span
 *   whose `langgraph_node` metadata (in OpenInference's `metadata` JSON, or
 *   `langsmith.metadata.langgraph_node`) its parent does not share, the task
 *   told apart by `langgraph_checkpoint_ns` (else node and step). Agents are the
 *   nodes of the top-level graph, plus the nodes of any nested graph a handoff
 *   lands in (a hierarchical supervisor's team); nodes of other nested graphs
 *   (a ReAct agent's `agent` and `tools`) are steps of the agent they run in. A
 *   graph made only of a prebuilt agent loop's nodes is itself one agent, named
 *   by its graph's span, when it runs at the top or inside a tool.
 * - An agent called as a tool (such a graph run inside another agent's TOOL
 *   span) is a delegation returning to the caller (`return_to_caller`).
 * - A handoff by tool is a TOOL span that returned a LangGraph `Command` with a
 *   `goto` (declared), or, when the output is not recorded, one named
 *   `transfer_to_<agent>` / `transfer_back_to_<agent>` / `handoff_to_<agent>`
 *   (inferred). It lands on the target's node run in the next step of the graph
 *   that node belongs to: the nearest enclosing graph with such a node (a swarm
 *   or supervisor tool jumps one graph up with `Command.PARENT`). The sender is
 *   the agent node of that graph the tool ran in. A transfer the graph did not
 *   follow (a second transfer tool in the same step, a graph stopped by its
 *   recursion limit, a tool that only looks like one) is ignored with the reason.
 * - A handoff along a graph edge is an agent node run in step n+1 of a graph
 *   after an agent node of step n of the same graph that handed off by no tool:
 *   the supervisor's hand-back (`transfer_back_to_<supervisor>` is synthesized
 *   into the messages and has no tool span), a fixed `add_edge` pipeline. Its
 *   evidence is the sender's node span (no span marks the moment); inferred.
 *   A node whose own output is a `Command` with `goto` declared where it routed:
 *   it sends to the nodes it named (declared) and to no other node of the next
 *   step, unless no node of that step could otherwise have sent there.
 * - The functional API: a `task()` runs as a node of its caller's graph in the
 *   caller's step, its namespace under the caller's. A task a graph ran in (an
 *   agent invoked there) is that agent's run, named by the task; other tasks (a
 *   model or tool call) are steps of the caller. An entrypoint (its graph's one
 *   node) that ran agent tasks is the code between them, not an agent: each agent
 *   task receives from the agent tasks that had ended when it started and no other
 *   ended task followed (inferred). A node of a larger graph delegates to its
 *   agent tasks (`return_to_caller`, inferred).
 * - LangGraph jumps between graphs by throwing `ParentCommand`, so every normal
 *   handoff ends the sender's node spans in ERROR: such a run completed. A
 *   `GraphInterrupt` (human in the loop) is blocked; any other error failed.
 * - Failed transfer tool calls (ERROR, no `Command`) followed by a successful
 *   one from the same node run to the same arrival are one handoff attempted
 *   several times (`sendCount`).
 * - A node run again by its RetryPolicy (same task namespace, same step, same
 *   graph run) is one task attempted several times: the handoff into it arrives
 *   at the first run with `sendCount` = the runs, only the last run hands on,
 *   and each failed run stays a failed agent run.
 * - Spans of the OpenInference OpenAI Agents instrumentation are left to the
 *   `openai-agents` dialect, and GenAI agent spans OpenInference marked in place
 *   (Google ADK's, Pydantic AI's) to `otel-genai`; LLM, retriever and embedding spans
 *   stay unclaimed (timing only).
 *
 * Linear in the group's spans but for a sort of the node runs per graph and a
 * walk up the (short) node nesting per tool span; every walk is cycle-safe.
 *
 * @see https://github.com/Arize-ai/openinference/blob/main/spec/semantic_conventions.md
 * @see https://langchain-ai.github.io/langgraph/concepts/low_level/#command
 */
import {
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  GEN_AI_COMPLETION,
  GEN_AI_OPERATION_NAME,
  GEN_AI_TOOL_NAME,
  LANGGRAPH_CHECKPOINT_NS,
  LANGGRAPH_NODE,
  LANGGRAPH_STEP,
  LANGGRAPH_THREAD_ID,
  LANGSMITH_METADATA_PREFIX,
  LANGSMITH_SPAN_KIND,
  OPENINFERENCE_METADATA,
  OPENINFERENCE_OUTPUT_VALUE,
  OPENINFERENCE_SESSION_ID,
  OPENINFERENCE_SPAN_KIND,
  OPENINFERENCE_TOOL_NAME,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart, partitionPoint } from '../span-index.js';
import { type Attributes, parseJsonText, put, readName, readNumber } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { NearestAncestor } from './nearest-ancestor.js';
import { GENERIC_TRANSFER, normalizeAgentName, transferTargetOfTool } from './otel-genai.js';

/** Said of an OpenInference span that has no instrumentation scope, when no dialect knew it otherwise. */
const UNSCOPED_OPENINFERENCE =
  "; it has no instrumentation scope either (the OpenTelemetry Python SDK's console JSON, otel-python-json, writes none), and OpenInference's OpenAI Agents SDK instrumentation is known only by its scope: its runs and handoffs cannot be read from that encoding (export OTLP instead)";

/** Instrumentation scopes of OpenInference's OpenAI Agents SDK bridge (JS, Python): the `openai-agents` dialect reads those. */
function isOpenAiAgentsScope(scope: string): boolean {
  return scope.includes('openai-agents') || scope.includes('openai_agents');
}

/**
 * Whether a span is another framework's OTel GenAI agent span that OpenInference marked in
 * place: its ADK instrumentation (`_TraceToolCall`) sets `openinference.span.kind` = TOOL on
 * ADK's own `execute_tool` spans, and its Pydantic AI span processor adds the kind (AGENT, TOOL)
 * to Pydantic AI's `agent run` / `invoke_agent` / `running tool` spans, keeping their GenAI
 * attributes. `otel-genai` reads those (transfers, agents as tools); claimed here, with no
 * LangGraph metadata to read, every one of their handoffs was lost. LangGraph's own spans
 * (LangChain's instrumentation) carry its `metadata` and no GenAI agent attributes.
 */
function isMarkedGenAiAgentSpan(attrs: Attributes): boolean {
  if (attrs[OPENINFERENCE_METADATA] !== undefined) return false;
  const operation = attrs[GEN_AI_OPERATION_NAME];
  if (operation === 'invoke_agent' || operation === 'execute_tool' || operation === 'create_agent') return true;
  return typeof attrs[GEN_AI_AGENT_NAME] === 'string' || typeof attrs[GEN_AI_TOOL_NAME] === 'string';
}

const LANGSMITH_NODE = LANGSMITH_METADATA_PREFIX + LANGGRAPH_NODE;
const LANGSMITH_STEP = LANGSMITH_METADATA_PREFIX + LANGGRAPH_STEP;
const LANGSMITH_CHECKPOINT_NS = LANGSMITH_METADATA_PREFIX + LANGGRAPH_CHECKPOINT_NS;
/** Metadata keys LangChain takes a conversation id from (OpenInference's SESSION_ID_KEYS). */
const THREAD_KEYS: readonly string[] = [LANGGRAPH_THREAD_ID, 'session_id', 'conversation_id'];

/** LangGraph's entry and exit pseudo-nodes: no agent runs there. */
const START_NODE = '__start__';
const END_NODE = '__end__';
/** Deepest parent chain walked: far past any real nesting, and a bound on hostile input. */
const MAX_WALK = 10_000;
const UNDERSCORES = /_/g;
/**
 * Node names of the prebuilt agent loops (LangGraph's createReactAgent, LangChain's
 * createAgent, their hooks): a graph made only of these is one agent, not several.
 */
const AGENT_LOOP_NODES: ReadonlySet<string> = new Set([
  'agent',
  'tools',
  'model',
  'model_request',
  'call_model',
  'pre_model_hook',
  'post_model_hook',
  'generate_structured_response',
]);
/** Longest metadata text parsed: LangGraph's keys sit in well under a kilobyte. */
const MAX_METADATA_CHARS = 1 << 20;

/** `transfer_back_to_supervisor`: the supervisor's hand-back tool name (synthesized in JS and Python, real in custom graphs). */
const TRANSFER_BACK = /^transfer[^\p{L}\p{N}]+back[^\p{L}\p{N}]+to[^\p{L}\p{N}]+(.+)$/iu;
/** How LangGraph JS serializes a Command (`Command.toJSON`). */
const COMMAND_MARKER = '"lg_name":"Command"';
/** Python's `Command(goto='bob', …)` repr, as some exporters record a tool's output. */
const PYTHON_GOTO = /\bgoto=(?:'([^']+)'|"([^"]+)"|\[\s*'([^']+)')/;

/** LangGraph's facts about the task a span runs in. */
export interface NodeMeta {
  readonly node: string;
  readonly step: number | undefined;
  readonly ns: string | undefined;
  readonly threadId: string | undefined;
}

/**
 * Where a LangGraph vocabulary keeps what the reading below needs: OpenInference and LangSmith
 * here, OpenLLMetry's LangChain instrumentation in ./traceloop.ts. The reading of node runs,
 * graph edges and `Command` handoffs is LangGraph's, whoever wrote the spans.
 */
export interface LangGraphVocabulary {
  /** `CHAIN`, `TOOL`, `AGENT` (upper case), or undefined for other spans. */
  kindOf(attrs: Attributes): string | undefined;
  /** LangGraph's task metadata of a span, or undefined outside LangGraph. */
  metaOf(attrs: Attributes): NodeMeta | undefined;
  /** The tool a TOOL span ran. */
  toolNameOf(span: SpanRecord): string;
  /** The agent name of a graph that is one agent (its run's span). */
  graphNameOf(span: SpanRecord): string;
  /** The nodes a tool's or node's `Command` sent the graph to (undefined: no `Command` recorded; [] one without `goto`). */
  gotoOf(span: SpanRecord, context: DialectContext): string[] | undefined;
  /** Whether a tool's output is recorded at all (a transfer-named tool that returned no `Command` is then no handoff). */
  hasOutput(span: SpanRecord): boolean;
  /** Where the node name is read, for `--explain`. */
  readonly metadataKeys: string;
}

function spanKindOf(attrs: Attributes): string | undefined {
  const kind = attrs[OPENINFERENCE_SPAN_KIND];
  if (typeof kind === 'string') return kind.toUpperCase();
  const langsmith = attrs[LANGSMITH_SPAN_KIND];
  return typeof langsmith === 'string' ? langsmith.toUpperCase() : undefined;
}

function stringField(object: Record<string, unknown>, key: string): string | undefined {
  const v = object[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

/** Where the value of `"key":` starts in a JSON text (whitespace skipped), or -1. Keys inside string values are escaped (`\"key\":`) and skipped. */
function valueStartOf(text: string, marker: string): number {
  let at = text.indexOf(marker);
  while (at > 0 && text.charCodeAt(at - 1) === 92) at = text.indexOf(marker, at + marker.length);
  if (at < 0) return -1;
  let i = at + marker.length;
  while (i < text.length && (text.charCodeAt(i) === 32 || text.charCodeAt(i) === 9 || text.charCodeAt(i) === 10 || text.charCodeAt(i) === 13)) i++;
  return i;
}

/** Marks a value the fast path cannot read (an escape in it): parse the whole text instead. */
const NEEDS_PARSE = Symbol('needs parse');

/** The string value of `"key":`, without parsing the text; NEEDS_PARSE when it holds an escape. */
function jsonStringField(text: string, marker: string): string | undefined | typeof NEEDS_PARSE {
  const i = valueStartOf(text, marker);
  if (i < 0 || text.charCodeAt(i) !== 34) return undefined;
  const end = text.indexOf('"', i + 1);
  if (end < 0) return undefined;
  const value = text.slice(i + 1, end);
  if (value.includes('\\')) return NEEDS_PARSE;
  return value.length > 0 ? value : undefined;
}

function jsonNumberField(text: string, marker: string): number | undefined {
  const i = valueStartOf(text, marker);
  if (i < 0) return undefined;
  let end = i;
  while (end < text.length) {
    const c = text.charCodeAt(end);
    if ((c >= 48 && c <= 57) || c === 45 || c === 46 || c === 101 || c === 69 || c === 43) end++;
    else break;
  }
  if (end === i) return undefined;
  const n = Number(text.slice(i, end));
  return Number.isFinite(n) ? n : undefined;
}

const NODE_MARKER = `"${LANGGRAPH_NODE}":`;
const STEP_MARKER = `"${LANGGRAPH_STEP}":`;
const NS_MARKER = `"${LANGGRAPH_CHECKPOINT_NS}":`;
const THREAD_MARKERS: readonly string[] = THREAD_KEYS.map((k) => `"${k}":`);

/** The slow path: the metadata text parsed as JSON (only when a value holds an escape). */
function parsedMetaOf(text: string, attrs: Attributes): NodeMeta | undefined {
  const parsed = parseJsonText(text, Number.POSITIVE_INFINITY);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const meta = parsed as Record<string, unknown>;
  const node = stringField(meta, LANGGRAPH_NODE);
  if (node === undefined) return undefined;
  const step = meta[LANGGRAPH_STEP];
  let threadId: string | undefined;
  for (let i = 0; i < THREAD_KEYS.length && threadId === undefined; i++) threadId = stringField(meta, THREAD_KEYS[i]!);
  return {
    node,
    step: typeof step === 'number' && Number.isFinite(step) ? step : undefined,
    ns: stringField(meta, LANGGRAPH_CHECKPOINT_NS),
    threadId: threadId ?? readName(attrs, OPENINFERENCE_SESSION_ID),
  };
}

/**
 * LangGraph's task metadata of a span, from OpenInference's `metadata` JSON or
 * LangSmith's flattened keys; undefined outside LangGraph. Nearly every span of a
 * LangGraph trace carries the JSON, so its few fields are read in place; the text
 * is parsed only when a value holds an escape, and must then be a JSON object.
 */
export function langGraphMetaOf(attrs: Attributes): NodeMeta | undefined {
  const text = attrs[OPENINFERENCE_METADATA];
  if (typeof text === 'string') {
    if (text.length > MAX_METADATA_CHARS || text.charCodeAt(0) !== 123) return undefined;
    const node = jsonStringField(text, NODE_MARKER);
    if (node === undefined) return undefined;
    const ns = jsonStringField(text, NS_MARKER);
    let threadId: string | undefined | typeof NEEDS_PARSE;
    for (let i = 0; i < THREAD_MARKERS.length && threadId === undefined; i++) threadId = jsonStringField(text, THREAD_MARKERS[i]!);
    if (node === NEEDS_PARSE || ns === NEEDS_PARSE || threadId === NEEDS_PARSE) return parsedMetaOf(text, attrs);
    return { node, step: jsonNumberField(text, STEP_MARKER), ns, threadId: threadId ?? readName(attrs, OPENINFERENCE_SESSION_ID) };
  }
  const node = readName(attrs, LANGSMITH_NODE);
  if (node === undefined) return undefined;
  let threadId: string | undefined;
  for (let i = 0; i < THREAD_KEYS.length && threadId === undefined; i++) threadId = readName(attrs, LANGSMITH_METADATA_PREFIX + THREAD_KEYS[i]!);
  return { node, step: readNumber(attrs, LANGSMITH_STEP), ns: readName(attrs, LANGSMITH_CHECKPOINT_NS), threadId };
}

/** One Pregel task: `langgraph_checkpoint_ns` names it uniquely; without it, node and step. */
function taskKeyOf(meta: NodeMeta): string {
  return meta.ns ?? `${meta.node}\u0000${String(meta.step)}`;
}

/** The end of the JSON value starting at `from` (string, array or object), or -1. No allocation. */
function endOfJsonValue(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\t' || text[i] === '\r')) i++;
  let depth = 0;
  let inString = false;
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) {
        inString = false;
        if (depth === 0) return i + 1;
      }
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      depth--;
      if (depth === 0) return i + 1;
      if (depth < 0) return -1;
    } else if (depth === 0) return -1;
  }
  return -1;
}

/**
 * A Python `Send` as OpenInference's Python LangChain instrumentation writes it inside a
 * `Command`'s `goto`: its JSON encoder cannot serialize a `Send` (no dataclass, no
 * pydantic model), so `safe_json_dumps` falls back to `str()`: `Send(node='x', arg=…)`.
 */
const PYTHON_SEND = /^Send\(node=(?:'([^']+)'|"([^"]+)")/;

function gotoNamesIn(value: unknown, out: string[]): void {
  if (typeof value === 'string') {
    const send = value.startsWith('Send(') ? PYTHON_SEND.exec(value) : null;
    if (send) out.push(send[1] ?? send[2]!);
    else if (value.length > 0 && value !== END_NODE) out.push(value);
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) gotoNamesIn(value[i], out);
  } else if (value !== null && typeof value === 'object') {
    // A `Send` (`{"lg_name":"Send","node":"x","args":…}`) names its node.
    const node = (value as { node?: unknown }).node;
    if (typeof node === 'string' && node.length > 0) out.push(node);
  }
}

/**
 * The nodes a tool's recorded output sends the graph to: the `goto` of a
 * LangGraph `Command` (JSON, as LangGraph JS serializes it and OpenInference's Python
 * encoder writes the dataclass, `{"graph": …, "update": …, "resume": …, "goto": …}`;
 * or Python's repr).
 * Undefined when the output holds no `goto`; an empty list for a `Command`
 * that goes nowhere. Never throws.
 */
export function commandGotoOf(output: string): string[] | undefined {
  // The Command's own key: the first unescaped one after its `lg_name` (a Send's args may hold another `goto`).
  let key = output.indexOf('"goto":', Math.max(0, output.indexOf(COMMAND_MARKER)));
  while (key > 0 && output.charCodeAt(key - 1) === 92) key = output.indexOf('"goto":', key + 7);
  if (key >= 0) {
    const start = key + 7;
    const end = endOfJsonValue(output, start);
    if (end < 0) return undefined;
    let value: unknown;
    try {
      value = JSON.parse(output.slice(start, end));
    } catch {
      return undefined;
    }
    const out: string[] = [];
    gotoNamesIn(value, out);
    return out;
  }
  const python = PYTHON_GOTO.exec(output);
  if (python) return [python[1] ?? python[2] ?? python[3]!];
  return undefined;
}

/** Names repeat across spans and groups (`agent`, `tools`, each agent's): their regex work is done once per name. Bounded against hostile input. */
const MAX_CACHED_NAMES = 4096;
const nodeKeys = new Map<string, string>();
const toolTargets = new Map<string, string | null>();

function nodeKeyOf(node: string): string {
  let key = nodeKeys.get(node);
  if (key === undefined) {
    key = normalizeAgentName(node);
    if (nodeKeys.size >= MAX_CACHED_NAMES) nodeKeys.clear();
    nodeKeys.set(node, key);
  }
  return key;
}

/** The target a tool's name declares: `transfer_back_to_x`, `transfer_to_x`, `handoff_to_x`. */
function targetOfToolName(tool: string): string | undefined {
  const known = toolTargets.get(tool);
  if (known !== undefined) return known ?? undefined;
  const back = TRANSFER_BACK.exec(tool);
  let target: string | undefined;
  if (back) target = back[1]!.trim();
  else {
    const named = transferTargetOfTool(tool);
    target = named === GENERIC_TRANSFER ? undefined : named;
  }
  if (toolTargets.size >= MAX_CACHED_NAMES) toolTargets.clear();
  toolTargets.set(tool, target ?? null);
  return target;
}

/** A LangGraph node run (the outermost span of one task). */
interface NodeRun {
  readonly span: SpanRecord;
  readonly meta: NodeMeta;
  readonly key: string;
  /** The graph (one run of it) this node belongs to. */
  readonly level: string;
  agent: boolean;
  /** Reached by a handoff tool: no graph-edge handoff into it. */
  arrivedByTool: boolean;
  /** Its graph's nodes are a prebuilt agent loop: steps of one agent. */
  loop: boolean;
  /** On a task's first run: how many times its RetryPolicy ran the task (1 when never retried). */
  attempts: number;
  /** A rerun of a task that had already run (a RetryPolicy retry): no handoff arrives at it. */
  rerun: boolean;
  /** A run of a task that a rerun replaced (it threw): it hands nothing on. */
  replaced: boolean;
  /** On a rerun: the task's first run. */
  first?: NodeRun;
  /** Where its own output's `Command` routed (node keys), null without one; read once, when first needed. */
  goto?: ReadonlySet<string> | null;
  /**
   * For a functional-API task (`task()` called from an entrypoint or a node): the node run whose code
   * called it. LangGraph runs the task as a node of the caller's graph, in the caller's step, its
   * namespace under the caller's (`network:<id>|callTravelAdvisor:<id>`).
   */
  caller?: NodeRun;
  /** A task in which a graph ran (an agent invoked inside it): the task is that agent's run. */
  runsGraph?: boolean;
  /** An entrypoint (its graph's only node) that ran agent tasks: the code between them, not an agent. */
  orchestrator?: boolean;
}

interface Draft {
  readonly span: SpanRecord;
  readonly source: NodeRun;
  readonly arrival: NodeRun;
  readonly inferred: boolean;
  readonly failed: boolean;
  /** The task the tool ran in: two successful transfers of one task are one move of the graph. */
  readonly toolTask: string;
}

function failureOf(span: SpanRecord): string {
  let text = span.statusMessage;
  // OpenLLMetry writes the exception's class as `error.type` (its status holds only `str(error)`).
  const errorType = span.attributes[ERROR_TYPE];
  if (typeof errorType === 'string') text += ` ${errorType}`;
  for (let i = 0; i < span.events.length; i++) {
    const event = span.events[i]!;
    if (event.name !== 'exception') continue;
    const type = event.attributes['exception.type'];
    const message = event.attributes['exception.message'];
    if (typeof type === 'string') text += ` ${type}`;
    if (typeof message === 'string') text += ` ${message.slice(0, 512)}`;
  }
  return text;
}

function outcomeOf(span: SpanRecord): 'completed' | 'failed' | 'blocked' {
  if (span.statusCode !== StatusCodeNumber.Error) return 'completed';
  const text = failureOf(span);
  // LangGraph's control flow, not a failure: a Command to a parent graph, a human-in-the-loop pause.
  if (text.includes('ParentCommand')) return 'completed';
  if (text.includes('GraphInterrupt') || text.includes('NodeInterrupt')) return 'blocked';
  return 'failed';
}

/** An agent that is a whole graph: a prebuilt agent loop (its nodes are steps), run at the top or inside a tool. */
interface GraphAgent {
  readonly span: SpanRecord;
  readonly agent: string;
  readonly threadId: string | undefined;
}

/** A delegation: a graph agent running inside another agent's tool call. */
interface Delegation {
  readonly tool: SpanRecord;
  readonly toolName: string;
  readonly owner: SpanRecord;
  readonly source: string;
  readonly target: GraphAgent;
}

function outputOf(attrs: Attributes): string | undefined {
  return readName(attrs, OPENINFERENCE_OUTPUT_VALUE) ?? readName(attrs, GEN_AI_COMPLETION);
}

/** OpenInference's and LangSmith's LangGraph spans. */
const OPENINFERENCE_VOCABULARY: LangGraphVocabulary = {
  kindOf: spanKindOf,
  metaOf: langGraphMetaOf,
  toolNameOf: (span) => readName(span.attributes, OPENINFERENCE_TOOL_NAME) ?? span.name,
  graphNameOf: (span) => span.name,
  gotoOf(span) {
    const output = outputOf(span.attributes);
    return output !== undefined ? commandGotoOf(output) : undefined;
  },
  hasOutput: (span) => outputOf(span.attributes) !== undefined,
  metadataKeys: `metadata.${LANGGRAPH_NODE}, ${LANGSMITH_NODE}`,
};

/** A graph's node order: by step (no step as 0), then start. */
function compareNodeOrder(a: NodeRun, b: NodeRun): number {
  return (a.meta.step ?? 0) - (b.meta.step ?? 0) || compareByStart(a.span, b.span);
}

/** A graph's node runs (in node order) by `{step}\0{compact key}`, `\0{compact key}` for those of no step; each list in start order. */
function indexByStepAndKey(list: readonly NodeRun[]): Map<string, NodeRun[]> {
  const index = new Map<string, NodeRun[]>();
  for (let i = 0; i < list.length; i++) {
    const node = list[i]!;
    const slot = `${node.meta.step === undefined ? '' : node.meta.step}\u0000${node.key.replace(UNDERSCORES, '')}`;
    let runs = index.get(slot);
    if (!runs) index.set(slot, (runs = []));
    runs.push(node);
  }
  return index;
}

/** The first run of `runs` (in start order) starting at or after `fromMs` that is neither `source` nor a rerun. */
function firstStartingFrom(runs: readonly NodeRun[] | undefined, source: NodeRun, fromMs: number): NodeRun | undefined {
  if (!runs) return undefined;
  const lo = partitionPoint(runs.length, (i) => runs[i]!.span.startMs < fromMs);
  for (let i = lo; i < runs.length; i++) {
    const candidate = runs[i]!;
    if (candidate !== source && !candidate.rerun) return candidate;
  }
  return undefined;
}

class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #meta = new Map<string, NodeMeta | null>();
  readonly #nodes = new Map<string, NodeRun>();
  readonly #levels = new Map<string, NodeRun[]>();
  readonly #tools: SpanRecord[] = [];
  /** Graph agents by the span id of the graph's root span. */
  readonly #graphAgents = new Map<string, GraphAgent>();
  /** Tool spans that ran a graph agent (delegations), by span id. */
  readonly #delegatingTools = new Set<string>();
  /** Failed tool calls that were no transfer: earlier attempts of a delegation, if one through the same tool follows. */
  readonly #failedCalls: { tool: SpanRecord; toolName: string; owner: string; claimed: boolean }[] = [];

  readonly #vocabulary: LangGraphVocabulary;
  /**
   * The node run nearest above a span, walked once per span for all below it: agents asking
   * agents through tools nest each graph inside the last, and walking to the root from every
   * graph's first node and every transfer tool was quadratic in the depth.
   */
  readonly #nodeAbove: NearestAncestor;
  /** Per graph run (level): its node runs by step and compact key, for the arrival after a transfer; built when first asked. */
  readonly #arrivalIndex = new Map<string, Map<string, NodeRun[]>>();

  constructor(context: DialectContext, vocabulary: LangGraphVocabulary) {
    this.#context = context;
    this.#vocabulary = vocabulary;
    // #nodes is complete before the first question: the test depends on the span alone.
    this.#nodeAbove = new NearestAncestor(context, (span) => this.#nodes.has(span.spanId));
  }

  #ignore(span: SpanRecord, reason: string): void {
    this.ignored.push({ span, reason });
  }

  #metaOf(span: SpanRecord): NodeMeta | undefined {
    const known = this.#meta.get(span.spanId);
    if (known !== undefined) return known ?? undefined;
    const meta = this.#vocabulary.metaOf(span.attributes);
    this.#meta.set(span.spanId, meta ?? null);
    return meta;
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    const outside: SpanRecord[] = [];
    const inside: SpanRecord[] = [];
    const seen = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (seen.has(span.spanId)) continue; // a re-exported copy
      seen.add(span.spanId);
      const tool = this.#vocabulary.kindOf(span.attributes) === 'TOOL';
      if (tool) this.#tools.push(span);
      const meta = this.#metaOf(span);
      if (meta === undefined) {
        if (!tool) outside.push(span);
        continue;
      }
      const parent = this.#context.parentOf(span);
      const parentMeta = parent ? this.#metaOf(parent) : undefined;
      if (parentMeta !== undefined && taskKeyOf(parentMeta) === taskKeyOf(meta)) {
        if (!tool) inside.push(span);
        continue;
      }
      if (meta.node === START_NODE || meta.node === END_NODE) {
        this.#ignore(span, `LangGraph's ${meta.node} step: routing, no agent`);
        continue;
      }
      this.#nodes.set(span.spanId, { span, meta, key: nodeKeyOf(meta.node), level: '', agent: false, arrivedByTool: false, loop: false, attempts: 1, rerun: false, replaced: false });
    }
    this.#placeNodes();
    this.#placeGraphAgents();
    this.#tools.sort(compareByStart);
    const delegations = this.#readDelegations();
    const drafts: Draft[] = [];
    for (let i = 0; i < this.#tools.length; i++) if (!this.#delegatingTools.has(this.#tools[i]!.spanId)) this.#readTool(this.#tools[i]!, drafts);
    this.#emitToolTransfers(drafts);
    this.#emitDelegations(delegations);
    this.#emitEdgeTransfers();
    this.#emitTaskTransfers();
    this.#emitRuns();
    for (let i = 0; i < outside.length; i++) {
      const span = outside[i]!;
      if (this.#graphAgents.has(span.spanId)) continue;
      // Without a scope (the Python SDK's console JSON), an OpenInference span may be another framework's that only its scope names.
      const unscoped = span.scopeName === '' && span.attributes[OPENINFERENCE_SPAN_KIND] !== undefined ? UNSCOPED_OPENINFERENCE : '';
      this.#ignore(span, `${String(this.#vocabulary.kindOf(span.attributes))} span without LangGraph node metadata (${this.#vocabulary.metadataKeys}): no agent or handoff meaning${unscoped}`);
    }
    for (let i = 0; i < inside.length; i++) {
      const span = inside[i]!;
      if (this.#graphAgents.has(span.spanId)) continue;
      this.#ignore(span, `inside LangGraph node ${this.#metaOf(span)!.node}: part of that node's run`);
    }
    return { parts: this.parts, ignored: this.ignored };
  }

  /** The node run nearest above `span` (itself excluded), or undefined; a parent cycle ends the walk. */
  #nodeRunAbove(span: SpanRecord): NodeRun | undefined {
    const above = this.#nodeAbove.of(span);
    return above ? this.#nodes.get(above.spanId) : undefined;
  }

  /** The agent (agent node or graph agent) a span runs in, nearest first. */
  #ownerOf(span: SpanRecord): { span: SpanRecord; agent: string } | undefined {
    let steps = 0;
    for (let current = this.#context.parentOf(span); current && steps < MAX_WALK; current = this.#context.parentOf(current), steps++) {
      if (current.spanId === span.spanId) break;
      const node = this.#nodes.get(current.spanId);
      if (node && node.agent) return { span: node.span, agent: node.meta.node };
      const graph = this.#graphAgents.get(current.spanId);
      if (graph) return { span: graph.span, agent: graph.agent };
    }
    return undefined;
  }

  /**
   * Which graph run each node belongs to (LangGraph makes every node run a child of
   * its graph's run, so the parent span names the graph run); the top-level graph's
   * nodes are agents unless they are one agent's loop.
   */
  #placeNodes(): void {
    for (const node of this.#nodes.values()) {
      const level = `${node.span.traceId}:${node.span.parentSpanId}`;
      (node as Mutable<NodeRun>).level = level;
      let list = this.#levels.get(level);
      if (!list) this.#levels.set(level, (list = []));
      list.push(node);
    }
    for (const list of this.#levels.values()) {
      list.sort((a, b) => (a.meta.step ?? 0) - (b.meta.step ?? 0) || compareByStart(a.span, b.span));
      this.#linkTasks(list);
    }
    // A graph run inside a task (its nearest enclosing node run) makes the task an agent's run.
    for (const list of this.#levels.values()) {
      const enclosing = this.#nodeRunAbove(list[0]!.span);
      if (enclosing?.caller) enclosing.runsGraph = true;
    }
    for (const list of this.#levels.values()) {
      // Every run of a task is the same agent's, a run that threw before its graph started too (a RetryPolicy's attempt).
      let graphTasks: Set<string> | undefined;
      for (let i = 0; i < list.length; i++) if (list[i]!.runsGraph) (graphTasks ??= new Set()).add(taskKeyOf(list[i]!.meta));
      let loop = true;
      for (let i = 0; i < list.length; i++) {
        const node = list[i]!;
        if (!node.caller) loop &&= AGENT_LOOP_NODES.has(node.meta.node);
        else if (graphTasks?.has(taskKeyOf(node.meta))) node.runsGraph = true;
      }
      const top = this.#nodeRunAbove(list[0]!.span) === undefined;
      for (let i = 0; i < list.length; i++) {
        const node = list[i]!;
        node.loop = loop;
        node.agent = top && (node.caller ? node.runsGraph === true : !loop);
      }
      if (top) this.#markOrchestrators(list);
      this.#markReruns(list);
    }
  }

  /** Links each functional-API task to the node run that called it: the run of its graph whose namespace its own extends. */
  #linkTasks(list: readonly NodeRun[]): void {
    let byNs: Map<string, NodeRun> | undefined;
    for (let i = 0; i < list.length; i++) {
      const ns = list[i]!.meta.ns;
      if (ns === undefined) continue;
      byNs ??= new Map();
      if (!byNs.has(ns)) byNs.set(ns, list[i]!);
    }
    if (!byNs) return;
    for (let i = 0; i < list.length; i++) {
      const node = list[i]!;
      const ns = node.meta.ns;
      const bar = ns === undefined ? -1 : ns.lastIndexOf('|');
      if (bar <= 0) continue;
      const caller = byNs.get(ns!.slice(0, bar));
      if (caller && caller !== node) node.caller = caller;
    }
  }

  /**
   * An entrypoint (the functional API's graph has one node, the entrypoint, and its tasks) that ran
   * agent tasks is the code passing the work between them, as a graph's edges are: not an agent. A
   * node of a larger graph that calls agent tasks stays an agent, delegating to them.
   */
  #markOrchestrators(list: readonly NodeRun[]): void {
    let graphNode: string | undefined;
    for (let i = 0; i < list.length; i++) {
      const node = list[i]!;
      if (node.caller) continue;
      if (graphNode !== undefined && graphNode !== node.key) return;
      graphNode = node.key;
    }
    for (let i = 0; i < list.length; i++) {
      const task = list[i]!;
      if (task.caller && task.agent) {
        task.caller.orchestrator = true;
        task.caller.agent = false;
      }
    }
  }

  /**
   * A node with a RetryPolicy that throws is run again as the same Pregel task: the
   * same `langgraph_checkpoint_ns` (task id included) in the same step of the same
   * graph run. Those runs are attempts of one task, so one handoff arrives at the
   * first (counting them all) and only the last hands on. Without the namespace
   * (node and step only) `Send` fan-out looks the same, so nothing is merged.
   */
  #markReruns(list: NodeRun[]): void {
    let byNs: Map<string, NodeRun> | undefined;
    let last: Map<string, NodeRun> | undefined;
    for (let i = 0; i < list.length; i++) {
      const node = list[i]!;
      const ns = node.meta.ns;
      if (ns === undefined) continue;
      const key = `${ns}\u0000${String(node.meta.step)}`;
      byNs ??= new Map();
      last ??= new Map();
      const first = byNs.get(key);
      if (!first) {
        byNs.set(key, node);
        last.set(key, node);
        continue;
      }
      first.attempts++;
      node.rerun = true;
      node.first = first;
      last.get(key)!.replaced = true;
      last.set(key, node);
    }
  }

  /**
   * A graph whose nodes are a prebuilt agent loop (`agent` ⇄ `tools`) is one agent,
   * named by the graph's own span (createReactAgent's `name`): at the top level, or
   * run inside a tool (an agent used as a tool). Inside an agent node (no tool call
   * between) it is that node's own loop.
   */
  #placeGraphAgents(): void {
    for (const list of this.#levels.values()) {
      const first = list[0];
      if (!first || !first.loop) continue;
      const root = this.#context.parentOf(first.span);
      if (!root || this.#graphAgents.has(root.spanId) || this.#nodes.has(root.spanId)) continue;
      if (this.#insideAgentNode(root)) continue;
      const kind = this.#vocabulary.kindOf(root.attributes);
      if (kind !== 'CHAIN' && kind !== 'AGENT') continue;
      this.#graphAgents.set(root.spanId, { span: root, agent: this.#vocabulary.graphNameOf(root), threadId: first.meta.threadId });
    }
  }

  /** Whether the nearest agent node or tool call above `span` is an agent node (a graph there is that node's own loop). */
  #insideAgentNode(span: SpanRecord): boolean {
    let steps = 0;
    for (let current = this.#context.parentOf(span); current && steps < MAX_WALK; current = this.#context.parentOf(current), steps++) {
      if (current.spanId === span.spanId) break;
      if (this.#vocabulary.kindOf(current.attributes) === 'TOOL') return false;
      const node = this.#nodes.get(current.spanId);
      if (node && node.agent) return true;
    }
    return false;
  }

  /** Graph agents run inside a tool call: delegations from the tool's agent, returning to it. */
  #readDelegations(): Delegation[] {
    const out: Delegation[] = [];
    for (const graph of this.#graphAgents.values()) {
      let tool: SpanRecord | undefined;
      let steps = 0;
      for (let current = this.#context.parentOf(graph.span); current && steps < MAX_WALK; current = this.#context.parentOf(current), steps++) {
        if (current.spanId === graph.span.spanId || this.#graphAgents.has(current.spanId)) break;
        const node = this.#nodes.get(current.spanId);
        if (node && node.agent) break;
        if (this.#vocabulary.kindOf(current.attributes) === 'TOOL') {
          tool = current;
          break;
        }
      }
      if (!tool) continue;
      const toolName = this.#vocabulary.toolNameOf(tool);
      const owner = this.#ownerOf(tool);
      if (!owner) {
        this.#ignore(tool, `tool ${toolName} ran agent ${graph.agent} outside any agent: the delegating agent is unknown`);
        continue;
      }
      this.#delegatingTools.add(tool.spanId);
      out.push({ tool, toolName, owner: owner.span, source: owner.agent, target: graph });
    }
    out.sort((a, b) => compareByStart(a.tool, b.tool) || compareByStart(a.target.span, b.target.span));
    return out;
  }

  /** The node `key` ran as in the step after `source`, in `source`'s graph, starting at or after `fromMs`. */
  #arrivalAfter(source: NodeRun, key: string, fromMs: number): NodeRun | undefined {
    const list = this.#levels.get(source.level);
    if (!list) return undefined;
    const compact = key.replace(UNDERSCORES, '');
    const step = source.meta.step;
    if (step !== undefined) {
      // Of the nodes in the graph's order (step, then start), the first of that key starting at or after
      // fromMs, in the next step or of no step: looked up by step and key (a long swarm's graph holds a
      // node per step, and scanning them from every transfer was quadratic).
      let index = this.#arrivalIndex.get(source.level);
      if (!index) this.#arrivalIndex.set(source.level, (index = indexByStepAndKey(list)));
      const unstepped = firstStartingFrom(index.get(`\u0000${compact}`), source, fromMs);
      const next = firstStartingFrom(index.get(`${step + 1}\u0000${compact}`), source, fromMs);
      if (!unstepped || !next) return unstepped ?? next;
      return compareNodeOrder(unstepped, next) <= 0 ? unstepped : next;
    }
    for (let i = 0; i < list.length; i++) {
      const candidate = list[i]!;
      if (candidate === source || candidate.rerun || candidate.span.startMs < fromMs) continue;
      if (candidate.key !== key && candidate.key.replace(UNDERSCORES, '') !== compact) continue;
      if (source.meta.step !== undefined && candidate.meta.step !== undefined && candidate.meta.step !== source.meta.step + 1) continue;
      return candidate;
    }
    return undefined;
  }

  #readTool(tool: SpanRecord, drafts: Draft[]): void {
    const toolName = this.#vocabulary.toolNameOf(tool);
    const failed = tool.statusCode === StatusCodeNumber.Error;
    const goto = this.#vocabulary.gotoOf(tool, this.#context);
    const named = targetOfToolName(toolName);
    let targets: string[];
    let declared = false;
    if (goto !== undefined) {
      if (goto.length === 0) {
        this.#ignore(tool, `tool ${toolName} returned a Command without goto: it updates state, no handoff`);
        return;
      }
      targets = goto;
      declared = true;
    } else if (named !== undefined) {
      if (this.#vocabulary.hasOutput(tool) && !failed) {
        this.#ignore(tool, `tool ${toolName} is named like a transfer but returned no LangGraph Command: not a handoff`);
        return;
      }
      targets = [named];
    } else {
      if (failed) {
        const owner = this.#ownerOf(tool);
        if (owner) {
          this.#failedCalls.push({ tool, toolName, owner: owner.span.spanId, claimed: false });
          return;
        }
      }
      this.#ignore(tool, `tool ${toolName} is not a transfer: no Command goto in its output, not transfer_to_<agent>, no agent run inside it`);
      return;
    }
    const nearest = this.#nodeRunAbove(tool);
    if (!nearest) {
      this.#ignore(tool, `transfer tool ${toolName} outside any LangGraph node: the source agent is unknown`);
      return;
    }
    const toolTask = taskKeyOf(nearest.meta);
    for (let t = 0; t < targets.length; t++) {
      const key = nodeKeyOf(targets[t]!);
      let arrival: NodeRun | undefined;
      let source: NodeRun | undefined;
      // Nearest graph first: a plain Command moves the tool's own graph, Command.PARENT the one above.
      // The enclosing nodes one at a time, up to the first that has the arrival (a parent cycle ends at a node met before).
      let met: Set<NodeRun> | undefined;
      for (let node: NodeRun | undefined = nearest; node && !arrival; node = this.#nodeRunAbove(node.span)) {
        if (node.span.spanId === tool.spanId) break;
        if (node !== nearest) {
          met ??= new Set([nearest]);
          if (met.has(node)) break;
          met.add(node);
        }
        arrival = this.#arrivalAfter(node, key, tool.startMs);
        if (arrival) source = node;
      }
      if (!arrival || !source) {
        this.#ignore(
          tool,
          `transfer to ${targets[t]!}: no node ${targets[t]!} ran in the next step of an enclosing graph, so the graph did not move there (another transfer in the same step won, the run stopped, or the tool only looks like a transfer)`,
        );
        continue;
      }
      drafts.push({ span: tool, source, arrival, inferred: !declared, failed, toolTask });
    }
  }

  #emitToolTransfers(drafts: readonly Draft[]): void {
    const merged = new Map<string, { part: Mutable<TransferPart>; succeeded: Set<string> }>();
    for (let i = 0; i < drafts.length; i++) {
      const draft = drafts[i]!;
      draft.source.agent = true;
      draft.arrival.agent = true;
      draft.arrival.arrivedByTool = true;
      // Both ends' graphs hold agents (a hierarchical team's inner graph).
      this.#markAgentLevel(draft.source.level);
      const key = `${draft.source.span.spanId}\u0000${draft.arrival.span.spanId}`;
      const first = merged.get(key);
      if (first) {
        if (!draft.failed && first.succeeded.has(draft.toolTask)) {
          this.#ignore(draft.span, `second transfer to ${draft.arrival.meta.node} in the same step as span ${first.part.span.spanId}: the graph moved once`);
          continue;
        }
        if (!draft.failed) first.succeeded.add(draft.toolTask);
        first.part.sendCount = (first.part.sendCount ?? 1) + 1;
        if (!draft.inferred) first.part.inferred = false;
        this.#ignore(draft.span, `retry of the transfer on span ${first.part.span.spanId}: counted in its sendCount`);
        continue;
      }
      const part: Mutable<TransferPart> = {
        type: 'transfer',
        span: draft.span,
        source: draft.source.meta.node,
        target: draft.arrival.meta.node,
        mode: 'pass_control',
        inferred: draft.inferred,
        arrival: draft.arrival.span,
      };
      put(part, 'taskId', draft.source.meta.threadId ?? draft.arrival.meta.threadId);
      if (draft.arrival.attempts > 1) part.sendCount = draft.arrival.attempts;
      const succeeded = new Set<string>();
      if (!draft.failed) succeeded.add(draft.toolTask);
      merged.set(key, { part, succeeded });
      this.parts.push(part);
    }
  }

  /** Delegations, each with the failed calls of the same tool in the same run before it as earlier attempts. */
  #emitDelegations(delegations: readonly Delegation[]): void {
    const failures = this.#failedCalls;
    failures.sort((a, b) => compareByStart(a.tool, b.tool));
    // The failures by run and tool, each list in start order with a pointer past those claimed: the
    // delegations come in start order, so each claims the next ones up to its own start.
    const byCall = new Map<string, { readonly list: (typeof failures)[number][]; next: number }>();
    for (let f = 0; f < failures.length; f++) {
      const failure = failures[f]!;
      const slot = `${failure.owner}\u0000${failure.toolName}`;
      let call = byCall.get(slot);
      if (!call) byCall.set(slot, (call = { list: [], next: 0 }));
      call.list.push(failure);
    }
    for (let i = 0; i < delegations.length; i++) {
      const d = delegations[i]!;
      let first = d.tool;
      let attempts = 1;
      const call = byCall.get(`${d.owner.spanId}\u0000${d.toolName}`);
      for (; call && call.next < call.list.length && call.list[call.next]!.tool.startMs <= d.tool.startMs; call.next++) {
        const failure = call.list[call.next]!;
        failure.claimed = true;
        attempts++;
        if (compareByStart(failure.tool, first) < 0) first = failure.tool;
      }
      const part: Mutable<TransferPart> = {
        type: 'transfer',
        span: first,
        source: d.source,
        target: d.target.agent,
        mode: 'return_to_caller',
        inferred: true,
        arrival: d.target.span,
      };
      put(part, 'taskId', d.target.threadId ?? this.#metaOf(d.tool)?.threadId);
      if (attempts > 1) {
        part.sendCount = attempts;
        this.#ignore(d.tool, `retry of the delegation on span ${first.spanId}: counted in its sendCount`);
      }
      this.parts.push(part);
    }
    for (let f = 0; f < failures.length; f++) {
      const failure = failures[f]!;
      if (!failure.claimed) this.#ignore(failure.tool, `tool ${failure.toolName} failed and is not a transfer; no delegation through it followed`);
    }
  }

  /** Graph runs whose nodes were all marked agents: each once (every transfer of a long swarm thread marked its whole graph again). */
  readonly #agentLevels = new Set<string>();

  #markAgentLevel(level: string): void {
    if (this.#agentLevels.has(level)) return;
    this.#agentLevels.add(level);
    const list = this.#levels.get(level);
    if (!list || list[0]!.loop) return;
    for (let i = 0; i < list.length; i++) {
      const node = list[i]!;
      node.agent = node.caller ? node.runsGraph === true : node.orchestrator !== true;
    }
  }

  /**
   * Agent node runs reached along a graph edge (no handoff tool): a transfer from
   * the agent node(s) of the step before. A node that returned a `Command` says
   * where it routed (its output's `goto`): it is the declared source of the nodes
   * it named and of no other, as long as some node of that step may have sent
   * each arrival (else, a static edge beside the Command, every one is kept).
   */
  #emitEdgeTransfers(): void {
    const candidates: NodeRun[] = [];
    for (const list of this.#levels.values()) {
      let agents = false;
      for (let i = 0; i < list.length && !agents; i++) agents = list[i]!.agent && list[i]!.caller === undefined;
      if (!agents) continue;
      for (let i = 1; i < list.length; i++) {
        const node = list[i]!;
        // A task is called by a node's code, not reached along an edge (#emitTaskTransfers).
        if (node.caller || node.arrivedByTool || node.rerun) continue;
        const step = node.meta.step;
        candidates.length = 0;
        for (let j = i - 1; j >= 0; j--) {
          const previous = list[j]!;
          if (step !== undefined && previous.meta.step !== undefined) {
            if (previous.meta.step === step) continue; // a sibling in the same step
            if (previous.meta.step < step - 1) break;
          } else if (j < i - 1) break;
          if (previous.replaced || previous.caller) continue; // a failed attempt (its rerun hands on), a task (its caller does)
          candidates.push(previous);
          if (step === undefined || previous.meta.step === undefined) break;
        }
        let possible = 0;
        for (let c = 0; c < candidates.length; c++) {
          const goto = this.#gotoOf(candidates[c]!);
          if (goto === null || goto.has(node.key)) possible++;
        }
        for (let c = 0; c < candidates.length; c++) {
          const previous = candidates[c]!;
          const goto = this.#gotoOf(previous);
          const declared = goto !== null && goto.has(node.key);
          if (possible > 0 && goto !== null && !declared) continue; // it routed elsewhere
          const part: Mutable<TransferPart> = {
            type: 'transfer',
            span: previous.span,
            source: previous.meta.node,
            target: node.meta.node,
            inferred: !declared,
            arrival: node.span,
          };
          put(part, 'taskId', previous.meta.threadId ?? node.meta.threadId);
          if (node.attempts > 1) part.sendCount = node.attempts;
          this.parts.push(part);
        }
      }
    }
  }

  /**
   * Agent tasks of the functional API. Those an entrypoint ran hand the work on in the order its code
   * ran them: each task receives from the tasks that had ended when it started and were not already
   * followed by one that had ended too (a loop of agents one after another, a fan-out ending in a
   * fan-in), inferred, the sender's task span the evidence; a task that threw hands nothing on, and a
   * task run again by its RetryPolicy is one arrival, `sendCount` the runs. Agent tasks a node of a
   * larger graph called are delegations from that node (`return_to_caller`, inferred): no span marks
   * the call apart from the task's own.
   */
  #emitTaskTransfers(): void {
    const byCaller = new Map<NodeRun, NodeRun[]>();
    for (const node of this.#nodes.values()) {
      if (!node.caller || !node.agent) continue;
      let tasks = byCaller.get(node.caller);
      if (!tasks) byCaller.set(node.caller, (tasks = []));
      tasks.push(node);
    }
    for (const [caller, tasks] of byCaller) {
      tasks.sort((a, b) => compareByStart(a.span, b.span));
      if (!caller.orchestrator) {
        for (let i = 0; i < tasks.length; i++) {
          const task = tasks[i]!;
          if (task.rerun) continue;
          const part: Mutable<TransferPart> = { type: 'transfer', span: task.span, source: caller.meta.node, target: task.meta.node, mode: 'return_to_caller', inferred: true, arrival: task.span };
          put(part, 'taskId', caller.meta.threadId ?? task.meta.threadId);
          if (task.attempts > 1) part.sendCount = task.attempts;
          this.parts.push(part);
        }
        continue;
      }
      const senders: NodeRun[] = [];
      for (let i = 0; i < tasks.length; i++) if (!tasks[i]!.replaced && outcomeOf(tasks[i]!.span) !== 'failed') senders.push(tasks[i]!);
      senders.sort((a, b) => a.span.endMs - b.span.endMs || compareByStart(a.span, b.span));
      let frontier: NodeRun[] = [];
      let latestStartMs = Number.NEGATIVE_INFINITY;
      let next = 0;
      for (let i = 0; i < tasks.length; i++) {
        const task = tasks[i]!;
        if (task.rerun) continue;
        let grew = false;
        while (next < senders.length && senders[next]!.span.endMs <= task.span.startMs) {
          const sender = senders[next++]!;
          frontier.push(sender);
          const startMs = (sender.first ?? sender).span.startMs;
          if (startMs > latestStartMs) latestStartMs = startMs;
          grew = true;
        }
        // A sender that ended before a later sender started (its first attempt) had its work taken on already.
        if (grew) frontier = frontier.filter((s) => s.span.endMs > latestStartMs || (s.first ?? s).span.startMs === latestStartMs);
        for (let f = 0; f < frontier.length; f++) {
          const sender = frontier[f]!;
          const part: Mutable<TransferPart> = { type: 'transfer', span: sender.span, source: sender.meta.node, target: task.meta.node, inferred: true, arrival: task.span };
          put(part, 'taskId', sender.meta.threadId ?? task.meta.threadId);
          if (task.attempts > 1) part.sendCount = task.attempts;
          this.parts.push(part);
        }
      }
    }
  }

  /** The node keys a node run's own output routed to (a LangGraph `Command` with `goto`), or null without one. */
  #gotoOf(node: NodeRun): ReadonlySet<string> | null {
    if (node.goto !== undefined) return node.goto;
    const goto = this.#vocabulary.gotoOf(node.span, this.#context);
    let keys: Set<string> | null = null;
    if (goto !== undefined && goto.length > 0) {
      keys = new Set();
      for (let i = 0; i < goto.length; i++) keys.add(nodeKeyOf(goto[i]!));
    }
    node.goto = keys;
    return keys;
  }

  #emitRuns(): void {
    const runs: { span: SpanRecord; agent: string; threadId: string | undefined }[] = [];
    for (const node of this.#nodes.values()) {
      if (!node.agent) {
        if (node.orchestrator) {
          this.#ignore(node.span, `LangGraph entrypoint ${node.meta.node}: its code ran agent tasks one after another (the functional API), passing the work between them: not an agent`);
          continue;
        }
        const owner = this.#ownerOf(node.span);
        if (node.caller && !node.runsGraph) {
          this.#ignore(node.span, `LangGraph task ${node.meta.node} of ${node.caller.meta.node}: a step of its run (no agent graph ran in it), not an agent`);
          continue;
        }
        this.#ignore(node.span, `LangGraph node ${node.meta.node}${owner ? ` inside agent ${owner.agent}` : ''}: a step of an agent's run, not an agent`);
        continue;
      }
      runs.push({ span: node.span, agent: node.meta.node, threadId: node.meta.threadId });
    }
    for (const graph of this.#graphAgents.values()) runs.push(graph);
    runs.sort((a, b) => compareByStart(a.span, b.span));
    for (let i = 0; i < runs.length; i++) {
      const run = runs[i]!;
      const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.span, agent: run.agent, outcome: outcomeOf(run.span) };
      put(part, 'taskId', run.threadId);
      this.parts.push(part);
    }
  }
}

/** LangGraph / LangChain spans from OpenInference or LangSmith's OTel export (see the file header). */
export const openInferenceDialect: Dialect = {
  id: 'openinference',
  description: 'LangGraph / LangChain via OpenInference or LangSmith OTel (node runs, Command handoffs, graph edges)',
  readsAttribute(name) {
    return (
      name === OPENINFERENCE_SPAN_KIND ||
      name === OPENINFERENCE_METADATA ||
      name === OPENINFERENCE_SESSION_ID ||
      name === OPENINFERENCE_TOOL_NAME ||
      name === OPENINFERENCE_OUTPUT_VALUE ||
      name === LANGSMITH_SPAN_KIND ||
      name === GEN_AI_COMPLETION ||
      name.startsWith(LANGSMITH_METADATA_PREFIX)
    );
  },
  claims(span) {
    const attrs = span.attributes;
    const kind = attrs[OPENINFERENCE_SPAN_KIND];
    if (typeof kind === 'string') {
      if (kind !== 'CHAIN' && kind !== 'TOOL' && kind !== 'AGENT') return false;
      return !isOpenAiAgentsScope(span.scopeName) && !isMarkedGenAiAgentSpan(attrs);
    }
    const langsmith = attrs[LANGSMITH_SPAN_KIND];
    return langsmith === 'chain' || langsmith === 'tool';
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context, OPENINFERENCE_VOCABULARY).run(spans);
  },
};

/** LangGraph spans in another vocabulary, read as this dialect reads OpenInference's (see the file header). */
export function interpretLangGraph(spans: readonly SpanRecord[], context: DialectContext, vocabulary: LangGraphVocabulary): DialectResult {
  return new Interpretation(context, vocabulary).run(spans);
}
