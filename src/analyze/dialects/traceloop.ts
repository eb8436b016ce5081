/**
 * The `openllmetry` dialect: traces written by OpenLLMetry (Traceloop: Python
 * `traceloop-sdk` and its `opentelemetry-instrumentation-*` packages, JS
 * `@traceloop/node-server-sdk`). docs/frameworks.md ("OpenLLMetry") lists what is read
 * and the source files each rule was checked against.
 *
 * Three vocabularies share `traceloop.span.kind`:
 * - **LangGraph** through the Python LangChain instrumentation (scope
 *   `opentelemetry.instrumentation.langchain`): one span per LangChain run (`{name}.workflow`
 *   for the outermost, `execute_task {name}` for chains, `execute_tool {name}` for tools), the
 *   run's metadata flattened as `traceloop.association.properties.<key>` (LangGraph's
 *   `langgraph_node`, `langgraph_step`, `langgraph_checkpoint_ns`, `thread_id`), and a `goto
 *   {target}` span wherever a `Command` with `goto` is created. Node runs, graph edges and
 *   `Command` handoffs are read by the LangGraph reading of ./openinference.ts, given this
 *   vocabulary; a `Command`'s targets come from its `goto` span (written with content tracing
 *   off too), else from the recorded output. The graph's own `invoke_agent {graph}` span is a
 *   container, ignored.
 * - **OpenAI Agents SDK** (scope `opentelemetry.instrumentation.openai_agents`): `{agent}.agent`
 *   runs, all children of the `Agent Workflow` root; `{from} → {to}.handoff` spans with
 *   `gen_ai.handoff.from_agent` / `to_agent`: a declared `pass_control` transfer arriving at the
 *   target's next run that nothing else claimed. An agent run as a tool is a sibling of its
 *   caller too (the processor parents every agent span to the root), so the delegation is
 *   inferred from time: a run that starts and ends inside a function span of another run, and
 *   that no handoff arrived at, is a `return_to_caller` transfer through that function.
 * - **Agents by nesting**: CrewAI (scope `opentelemetry.instrumentation.crewai`: `{role}.agent`
 *   inside `{description}.task` inside `crewai.workflow`) and the SDK decorators (`@agent`,
 *   `@tool`, `withAgent`, `withTool`: scopes `traceloop.tracer`, `@traceloop/node-server-sdk`).
 *   An agent run nested in another agent's run is a delegation (`return_to_caller`, inferred),
 *   sent through the nearest tool or task span between them, else marked only by the nested run
 *   itself, unless a handoff arrived at it; a run nested in a run of the same agent is that
 *   agent's own retry (CrewAI's `execute_task` calls itself again after an error), no handoff,
 *   read as part of the run it retried in. A workflow container (`Agent Workflow`, `@workflow`,
 *   `crewai.workflow`) nested in an agent's run (`Runner.run` in an `@agent`, a crew kicked off
 *   in a `@tool`) is one delegation from that run to the workflow's first run, sent through the
 *   nearest tool or task above the workflow, else on the workflow: the later runs get their work
 *   from the runs before them. A sequential crew
 *   (`crewai.crew.process`) hands each task's output to the next task: a `pass_control`
 *   transfer, inferred, between consecutive tasks of different agents.
 *
 * Spans without an instrumentation scope (the OpenTelemetry Python SDK's console JSON writes none)
 * are read by their attributes, which only OpenLLMetry writes: a `traceloop.span.kind`, a `goto`
 * span's `langgraph.command.*`, the LangGraph graph span (`invoke_agent`, provider `langgraph`) and
 * `crewai.workflow` (its `crewai.crew.process`). Of those, the LangChain ones are the spans of a
 * LangGraph run (provider `langgraph`, LangGraph's metadata, a `goto`); an agent run with provider
 * `openai` is an OpenAI Agents run (read from time as an agent as a tool). OpenLLMetry's other
 * instrumentations that write a span kind (Agno, LlamaIndex, Haystack, MCP) cannot be told apart
 * there: their spans are read by nesting, as the decorators' are.
 *
 * A failed call followed by another call of the same tool from the same run to the same agent
 * (or a failed handoff followed by one from the same run to the same agent) is one handoff
 * attempted again (`sendCount`). ERROR on a run is a failed run (LangGraph's ParentCommand is not:
 * see ./openinference.ts). The JS LangChain instrumentation (`@traceloop/instrumentation-langchain`)
 * writes no LangGraph metadata and starts its spans without their run's parent: claimed, and
 * ignored with that reason.
 *
 * Linear in the group's spans but for sorts, ancestor walks through the context (cycle-safe), the
 * agents-as-tools sweep, which compares each run with the tool calls still open when it starts,
 * and a binary search per failed tool call among the delegations of its run and tool.
 *
 * @see https://github.com/traceloop/openllmetry
 * @see https://github.com/traceloop/openllmetry-js
 */
import {
  ERROR_TYPE,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  GEN_AI_PROVIDER_NAME,
  GEN_AI_TASK_OUTPUT,
  GEN_AI_TOOL_CALL_RESULT,
  GEN_AI_TOOL_NAME,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
  LANGGRAPH_CHECKPOINT_NS,
  LANGGRAPH_COMMAND_GOTO_NODE,
  LANGGRAPH_COMMAND_GOTO_NODES,
  LANGGRAPH_COMMAND_SOURCE_NODE,
  LANGGRAPH_NODE,
  LANGGRAPH_STEP,
  LANGGRAPH_THREAD_ID,
  OPENLLMETRY_CREWAI_PROCESS,
  OPENLLMETRY_HANDOFF_FROM_AGENT,
  OPENLLMETRY_HANDOFF_PARENT_AGENT,
  OPENLLMETRY_HANDOFF_TO_AGENT,
  TRACELOOP_ASSOCIATION_PREFIX,
  TRACELOOP_ENTITY_NAME,
  TRACELOOP_ENTITY_OUTPUT,
  TRACELOOP_SPAN_KIND,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart, partitionPoint } from '../span-index.js';
import { type Attributes, parseJsonText, put, readName, readNumber } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { NearestAncestor } from './nearest-ancestor.js';
import { commandGotoOf, interpretLangGraph, type LangGraphVocabulary, type NodeMeta } from './openinference.js';
import { normalizeAgentName } from './otel-genai.js';

/** The instrumentation scopes read (each `get_tracer(__name__)`, or the SDK's tracer name). */
export const OPENLLMETRY_LANGCHAIN_SCOPE = 'opentelemetry.instrumentation.langchain';
export const OPENLLMETRY_LANGCHAIN_JS_SCOPE = '@traceloop/instrumentation-langchain';
export const OPENLLMETRY_OPENAI_AGENTS_SCOPE = 'opentelemetry.instrumentation.openai_agents';
export const OPENLLMETRY_CREWAI_SCOPE = 'opentelemetry.instrumentation.crewai';
/** The SDKs' own tracers (decorators): Python `traceloop.tracer`, JS `@traceloop/node-server-sdk`. */
export const TRACELOOP_SDK_SCOPES: ReadonlySet<string> = new Set(['traceloop.tracer', '@traceloop/node-server-sdk']);

/** Longest JSON text parsed (a `goto_nodes` list, an output searched for a `Command`). */
const MAX_JSON_CHARS = 1 << 20;

const PROPERTY_NODE = TRACELOOP_ASSOCIATION_PREFIX + LANGGRAPH_NODE;
const PROPERTY_STEP = TRACELOOP_ASSOCIATION_PREFIX + LANGGRAPH_STEP;
const PROPERTY_NS = TRACELOOP_ASSOCIATION_PREFIX + LANGGRAPH_CHECKPOINT_NS;
/** Where a conversation id may be: LangGraph's `thread_id` (copied from `configurable` into the metadata), the app's association properties. */
const TASK_PROPERTIES: readonly string[] = [LANGGRAPH_THREAD_ID, 'session_id', 'conversation_id'].map((k) => TRACELOOP_ASSOCIATION_PREFIX + k);

const operationOf = (span: SpanRecord): string | undefined => readName(span.attributes, GEN_AI_OPERATION_NAME);
const kindOf = (span: SpanRecord): string | undefined => readName(span.attributes, TRACELOOP_SPAN_KIND);

function taskIdOf(attrs: Attributes): string | undefined {
  const conversation = readName(attrs, GEN_AI_CONVERSATION_ID);
  if (conversation !== undefined) return conversation;
  for (let i = 0; i < TASK_PROPERTIES.length; i++) {
    const value = readName(attrs, TASK_PROPERTIES[i]!);
    if (value !== undefined) return value;
  }
  return undefined;
}

/** The targets of a `goto` span: `langgraph.command.goto_node`, else the JSON list in `goto_nodes`. */
function gotoTargetsOf(span: SpanRecord): string[] {
  const one = readName(span.attributes, LANGGRAPH_COMMAND_GOTO_NODE);
  if (one !== undefined) return [one];
  const many = readName(span.attributes, LANGGRAPH_COMMAND_GOTO_NODES);
  const parsed = many !== undefined ? parseJsonText(many, MAX_JSON_CHARS) : undefined;
  if (!Array.isArray(parsed)) return [];
  const out: string[] = [];
  for (let i = 0; i < parsed.length; i++) if (typeof parsed[i] === 'string' && (parsed[i] as string).length > 0) out.push(parsed[i] as string);
  return out;
}

/** A span's recorded output (content tracing on): the entity's, a tool call's result, a task's output. */
function outputOf(attrs: Attributes): string | undefined {
  return readName(attrs, TRACELOOP_ENTITY_OUTPUT) ?? readName(attrs, GEN_AI_TOOL_CALL_RESULT) ?? readName(attrs, GEN_AI_TASK_OUTPUT);
}

/** OpenLLMetry's LangChain spans, in the terms of the LangGraph reading. */
const LANGCHAIN_VOCABULARY: LangGraphVocabulary = {
  kindOf(attrs) {
    const kind = attrs[TRACELOOP_SPAN_KIND];
    if (kind === 'workflow' || kind === 'task') return 'CHAIN';
    if (kind === 'tool') return 'TOOL';
    if (kind === 'agent') return 'AGENT';
    return undefined;
  },
  metaOf(attrs): NodeMeta | undefined {
    const node = readName(attrs, PROPERTY_NODE);
    if (node === undefined) return undefined;
    return { node, step: readNumber(attrs, PROPERTY_STEP), ns: readName(attrs, PROPERTY_NS), threadId: taskIdOf(attrs) };
  },
  toolNameOf: (span) => readName(span.attributes, GEN_AI_TOOL_NAME) ?? readName(span.attributes, TRACELOOP_ENTITY_NAME) ?? span.name,
  graphNameOf: (span) => readName(span.attributes, TRACELOOP_ENTITY_NAME) ?? span.name,
  gotoOf(span, context) {
    // The `goto` span is started in the context current when the Command is built: the tool's
    // span inside a tool, the node's span when a node returns it.
    const children = context.childrenOf(span);
    let targets: string[] | undefined;
    for (let i = 0; i < children.length; i++) {
      const child = children[i]!;
      const ours = child.scopeName === OPENLLMETRY_LANGCHAIN_SCOPE ? operationOf(child) === 'goto' : child.scopeName === '' && isGotoSpan(child.attributes);
      if (!ours) continue;
      (targets ??= []).push(...gotoTargetsOf(child));
    }
    if (targets !== undefined) return targets;
    const output = outputOf(span.attributes);
    return output !== undefined ? commandGotoOf(output) : undefined;
  },
  hasOutput: (span) => outputOf(span.attributes) !== undefined,
  metadataKeys: PROPERTY_NODE,
};

/** CrewAI's `Crew.kickoff` span: `crewai.workflow`, of the CrewAI instrumentation (no span kind); without a scope, by its `crewai.crew.process`. */
function isCrewWorkflow(span: SpanRecord): boolean {
  if (span.name !== 'crewai.workflow') return false;
  return span.scopeName === OPENLLMETRY_CREWAI_SCOPE || (span.scopeName === '' && typeof span.attributes[OPENLLMETRY_CREWAI_PROCESS] === 'string');
}

/** An OpenAI Agents span of OpenLLMetry's processor: its scope, else (no scope) provider `openai` (the decorators write none, CrewAI's `crewai`). */
function isOpenAiAgentsSpan(span: SpanRecord): boolean {
  return span.scopeName === OPENLLMETRY_OPENAI_AGENTS_SCOPE || (span.scopeName === '' && span.attributes[GEN_AI_PROVIDER_NAME] === 'openai');
}

/** The LangGraph graph span of the LangChain instrumentation (`Pregel.stream`'s wrapper): no span kind. */
function isLangGraphInvocation(attrs: Attributes): boolean {
  return attrs[GEN_AI_OPERATION_NAME] === 'invoke_agent' && attrs[GEN_AI_PROVIDER_NAME] === 'langgraph';
}

/** A `Command`'s `goto` span: its operation and one of its targets. */
function isGotoSpan(attrs: Attributes): boolean {
  return attrs[GEN_AI_OPERATION_NAME] === 'goto' && (attrs[LANGGRAPH_COMMAND_GOTO_NODE] !== undefined || attrs[LANGGRAPH_COMMAND_GOTO_NODES] !== undefined);
}

/** A workflow container: an `Agent Workflow` root, a `@workflow`, a crew's kickoff. */
function isWorkflow(span: SpanRecord): boolean {
  return kindOf(span) === 'workflow' || isCrewWorkflow(span);
}

/** The agent an agent span ran: `gen_ai.agent.name`, else the entity name, else the span name without `.agent`. */
function agentOf(span: SpanRecord): string {
  const name = readName(span.attributes, GEN_AI_AGENT_NAME) ?? readName(span.attributes, TRACELOOP_ENTITY_NAME);
  if (name !== undefined) return name;
  return span.name.endsWith('.agent') && span.name.length > 6 ? span.name.slice(0, -6) : span.name;
}

/** Python's repr of OpenAI Agents' "Multiple handoffs requested" error names the agents asked for. */
const REQUESTED_AGENTS = /'requested_agents':\s*\[([^\]]*)\]/;

interface Run {
  readonly span: SpanRecord;
  readonly agent: string;
  readonly key: string;
  readonly failed: boolean;
  /** A handoff or a delegation arrived at it. */
  claimed: boolean;
  /** Runs of the same agent nested in this one (its task attempted again), read as part of it. */
  folded?: Run[];
}

/** A transfer being built, with what decides whether a later one is its retry. */
interface Draft {
  readonly part: Mutable<TransferPart>;
  /** The sending run's span id. */
  readonly owner: string;
  /** What a retry must repeat: the tool (or `handoff`) and the target. */
  readonly key: string;
  /** This attempt did not get through: the tool call failed without a run, or the target's run failed. */
  readonly failed: boolean;
}

/** A run's tokens, with those of the runs folded into it. */
function tokensOf(run: Run, name: string): number | undefined {
  let total = readNumber(run.span.attributes, name);
  const folded = run.folded;
  if (folded) {
    for (let i = 0; i < folded.length; i++) {
      const more = readNumber(folded[i]!.span.attributes, name);
      if (more !== undefined) total = (total ?? 0) + more;
    }
  }
  return total;
}

class AgentsInterpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #runs: Run[] = [];
  readonly #runById = new Map<string, Run>();
  readonly #handoffs: SpanRecord[] = [];
  readonly #functions: SpanRecord[] = [];
  readonly #tasks: SpanRecord[] = [];
  readonly #workflows: SpanRecord[] = [];
  readonly #drafts: Draft[] = [];
  /** Tool, task and workflow spans a nested run's delegation was sent through. */
  readonly #sends = new Set<string>();
  /** Runs read as part of an enclosing run of the same agent (see #readNested), and that run. */
  readonly #foldedIds = new Set<string>();
  readonly #foldedInto = new Map<string, Run>();

  constructor(context: DialectContext) {
    this.#context = context;
  }

  #ignore(span: SpanRecord, reason: string): void {
    this.ignored.push({ span, reason });
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    const seen = new Set<string>();
    for (let i = 0; i < spans.length; i++) {
      const span = spans[i]!;
      if (seen.has(span.spanId)) continue; // a re-exported copy
      seen.add(span.spanId);
      this.#classify(span);
    }
    this.#runs.sort((a, b) => compareByStart(a.span, b.span));
    this.#handoffs.sort(compareByStart);
    this.#functions.sort(compareByStart);
    this.#readHandoffs();
    this.#readNested();
    this.#readAgentsAsTools();
    this.#readSequentialCrews();
    this.#emitDrafts();
    for (let i = 0; i < this.#workflows.length; i++) {
      const workflow = this.#workflows[i]!;
      if (!this.#sends.has(workflow.spanId)) this.#ignore(workflow, `a workflow: the container of its agents' runs, no handoff of its own`);
    }
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      if (this.#foldedIds.has(run.span.spanId)) continue; // read as part of the run it retried in
      const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.span, agent: run.agent, outcome: run.failed ? 'failed' : 'completed' };
      put(part, 'taskId', taskIdOf(run.span.attributes));
      put(part, 'inputTokens', tokensOf(run, GEN_AI_USAGE_INPUT_TOKENS));
      put(part, 'outputTokens', tokensOf(run, GEN_AI_USAGE_OUTPUT_TOKENS));
      this.parts.push(part);
    }
    return { parts: this.parts, ignored: this.ignored };
  }

  #classify(span: SpanRecord): void {
    const kind = kindOf(span);
    if (kind === 'agent') {
      const agent = agentOf(span);
      const run: Run = { span, agent, key: normalizeAgentName(agent), failed: span.statusCode === StatusCodeNumber.Error, claimed: false };
      this.#runs.push(run);
      this.#runById.set(span.spanId, run);
    } else if (kind === 'handoff') {
      this.#handoffs.push(span);
    } else if (kind === 'tool') {
      this.#functions.push(span);
    } else if (kind === 'task') {
      this.#tasks.push(span);
    } else if (isWorkflow(span)) {
      this.#workflows.push(span); // explained at the end, unless a delegation was sent on it
    } else {
      this.#ignore(span, `${kind ?? 'untyped'} span: no agent or handoff meaning`);
    }
  }

  /** The nearest agent run or workflow container above `span`, or undefined. */
  #aboveOf(span: SpanRecord): SpanRecord | undefined {
    return this.#context.ancestorWhere(span, (candidate) => this.#runById.has(candidate.spanId) || isWorkflow(candidate));
  }

  /**
   * The agent run `span` is in: the nearest run above it, unless a workflow container comes first
   * (a workflow's runs and spans are its own; a run around the workflow reaches them only through
   * it, see #readNested).
   */
  #ownerOf(span: SpanRecord): Run | undefined {
    const above = this.#aboveOf(span);
    return above ? this.#runById.get(above.spanId) : undefined;
  }

  /**
   * Handoff spans: declared transfers. Each arrives at the earliest run of its target that starts at
   * or after it in the same trace and that no earlier handoff took (a target's run started by a
   * handoff carries `gen_ai.agent.handoff_parent`, preferred when it names the sender).
   */
  #readHandoffs(): void {
    const byKey = new Map<string, Run[]>();
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      let list = byKey.get(run.key);
      if (!list) byKey.set(run.key, (list = []));
      list.push(run);
    }
    const firsts = new Map<string, number>();
    for (let i = 0; i < this.#handoffs.length; i++) {
      const span = this.#handoffs[i]!;
      const target = readName(span.attributes, OPENLLMETRY_HANDOFF_TO_AGENT);
      const owner = this.#ownerOf(span);
      const source = readName(span.attributes, OPENLLMETRY_HANDOFF_FROM_AGENT) ?? owner?.agent;
      if (target === undefined || source === undefined) {
        this.#ignore(span, `handoff without ${target === undefined ? OPENLLMETRY_HANDOFF_TO_AGENT : OPENLLMETRY_HANDOFF_FROM_AGENT}: the SDK did not say ${target === undefined ? 'which agent it handed to' : 'which agent handed off'}${span.statusMessage ? ` (${span.statusMessage})` : ''}`);
        continue;
      }
      const key = normalizeAgentName(target);
      const candidates = byKey.get(key) ?? [];
      // Handoffs come in start order: a run claimed, or started before this handoff, is no later handoff's arrival either.
      let first = firsts.get(key) ?? 0;
      while (first < candidates.length && (candidates[first]!.claimed || candidates[first]!.span.startMs < span.startMs)) first++;
      firsts.set(key, first);
      let arrival: Run | undefined;
      for (let c = first; c < candidates.length; c++) {
        const run = candidates[c]!;
        if (run.claimed || run.span.traceId !== span.traceId) continue;
        const parent = readName(run.span.attributes, OPENLLMETRY_HANDOFF_PARENT_AGENT);
        if (parent !== undefined && normalizeAgentName(parent) !== normalizeAgentName(source)) continue;
        arrival = run;
        break;
      }
      const part: Mutable<TransferPart> = { type: 'transfer', span, source, target: arrival?.agent ?? target, mode: 'pass_control', inferred: false };
      if (arrival) {
        part.arrival = arrival.span;
        arrival.claimed = true;
      }
      put(part, 'taskId', taskIdOf(span.attributes) ?? (owner && taskIdOf(owner.span.attributes)));
      const requested = REQUESTED_AGENTS.exec(span.statusMessage);
      if (requested) this.#ignore(span, `one response asked for several handoffs (${requested[1]!.replace(/'/g, '').trim()}): the SDK ran the first, to ${target}; the others never happened`);
      // A failed handoff the run made again to the same agent is an earlier attempt of it (below).
      const failed = span.statusCode === StatusCodeNumber.Error && !requested;
      this.#drafts.push({ part, owner: owner?.span.spanId ?? `source:${normalizeAgentName(source)}`, key: `handoff\u0000${normalizeAgentName(target)}`, failed });
    }
  }

  /**
   * Runs nested in another agent's run (CrewAI's coworkers, decorated agents calling agents):
   * delegations returning to the caller, through the nearest tool or task span between them. A
   * run a handoff arrived at got control from its sender, not from the run around it: no
   * delegation. A workflow container between them (an OpenAI Agents `Runner.run` in an `@agent`,
   * a crew kicked off in a `@tool`) is one delegation from the outer run to the workflow's first
   * run; its later runs get their work from the runs before them (handoffs, the crew's order),
   * as Mastra's workflow run as a tool is read. A run nested in a run of the same agent is that
   * run's task attempted again: read as part of it.
   */
  #readNested(): void {
    /** Each workflow's first run (runs come in start order). */
    const firstRunOf = new Map<string, Run>();
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      const above = this.#aboveOf(run.span);
      if (!above) continue;
      const owner = this.#runById.get(above.spanId);
      if (!owner) {
        if (!firstRunOf.has(above.spanId)) firstRunOf.set(above.spanId, run);
        continue;
      }
      if (owner.key === run.key) {
        const into = this.#foldedInto.get(owner.span.spanId) ?? owner;
        (into.folded ??= []).push(run);
        this.#foldedInto.set(run.span.spanId, into);
        this.#foldedIds.add(run.span.spanId);
        this.#ignore(
          run.span,
          `a run of ${run.agent} inside its own run: the agent's task attempted again (CrewAI's execute_task retries itself after an error), no handoff; read as part of run ${into.span.spanId} (one run, its tokens added there)`,
        );
        continue;
      }
      if (run.claimed) continue; // a handoff arrived at it
      this.#delegate(owner, run, run.span);
    }
    for (const [workflowId, first] of firstRunOf) {
      const workflow = this.#context.span(workflowId)!;
      const owner = this.#ownerOf(workflow);
      if (!owner || first.claimed || owner.key === first.key) continue;
      this.#delegate(owner, first, workflow);
    }
  }

  /**
   * A delegation from `owner` to `run`, sent through the nearest tool or task span between `from`
   * (the run, or the workflow it starts) and the owner, else on `from` when it is a workflow, else
   * marked only by the run itself.
   */
  #delegate(owner: Run, run: Run, from: SpanRecord): void {
    const through = this.#context.ancestorWhere(from, (candidate) => candidate.spanId === owner.span.spanId || kindOf(candidate) === 'tool' || kindOf(candidate) === 'task');
    const via = through && through.spanId !== owner.span.spanId ? through : from !== run.span ? from : undefined;
    if (via) this.#sends.add(via.spanId);
    const part: Mutable<TransferPart> = { type: 'transfer', span: via ?? run.span, source: owner.agent, target: run.agent, mode: 'return_to_caller', inferred: true, arrival: run.span };
    put(part, 'taskId', taskIdOf(run.span.attributes) ?? taskIdOf(owner.span.attributes));
    run.claimed = true;
    const tool = via && via !== from ? (readName(via.attributes, GEN_AI_TOOL_NAME) ?? readName(via.attributes, TRACELOOP_ENTITY_NAME) ?? via.name) : '';
    this.#drafts.push({ part, owner: owner.span.spanId, key: `${tool}\u0000${run.key}`, failed: run.failed });
  }

  /**
   * OpenAI Agents runs as tools: the processor makes every agent span a child of the trace's root,
   * so a run that no handoff or nesting explains, starting and ending inside a function span of
   * another run of the same trace, ran inside that tool call (the innermost such call).
   */
  #readAgentsAsTools(): void {
    if (this.#functions.length === 0) return;
    // Structural delegations (runs nested in their caller's tool) are read already; time is only for the root's siblings.
    const functionIds = new Set<string>();
    for (let i = 0; i < this.#functions.length; i++) if (!this.#sends.has(this.#functions[i]!.spanId)) functionIds.add(this.#functions[i]!.spanId);
    // One sweep in start order (runs and calls are both sorted): the calls still open when a run
    // starts are the only candidates, so the cost follows how many calls overlap, not runs × calls.
    const owners = new Map<string, Run | undefined>();
    const open: SpanRecord[] = [];
    let next = 0;
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      if (run.claimed || !isOpenAiAgentsSpan(run.span)) continue;
      while (next < this.#functions.length && this.#functions[next]!.startMs <= run.span.startMs) open.push(this.#functions[next++]!);
      let kept = 0;
      for (let f = 0; f < open.length; f++) if (open[f]!.endMs >= run.span.startMs) open[kept++] = open[f]!;
      open.length = kept;
      let call: SpanRecord | undefined;
      let caller: Run | undefined;
      for (let f = 0; f < open.length; f++) {
        const fn = open[f]!;
        if (fn.traceId !== run.span.traceId || fn.endMs < run.span.endMs) continue;
        if (!owners.has(fn.spanId)) owners.set(fn.spanId, this.#ownerOf(fn));
        const owner = owners.get(fn.spanId);
        if (!owner || owner === run || owner.key === run.key) continue;
        call = fn; // later starts are nested deeper: the innermost call wins
        caller = owner;
      }
      if (!call || !caller) continue;
      const part: Mutable<TransferPart> = { type: 'transfer', span: call, source: caller.agent, target: run.agent, mode: 'return_to_caller', inferred: true, arrival: run.span };
      put(part, 'taskId', taskIdOf(run.span.attributes) ?? taskIdOf(caller.span.attributes));
      run.claimed = true;
      const tool = readName(call.attributes, GEN_AI_TOOL_NAME) ?? call.name;
      this.#drafts.push({ part, owner: caller.span.spanId, key: `${tool}\u0000${run.key}`, failed: run.failed });
      functionIds.delete(call.spanId);
    }
    // Failed calls that ran no agent: earlier attempts when the same run calls the same tool again
    // and reaches an agent (the next such delegation after the call). Drafts are indexed by run and
    // tool once, each list in start order, so a call costs a search, not a scan of every draft.
    let byCall: Map<string, { startMs: number; draft: Draft }[]> | undefined;
    for (let f = 0; f < this.#functions.length; f++) {
      const fn = this.#functions[f]!;
      if (!functionIds.has(fn.spanId)) continue;
      const tool = readName(fn.attributes, GEN_AI_TOOL_NAME) ?? fn.name;
      const owner = fn.statusCode === StatusCodeNumber.Error ? this.#ownerOf(fn) : undefined;
      let later: Draft | undefined;
      if (owner) {
        byCall ??= this.#draftsByCall();
        const list = byCall.get(`${owner.span.spanId}\u0000${tool}`);
        if (list) {
          const lo = partitionPoint(list.length, (i) => list[i]!.startMs <= fn.startMs);
          later = list[lo]?.draft;
        }
      }
      if (later) {
        later.part.sendCount = (later.part.sendCount ?? 1) + 1;
        if (compareByStart(fn, later.part.span) < 0) later.part.span = fn;
        this.#ignore(fn, `failed call of ${tool}, called again by the same run: an earlier attempt of the delegation to ${later.part.target} (counted in its sendCount)`);
      } else {
        this.#ignore(fn, `tool ${tool} ran no agent: not a handoff (OpenLLMetry records handoffs as their own spans)`);
      }
    }
  }

  /** The drafts by sending run and tool (the part of the key before the target), each list by the start of its send as first read. */
  #draftsByCall(): Map<string, { startMs: number; draft: Draft }[]> {
    const out = new Map<string, { startMs: number; draft: Draft }[]>();
    for (let i = 0; i < this.#drafts.length; i++) {
      const draft = this.#drafts[i]!;
      const slot = `${draft.owner}\u0000${draft.key.slice(0, draft.key.indexOf('\u0000'))}`;
      let list = out.get(slot);
      if (!list) out.set(slot, (list = []));
      list.push({ startMs: draft.part.span.startMs, draft });
    }
    for (const list of out.values()) if (list.length > 1) list.sort((a, b) => a.startMs - b.startMs);
    return out;
  }

  /** A sequential crew: each task's agent hands its output to the next task's agent, when they differ. */
  #readSequentialCrews(): void {
    const byCrew = new Map<string, { crew: SpanRecord; tasks: SpanRecord[] }>();
    // The crew above each task, walked once per span for all below it (coworkers' tasks nest in the delegations that reached them).
    const crewAbove = new NearestAncestor(this.#context, isCrewWorkflow);
    for (let i = 0; i < this.#tasks.length; i++) {
      const task = this.#tasks[i]!;
      const crew = crewAbove.of(task);
      const process = crew ? readName(crew.attributes, OPENLLMETRY_CREWAI_PROCESS) : undefined;
      if (this.#sends.has(task.spanId)) continue; // explained by the delegation sent through it
      if (!crew || process === undefined || !process.includes('sequential')) {
        this.#ignore(task, crew ? `a task: the container of its agent's run (crew process ${process ?? 'not recorded'}: tasks do not hand on in order)` : 'a task: a step of the run it is in, no handoff of its own');
        continue;
      }
      let entry = byCrew.get(crew.spanId);
      if (!entry) byCrew.set(crew.spanId, (entry = { crew, tasks: [] }));
      entry.tasks.push(task);
    }
    for (const { tasks } of byCrew.values()) {
      tasks.sort(compareByStart);
      let previous: Run | undefined;
      for (let i = 0; i < tasks.length; i++) {
        const task = tasks[i]!;
        const children = this.#context.childrenOf(task);
        let run: Run | undefined;
        for (let c = 0; c < children.length && !run; c++) run = this.#runById.get(children[c]!.spanId);
        if (!run) {
          this.#ignore(task, `task of a sequential crew with no agent run in it: nothing handed on`);
          continue;
        }
        if (previous && previous.key !== run.key && previous.span.endMs <= run.span.startMs) {
          const part: Mutable<TransferPart> = { type: 'transfer', span: previous.span, source: previous.agent, target: run.agent, mode: 'pass_control', inferred: true, arrival: run.span };
          put(part, 'taskId', taskIdOf(run.span.attributes));
          this.parts.push(part);
          this.#ignore(task, `task of a sequential crew: its context is the previous task's output, read as a handoff ${previous.agent} → ${run.agent} (inferred from the crew's process)`);
        } else {
          this.#ignore(task, previous ? `task of a sequential crew run by ${run.agent}, as the task before: no handoff between agents` : `first task of a sequential crew: nothing handed to it`);
        }
        previous = run;
      }
    }
  }

  /** The drafts in start order; one following a failed attempt from the same run with the same tool to the same agent is folded into it. */
  #emitDrafts(): void {
    this.#drafts.sort((a, b) => compareByStart(a.part.span, b.part.span));
    const open = new Map<string, Draft>();
    for (let i = 0; i < this.#drafts.length; i++) {
      const draft = this.#drafts[i]!;
      const slot = `${draft.owner}\u0000${draft.key}`;
      const earlier = open.get(slot);
      if (earlier) {
        earlier.part.sendCount = (earlier.part.sendCount ?? 1) + (draft.part.sendCount ?? 1);
        // A handoff's arrival is where control finally went; a delegation's the first run it reached.
        if (earlier.part.arrival === undefined && draft.part.arrival !== undefined) earlier.part.arrival = draft.part.arrival;
        else if (earlier.part.mode === 'pass_control' && draft.part.arrival !== undefined) earlier.part.arrival = draft.part.arrival;
        this.#ignore(draft.part.span, `attempted again after span ${earlier.part.span.spanId} failed: counted in its sendCount`);
        if (!draft.failed) open.delete(slot);
        continue;
      }
      this.parts.push(draft.part);
      if (draft.failed) open.set(slot, draft);
    }
  }
}

/** The LangChain spans of one group: graph containers and `goto` spans explained, the rest read as LangGraph. */
function interpretLangChain(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
  const graph: SpanRecord[] = [];
  const ignored: IgnoredSpan[] = [];
  for (let i = 0; i < spans.length; i++) {
    const span = spans[i]!;
    if (span.scopeName === OPENLLMETRY_LANGCHAIN_JS_SCOPE) {
      ignored.push({ span, reason: `OpenLLMetry's JS LangChain instrumentation records no LangGraph node metadata and starts spans without their run's parent: no node run or handoff can be read` });
      continue;
    }
    if (kindOf(span) !== undefined) {
      graph.push(span);
      continue;
    }
    const operation = operationOf(span);
    if (operation === 'goto') {
      const targets = gotoTargetsOf(span);
      const source = readName(span.attributes, LANGGRAPH_COMMAND_SOURCE_NODE);
      ignored.push({ span, reason: `Command goto ${targets.join(', ') || '(none)'}${source ? ` built in node ${source}` : ''}: read as the declared target of the tool or node span it is in` });
    } else if (operation === 'invoke_agent') {
      ignored.push({ span, reason: `LangGraph graph invocation ${readName(span.attributes, GEN_AI_AGENT_NAME) ?? span.name}: a container; its node runs are read from their task spans` });
    } else {
      ignored.push({ span, reason: `${operation ?? 'untyped'} span: no agent or handoff meaning` });
    }
  }
  const result = interpretLangGraph(graph, context, LANGCHAIN_VOCABULARY);
  return { parts: result.parts, ignored: [...ignored, ...result.ignored] };
}

/**
 * A span of the LangChain instrumentations: by its scope, else (no scope) a span of a LangGraph run:
 * provider `langgraph`, LangGraph's metadata, or a `Command`'s `goto` span.
 */
function isLangChainSpan(span: SpanRecord): boolean {
  const scope = span.scopeName;
  if (scope === OPENLLMETRY_LANGCHAIN_SCOPE || scope === OPENLLMETRY_LANGCHAIN_JS_SCOPE) return true;
  if (scope !== '') return false;
  const attrs = span.attributes;
  return attrs[GEN_AI_PROVIDER_NAME] === 'langgraph' || attrs[PROPERTY_NODE] !== undefined || isGotoSpan(attrs);
}

/** OpenLLMetry's traces (see the file header). */
export const openLlmetryDialect: Dialect = {
  id: 'openllmetry',
  description: 'OpenLLMetry / Traceloop (LangGraph node runs and Command handoffs, OpenAI Agents handoffs, CrewAI and decorated agents by nesting)',
  readsAttribute(name) {
    return (
      name === TRACELOOP_SPAN_KIND ||
      name === ERROR_TYPE ||
      name === TRACELOOP_ENTITY_NAME ||
      name === TRACELOOP_ENTITY_OUTPUT ||
      name === GEN_AI_OPERATION_NAME ||
      name === GEN_AI_AGENT_NAME ||
      name === GEN_AI_TOOL_NAME ||
      name === GEN_AI_CONVERSATION_ID ||
      name === GEN_AI_TOOL_CALL_RESULT ||
      name === GEN_AI_TASK_OUTPUT ||
      name === GEN_AI_USAGE_INPUT_TOKENS ||
      name === GEN_AI_USAGE_OUTPUT_TOKENS ||
      name === OPENLLMETRY_HANDOFF_FROM_AGENT ||
      name === OPENLLMETRY_HANDOFF_TO_AGENT ||
      name === OPENLLMETRY_HANDOFF_PARENT_AGENT ||
      name === LANGGRAPH_COMMAND_SOURCE_NODE ||
      name === LANGGRAPH_COMMAND_GOTO_NODE ||
      name === LANGGRAPH_COMMAND_GOTO_NODES ||
      name === OPENLLMETRY_CREWAI_PROCESS ||
      name === GEN_AI_PROVIDER_NAME ||
      name.startsWith(TRACELOOP_ASSOCIATION_PREFIX)
    );
  },
  claims(span) {
    const scope = span.scopeName;
    const kind = span.attributes[TRACELOOP_SPAN_KIND];
    if (scope === OPENLLMETRY_LANGCHAIN_JS_SCOPE) return typeof kind === 'string';
    if (scope === OPENLLMETRY_LANGCHAIN_SCOPE) {
      if (typeof kind === 'string') return true;
      // The graph's own span and the Command's: no span kind, but this instrumentation's.
      const operation = span.attributes[GEN_AI_OPERATION_NAME];
      return operation === 'invoke_agent' || operation === 'goto';
    }
    if (scope === OPENLLMETRY_CREWAI_SCOPE) return typeof kind === 'string' || span.name === 'crewai.workflow';
    // No scope (the Python SDK's console JSON): what only OpenLLMetry writes.
    if (scope === '') return typeof kind === 'string' || isGotoSpan(span.attributes) || isLangGraphInvocation(span.attributes) || isCrewWorkflow(span);
    return typeof kind === 'string' && (scope === OPENLLMETRY_OPENAI_AGENTS_SCOPE || TRACELOOP_SDK_SCOPES.has(scope));
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    const langchain: SpanRecord[] = [];
    const agents: SpanRecord[] = [];
    for (let i = 0; i < spans.length; i++) (isLangChainSpan(spans[i]!) ? langchain : agents).push(spans[i]!);
    if (langchain.length === 0) return new AgentsInterpretation(context).run(agents);
    if (agents.length === 0) return interpretLangChain(langchain, context);
    const a = interpretLangChain(langchain, context);
    const b = new AgentsInterpretation(context).run(agents);
    return { parts: [...a.parts, ...b.parts], ignored: [...a.ignored, ...b.ignored] };
  },
};
