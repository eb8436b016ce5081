/**
 * The `crewai` dialect: CrewAI crews as OpenInference's CrewAI instrumentation
 * (Python `openinference-instrumentation-crewai`, scope
 * `openinference.instrumentation.crewai`) writes them. docs/frameworks.md
 * ("CrewAI") lists what is read and why.
 *
 * - An agent run is an AGENT span with `graph.node.id` (the agent's role): one per
 *   task the agent worked on (`{role}.{task}._execute_core`), or a standalone
 *   `Agent.kickoff` (`{role}.kickoff`). ERROR is a failed run.
 * - A **delegation** is a TOOL span of CrewAI's coworker tools (`tool.name`
 *   `Delegate work to coworker` / `Ask question to coworker`, or as CrewAI's events
 *   name them, `sanitize_tool_name`d: `delegate_work_to_coworker`) inside an agent run:
 *   the coworker named in its arguments (`input.value`, JSON, key `coworker`)
 *   works inside the tool call and the caller resumes (`return_to_caller`,
 *   inferred from the tool). CrewAI runs the coworker with `Agent.execute_task`:
 *   the wrapper mode does not wrap it (no span), but it runs inside the tool's span, so the
 *   first span there (the coworker's first model call, from an LLM instrumentation, or one of
 *   its own tools) is the **arrival** (none when nothing is traced inside); the event-listener mode
 *   traces its `agent_execution_started` inside the tool's scope, so the coworker's
 *   AGENT span is nested in the tool span: that run is the handoff's **arrival** and
 *   names the target. A coworker that matches no agent makes the tool
 *   answer "Error executing tool. coworker mentioned not found" instead of raising:
 *   a refused transfer (an undelivered handoff), as is a tool span in ERROR with no
 *   coworker run inside.
 * - A delegation whose coworker failed (its nested run in ERROR, or the tool answering
 *   "Error executing task with agent …") followed, from the same run, by the same tool
 *   to the same coworker is **one handoff attempted again** (`sendCount`), arriving at
 *   the last attempt's run.
 * - A **sequential** crew hands each task's output to the next task as context.
 *   The instrumentation declares the previous agent of `crew.agents` as the task's
 *   `graph.node.parent_id`; it is read as a handoff from that agent (inferred,
 *   `pass_control`, arriving at the task's span) only when that agent ran a task of
 *   the same crew (`crew_id`) that ended before this one started, so an agents list
 *   ordered unlike the tasks adds no edge the run did not take (the event listener
 *   writes no `crew_id` on agent spans: the enclosing kickoff's is the crew). A coworker's run
 *   nested in a delegation carries the same attribute (the event listener derives it
 *   from `crew.agents`) but is the delegation's arrival: no sequential edge.
 * - Crew and Flow kickoffs (CHAIN), memory and other tool spans are containers or
 *   steps: ignored with the reason. Model calls come from other instrumentations.
 * - Without a scope (the OpenTelemetry Python SDK's console JSON writes none), the spans
 *   are known by CrewAI's own `crew_key` / `crew_id` / `task_key` / `agent_key` and the
 *   coworker tools' names (see isScopelessCrewAiSpan).
 *
 * Linear in the group's spans but for one sort; ancestor walks go through the
 * context (cycle-safe).
 *
 * @see https://github.com/Arize-ai/openinference/tree/main/python/instrumentation/openinference-instrumentation-crewai
 * @see https://docs.crewai.com/en/concepts/collaboration
 */
import {
  CREWAI_AGENT_KEY,
  CREWAI_CREW_AGENTS,
  CREWAI_CREW_ID,
  CREWAI_CREW_KEY,
  CREWAI_TASK_KEY,
  OPENINFERENCE_GRAPH_NODE_ID,
  OPENINFERENCE_GRAPH_NODE_PARENT_ID,
  OPENINFERENCE_INPUT_VALUE,
  OPENINFERENCE_OUTPUT_VALUE,
  OPENINFERENCE_SESSION_ID,
  OPENINFERENCE_SPAN_KIND,
  OPENINFERENCE_TOOL_NAME,
} from '../../model/attributes.js';
import { StatusCodeNumber, type SpanRecord } from '../../model/span-record.js';
import { compareByStart } from '../span-index.js';
import { upperBound } from '../state-index.js';
import { parseJsonText, put, readName } from './attribute-readers.js';
import type { AgentRunPart, Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { NearestAncestor } from './nearest-ancestor.js';
import { normalizeAgentName } from './otel-genai.js';

/** The instrumentation scope of OpenInference's CrewAI instrumentation (`get_tracer(__name__)`). */
export const OPENINFERENCE_CREWAI_SCOPE = 'openinference.instrumentation.crewai';

/** CrewAI's delegation tools (`crewai/tools/agent_tools/`), as `toolKey` spells them. */
/** Most parents walked looking for a span's kickoff: a bound on a corrupt trace whose parents form a cycle. */
const MAX_CREW_WALK = 100_000;

const COWORKER_TOOLS: ReadonlySet<string> = new Set(['delegate_work_to_coworker', 'ask_question_to_coworker']);
/** The start of CrewAI's answer when the coworker is unknown (i18n `agent_tool_unexisting_coworker`) or the tool failed. */
const TOOL_ERROR_PREFIX = 'Error executing tool';
/** The start of CrewAI's answer when the coworker's `execute_task` raised (i18n `agent_tool_execution_error`). */
const COWORKER_ERROR_PREFIX = 'Error executing task with agent';

/**
 * A tool name as CrewAI's `sanitize_tool_name` writes it in its events (lowercase, runs of
 * other characters as one `_`, no `_` at the ends), so `Delegate work to coworker`,
 * `delegate_work_to_coworker` and a model's `Delegate Work to Coworker` compare equal.
 */
function toolKey(name: string): string {
  let out = '';
  let gap = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    const lower = c >= 65 && c <= 90 ? c + 32 : c;
    if ((lower >= 97 && lower <= 122) || (lower >= 48 && lower <= 57)) {
      if (gap && out.length > 0) out += '_';
      out += String.fromCharCode(lower);
      gap = false;
    } else gap = true;
  }
  return out;
}
/**
 * A span without a scope (the OpenTelemetry Python SDK's console JSON writes none) that only this
 * instrumentation writes: an OpenInference span with CrewAI's own crew, task or agent key (kickoffs,
 * tasks, the event listener's agent runs), or a coworker tool. Its other tool and model spans stay
 * with other dialects (no handoff in them).
 */
function isScopelessCrewAiSpan(span: SpanRecord): boolean {
  const attrs = span.attributes;
  const kind = attrs[OPENINFERENCE_SPAN_KIND];
  if (typeof kind !== 'string') return false;
  if (attrs[CREWAI_CREW_KEY] !== undefined || attrs[CREWAI_CREW_ID] !== undefined || attrs[CREWAI_TASK_KEY] !== undefined || attrs[CREWAI_AGENT_KEY] !== undefined) return true;
  const tool = attrs[OPENINFERENCE_TOOL_NAME];
  return kind === 'TOOL' && typeof tool === 'string' && tool.length <= 64 && COWORKER_TOOLS.has(toolKey(tool));
}

/** Longest `input.value` parsed: the coworker's name sits beside the task text, not in megabytes. */
const MAX_INPUT_CHARS = 1 << 20;

/** The coworker a delegation's arguments name, or undefined. */
function coworkerIn(input: string | undefined): string | undefined {
  if (input === undefined || input.length > MAX_INPUT_CHARS || input.indexOf('coworker') < 0) return undefined;
  let parsed = parseJsonText(input, MAX_INPUT_CHARS);
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  // Instrumentation that traced ToolUsage._use (before the BaseTool.run wrapper) nests the arguments:
  // {"tool_string": …, "calling": {"tool_name": …, "arguments": {"coworker": …}}}.
  const calling = (parsed as Record<string, unknown>).calling;
  if (calling !== null && typeof calling === 'object' && !Array.isArray(calling)) {
    const args = (calling as Record<string, unknown>).arguments;
    if (args !== null && typeof args === 'object' && !Array.isArray(args)) parsed = args;
  }
  let coworker = (parsed as Record<string, unknown>).coworker;
  // Models sometimes pass the schema's shape: {"coworker": {"description": "Researcher", …}}.
  if (coworker !== null && typeof coworker === 'object' && !Array.isArray(coworker)) coworker = (coworker as Record<string, unknown>).description;
  return typeof coworker === 'string' && coworker.trim().length > 0 ? coworker.trim() : undefined;
}

interface Delegation {
  readonly part: Mutable<TransferPart>;
  /** The delegating run's span id. */
  readonly owner: string;
  /** Tool and target, as compared for a retry. */
  readonly key: string;
  /** The coworker ran and failed, or the tool said its execute_task raised. */
  readonly coworkerFailed: boolean;
}

interface Run {
  readonly span: SpanRecord;
  readonly agent: string;
  readonly key: string;
  readonly crewId: string | undefined;
  readonly taskId: string | undefined;
}

class Interpretation {
  readonly parts: HandoffPart[] = [];
  readonly ignored: IgnoredSpan[] = [];
  readonly #context: DialectContext;
  readonly #runs: Run[] = [];
  readonly #runById = new Map<string, Run>();
  /** Span id → the crew id of its nearest kickoff above it (null: none), for every span a lookup passed. */
  readonly #crewIdBySpan = new Map<string, string | null>();
  /** Runs by agent name key, in start order (after the sort in run()). */
  readonly #runsByKey = new Map<string, Run[]>();
  readonly #tools: SpanRecord[] = [];
  readonly #toolIds = new Set<string>();
  /** Delegation tool span id → the first coworker run nested in it (the event listener's arrival). */
  readonly #arrivals = new Map<string, Run>();
  /** Runs that are a delegation's arrival (no sequential edge into them). */
  readonly #arrived = new Set<Run>();
  /** Rosters parsed, by kickoff span id (a crew's delegations share one). */
  readonly #rosters = new Map<string, Map<string, string> | undefined>();
  /**
   * Runs by crew id, then agent name key, in start order, and per list the latest end from each
   * run on (a sequential crew's sender is found by binary search, not by scanning the agent's runs).
   */
  readonly #runsByCrew = new Map<string | undefined, Map<string, { readonly runs: Run[]; suffixMinEndMs?: Float64Array }>>();
  /**
   * The run or delegation around a span, and the kickoff listing the crew's agents, each walked
   * once per span for all below it: coworkers delegating on nest each run in the last tool, and
   * walking to the kickoff from every tool was quadratic in the depth.
   */
  readonly #runOrToolAbove: NearestAncestor;
  readonly #kickoffAbove: NearestAncestor;

  constructor(context: DialectContext) {
    this.#context = context;
    // Both sets are complete (#classify) before the first question: the test depends on the span alone.
    this.#runOrToolAbove = new NearestAncestor(context, (candidate) => this.#toolIds.has(candidate.spanId) || this.#runById.has(candidate.spanId));
    this.#kickoffAbove = new NearestAncestor(context, (candidate) => typeof candidate.attributes[CREWAI_CREW_AGENTS] === 'string');
  }

  run(spans: readonly SpanRecord[]): DialectResult {
    for (let i = 0; i < spans.length; i++) this.#classify(spans[i]!);
    this.#runs.sort((a, b) => compareByStart(a.span, b.span));
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      let list = this.#runsByKey.get(run.key);
      if (!list) this.#runsByKey.set(run.key, (list = []));
      list.push(run);
      let crew = this.#runsByCrew.get(run.crewId);
      if (!crew) this.#runsByCrew.set(run.crewId, (crew = new Map()));
      let ofAgent = crew.get(run.key);
      if (!ofAgent) crew.set(run.key, (ofAgent = { runs: [] }));
      ofAgent.runs.push(run);
    }
    this.#findArrivals();
    for (let i = 0; i < this.#runs.length; i++) if (!this.#arrived.has(this.#runs[i]!)) this.#readSequential(this.#runs[i]!);
    this.#tools.sort(compareByStart);
    for (let i = 0; i < this.#tools.length; i++) this.#readDelegation(this.#tools[i]!);
    this.#emitDelegations();
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      const part: Mutable<AgentRunPart> = { type: 'agent-run', span: run.span, agent: run.agent, outcome: run.span.statusCode === StatusCodeNumber.Error ? 'failed' : 'completed' };
      put(part, 'taskId', run.taskId);
      this.parts.push(part);
    }
    return { parts: this.parts, ignored: this.ignored };
  }

  #classify(span: SpanRecord): void {
    const attrs = span.attributes;
    const kind = readName(attrs, OPENINFERENCE_SPAN_KIND);
    if (kind === 'AGENT') {
      const agent = readName(attrs, OPENINFERENCE_GRAPH_NODE_ID);
      if (agent === undefined) {
        this.ignored.push({ span, reason: `CrewAI AGENT span without ${OPENINFERENCE_GRAPH_NODE_ID}: which agent ran is unknown` });
        return;
      }
      if (this.#runById.has(span.spanId)) return; // a re-exported copy
      const run: Run = { span, agent, key: normalizeAgentName(agent), crewId: readName(attrs, CREWAI_CREW_ID) ?? this.#kickoffCrewIdOf(span), taskId: readName(attrs, OPENINFERENCE_SESSION_ID) };
      this.#runs.push(run);
      this.#runById.set(span.spanId, run);
    } else if (kind === 'TOOL') {
      const tool = readName(attrs, OPENINFERENCE_TOOL_NAME);
      if (tool !== undefined && COWORKER_TOOLS.has(toolKey(tool))) {
        if (this.#toolIds.has(span.spanId)) return; // a re-exported copy
        this.#tools.push(span);
        this.#toolIds.add(span.spanId);
      }
      else this.ignored.push({ span, reason: `CrewAI tool ${tool ?? span.name} is not a delegation (not Delegate work to coworker / Ask question to coworker)` });
    } else if (kind === 'CHAIN') {
      this.ignored.push({ span, reason: `a crew's or flow's kickoff or step: a container of its tasks, no handoff of its own` });
    } else {
      this.ignored.push({ span, reason: `CrewAI ${kind ?? 'unknown'} span: no handoff meaning` });
    }
  }

  /**
   * The event listener writes no `crew_id` on agent spans: the crew is the enclosing kickoff's
   * (`crew_id` on `{crew}.kickoff`), so two crews of one trace (a Flow's) stay apart.
   */
  #kickoffCrewIdOf(span: SpanRecord): string | undefined {
    // Walked up once per span: every span passed on the way is remembered with the answer, so nested
    // delegations (each agent span inside the last) cost n, not the n² of a walk to the root from each.
    const passed: string[] = [];
    let found: string | null = null;
    for (let at = this.#context.parentOf(span), depth = 0; at && at !== span && depth < MAX_CREW_WALK; at = this.#context.parentOf(at), depth++) {
      const known = this.#crewIdBySpan.get(at.spanId);
      if (known !== undefined) {
        found = known;
        break;
      }
      const crewId = readName(at.attributes, CREWAI_CREW_ID);
      if (crewId !== undefined) {
        found = crewId;
        break;
      }
      passed.push(at.spanId);
    }
    for (let i = 0; i < passed.length; i++) this.#crewIdBySpan.set(passed[i]!, found);
    return found ?? undefined;
  }

  /** graph.node.parent_id, when that agent's task of the same crew ended before this one started (see the file header). */
  #readSequential(run: Run): void {
    const parent = readName(run.span.attributes, OPENINFERENCE_GRAPH_NODE_PARENT_ID);
    if (parent === undefined) return;
    const ofAgent = this.#runsByCrew.get(run.crewId)?.get(normalizeAgentName(parent));
    if (!ofAgent) return;
    // The latest (in start order) of that agent's tasks in the same crew that ended before this one
    // started: the last run whose latest end from it on is early enough ends early enough itself.
    const runs = ofAgent.runs;
    let suffix = ofAgent.suffixMinEndMs;
    if (!suffix) {
      suffix = ofAgent.suffixMinEndMs = new Float64Array(runs.length);
      let min = Infinity;
      for (let i = runs.length - 1; i >= 0; i--) {
        const endMs = runs[i]!.span.endMs;
        if (endMs < min) min = endMs; // an end that is no number ends nothing in time: left out, as the scan left it
        suffix[i] = min;
      }
    }
    const startMs = run.span.startMs;
    const lo = upperBound(suffix, startMs);
    let sender: Run | undefined;
    // Past this run itself (an agent handing to itself, a task of no duration), the latest before it that ended in time.
    for (let i = lo - 1; i >= 0 && !sender; i--) {
      const candidate = runs[i]!;
      if (candidate !== run && candidate.span.endMs <= startMs) sender = candidate;
    }
    if (!sender) return;
    const part: Mutable<TransferPart> = { type: 'transfer', span: sender.span, source: sender.agent, target: run.agent, mode: 'pass_control', inferred: true, arrival: run.span };
    put(part, 'taskId', run.taskId ?? sender.taskId);
    this.parts.push(part);
  }

  /** Each run whose nearest enclosing run-or-delegation is a delegation tool is that delegation's arrival (the first one, in start order). */
  #findArrivals(): void {
    if (this.#tools.length === 0) return;
    for (let i = 0; i < this.#runs.length; i++) {
      const run = this.#runs[i]!;
      const around = this.#runOrToolAbove.of(run.span);
      if (!around || !this.#toolIds.has(around.spanId) || this.#arrivals.has(around.spanId)) continue;
      this.#arrivals.set(around.spanId, run);
      this.#arrived.add(run);
    }
  }

  readonly #delegations: Delegation[] = [];

  /** Delegation tool span id → the coworker it reached (wrapper mode: the agent of the delegations nested in it). */
  readonly #delegatedTo = new Map<string, { readonly agent: string; readonly taskId: string | undefined }>();

  #readDelegation(tool: SpanRecord): void {
    const around = this.#runOrToolAbove.of(tool);
    const toolName = readName(tool.attributes, OPENINFERENCE_TOOL_NAME)!;
    let source: { readonly agent: string; readonly taskId: string | undefined; readonly spanId: string } | undefined;
    const run = around && this.#runById.get(around.spanId);
    if (run) source = { agent: run.agent, taskId: run.taskId, spanId: run.span.spanId };
    else if (around) {
      // Wrapper mode: a delegation inside another, with no run span between, is the coworker
      // delegating on (its Agent.execute_task runs inside the outer tool span).
      const coworker = this.#delegatedTo.get(around.spanId);
      if (coworker === undefined) {
        this.ignored.push({ span: tool, reason: `${toolName} inside a delegation that reached no coworker: the delegating agent is unknown` });
        return;
      }
      source = { agent: coworker.agent, taskId: coworker.taskId, spanId: around.spanId };
    }
    if (!source) {
      this.ignored.push({ span: tool, reason: `${toolName} outside any CrewAI agent run: the delegating agent is unknown` });
      return;
    }
    const coworker = coworkerIn(readName(tool.attributes, OPENINFERENCE_INPUT_VALUE));
    if (coworker === undefined) {
      this.ignored.push({ span: tool, reason: `${toolName} names no coworker (no "coworker" in ${OPENINFERENCE_INPUT_VALUE}: are inputs hidden?)` });
      return;
    }
    const output = readName(tool.attributes, OPENINFERENCE_OUTPUT_VALUE)?.trim();
    const arrival = this.#arrivals.get(tool.spanId);
    const roster = this.#rosterOf(tool);
    const member = roster?.get(normalizeAgentName(coworker));
    let cause: string | undefined;
    // A coworker run inside the tool is proof the delegation arrived, whatever the tool answered.
    if (arrival === undefined) {
      if (tool.statusCode === StatusCodeNumber.Error) cause = `the tool call failed${tool.statusMessage ? `: ${tool.statusMessage}` : ''}`;
      else if (output !== undefined && output.startsWith(TOOL_ERROR_PREFIX)) cause = `${toolName} answered: ${errorSentence(output)}`;
      else if (roster && member === undefined) cause = `not one of the crew's agents (${[...roster.values()].join(', ')})`;
    }
    const target = arrival !== undefined ? arrival.agent : cause === undefined ? (member ?? this.#canonical(coworker)) : 'unknown';
    const part: Mutable<TransferPart> = { type: 'transfer', span: tool, source: source.agent, target, mode: 'return_to_caller', inferred: true };
    if (arrival !== undefined) part.arrival = arrival.span;
    else if (cause === undefined) {
      // Wrapper mode: the coworker's Agent.execute_task has no span, but it runs inside the tool's,
      // so the first span there (its first model call, or one of its tools) is its work starting.
      const work = this.#context.childrenOf(tool)[0];
      if (work !== undefined) part.arrival = work;
    }
    // A crew member the delegation failed to reach is not "no coworker": say which it was.
    if (cause !== undefined) part.refusal = member !== undefined ? `refused: the delegation to ${member} failed; ${cause}` : `refused: no coworker ${coworker}; ${cause}`;
    put(part, 'taskId', source.taskId);
    if (cause === undefined) this.#delegatedTo.set(tool.spanId, { agent: target, taskId: source.taskId });
    const coworkerFailed = (arrival !== undefined && arrival.span.statusCode === StatusCodeNumber.Error) || (output !== undefined && output.startsWith(COWORKER_ERROR_PREFIX));
    this.#delegations.push({ part, owner: source.spanId, key: `${toolKey(toolName)}\u0000${normalizeAgentName(target)}`, coworkerFailed: cause === undefined && coworkerFailed });
  }

  /**
   * The delegations in start order, each one following a delegation whose coworker failed, from
   * the same run with the same tool to the same coworker, folded into it as another attempt.
   */
  #emitDelegations(): void {
    /** owner run span id + key → the open handoff whose last attempt failed. */
    const failedLast = new Map<string, Mutable<TransferPart>>();
    for (let i = 0; i < this.#delegations.length; i++) {
      const d = this.#delegations[i]!;
      const slot = `${d.owner}\u0000${d.key}`;
      const earlier = d.part.refusal === undefined ? failedLast.get(slot) : undefined;
      if (earlier) {
        earlier.sendCount = (earlier.sendCount ?? 1) + 1;
        if (d.part.arrival !== undefined) earlier.arrival = d.part.arrival;
        else delete earlier.arrival;
        this.ignored.push({ span: d.part.span, reason: `retry of the delegation on span ${earlier.span.spanId} (its coworker failed): counted in its sendCount` });
        if (!d.coworkerFailed) failedLast.delete(slot);
        continue;
      }
      this.parts.push(d.part);
      if (d.coworkerFailed) failedLast.set(slot, d.part);
    }
  }

  /**
   * The crew's agents by name key, as its kickoff span lists them (`crew_agents`, JSON
   * `[{"role": …}, …]`); CrewAI matches a coworker's name to a role case-insensitively.
   * Undefined when no kickoff span with the list encloses the tool.
   */
  #rosterOf(tool: SpanRecord): Map<string, string> | undefined {
    const kickoff = this.#kickoffAbove.of(tool);
    if (!kickoff) return undefined;
    if (this.#rosters.has(kickoff.spanId)) return this.#rosters.get(kickoff.spanId);
    const roster = parseRoster(kickoff.attributes[CREWAI_CREW_AGENTS] as string);
    this.#rosters.set(kickoff.spanId, roster);
    return roster;
  }

  /** The coworker as the data spells its runs (CrewAI matches roles case-insensitively), else as the model wrote it. */
  #canonical(name: string): string {
    const runs = this.#runsByKey.get(normalizeAgentName(name));
    return runs && runs.length > 0 ? runs[runs.length - 1]!.agent : name;
  }
}

/** The crew's agents by name key from `crew_agents`, or undefined. */
function parseRoster(text: string): Map<string, string> | undefined {
  const parsed = parseJsonText(text, MAX_INPUT_CHARS);
  if (!Array.isArray(parsed)) return undefined;
  const roster = new Map<string, string>();
  for (let i = 0; i < parsed.length; i++) {
    const role = (parsed[i] as { role?: unknown } | null)?.role;
    if (typeof role === 'string' && role.trim().length > 0) roster.set(normalizeAgentName(role), role.trim());
  }
  return roster.size > 0 ? roster : undefined;
}

/** CrewAI's error answer up to its list of options: `Error executing tool. coworker mentioned not found`. */
function errorSentence(text: string): string {
  let end = text.indexOf('\n');
  if (end < 0) end = text.length;
  const comma = text.indexOf(', it must be');
  if (comma >= 0 && comma < end) end = comma;
  return text.slice(0, Math.min(end, 200)).trim();
}

/** CrewAI crews through OpenInference's CrewAI instrumentation (see the file header). */
export const crewAiDialect: Dialect = {
  id: 'crewai',
  description: 'CrewAI via OpenInference (task runs, coworker delegation, sequential task context)',
  readsAttribute(name) {
    return (
      name === OPENINFERENCE_SPAN_KIND ||
      name === OPENINFERENCE_GRAPH_NODE_ID ||
      name === OPENINFERENCE_GRAPH_NODE_PARENT_ID ||
      name === OPENINFERENCE_TOOL_NAME ||
      name === OPENINFERENCE_INPUT_VALUE ||
      name === OPENINFERENCE_OUTPUT_VALUE ||
      name === OPENINFERENCE_SESSION_ID ||
      name === CREWAI_CREW_ID ||
      name === CREWAI_CREW_AGENTS ||
      name === CREWAI_CREW_KEY ||
      name === CREWAI_TASK_KEY ||
      name === CREWAI_AGENT_KEY
    );
  },
  claims(span) {
    // The instrumentor's event-listener mode names its tracer after its module (`….crewai._event_listener`).
    const scope = span.scopeName;
    if (scope === '') return isScopelessCrewAiSpan(span);
    return scope === OPENINFERENCE_CREWAI_SCOPE || (scope.startsWith(OPENINFERENCE_CREWAI_SCOPE) && scope.charCodeAt(OPENINFERENCE_CREWAI_SCOPE.length) === 46);
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    return new Interpretation(context).run(spans);
  },
};
