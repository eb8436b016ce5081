/**
 * Mastra workflows, as `@mastra/otel-exporter` writes them (observability/otel-exporter
 * `src/gen-ai-semantics.ts` of mastra-ai/mastra): `invoke_workflow {id}` for a run, under it
 * `workflow_step {step id}` per step and `parallel {n} branches`, `conditional {n} conditions`,
 * `loop {type}` containers, each with `gen_ai.operation.name` and `mastra.span.type` set to
 * Mastra's span type (`workflow_step`, `workflow_parallel`, `workflow_conditional`,
 * `workflow_loop`). An agent used as a step (`createStep(agent)`) runs its `invoke_agent` inside
 * the step's span.
 *
 * No span is a handoff, but Mastra's engine gives each step the output of the step before it
 * (`.then`), each branch of a parallel or conditional the output of the step before the
 * container, and the step after it the branches' outputs: so an agent step is handed the work
 * of the latest agent steps before it in its workflow, through any steps that ran no agent (a
 * `.map`, a plain step). Each such edge is a transfer (`pass_control`, inferred) from the earlier
 * agent's run to this one's, its evidence the first span after the earlier agent's step (where
 * the hand-on began, so latency is the gap between the two agents). A loop's iterations follow
 * one another the same way; an agent step looping over itself hands nothing to another agent.
 *
 * Not read as a workflow of agents: the workflows inside an agent's own run (`execution-workflow`,
 * `agentic-loop`, exported only with `includeInternalSpans`), and an agent network's routing
 * (`agent.network()`), whose chosen agents' runs Mastra starts as traces of their own.
 */
import { MASTRA_SPAN_TYPE } from '../../model/attributes.js';
import type { SpanRecord } from '../../model/span-record.js';
import { put, readName } from './attribute-readers.js';
import type { DialectContext, IgnoredSpan, Mutable, TransferPart } from './dialect.js';
import { NearestAncestor } from './nearest-ancestor.js';

const STEP = 'workflow_step';
const PARALLEL = 'workflow_parallel';
const CONDITIONAL = 'workflow_conditional';
const LOOP = 'workflow_loop';

/** The Mastra span types read here, each also its `gen_ai.operation.name`. */
export const MASTRA_WORKFLOW_OPERATIONS: ReadonlySet<string> = new Set([STEP, PARALLEL, CONDITIONAL, LOOP]);

/** Whether a span is one of Mastra's workflow spans read here: its operation is a Mastra span type, and Mastra says so. */
export function isMastraWorkflowSpan(span: SpanRecord, operation: string | undefined): boolean {
  return operation !== undefined && MASTRA_WORKFLOW_OPERATIONS.has(operation) && span.attributes[MASTRA_SPAN_TYPE] === operation;
}

/** An agent run as the GenAI reading counted it. */
export interface WorkflowAgentRun {
  readonly span: SpanRecord;
  readonly agent: string;
  readonly key: string;
  readonly taskId: string | undefined;
}

/** What the reading needs of the GenAI interpretation. */
export interface WorkflowLookups {
  /** The counted agent run of an `invoke_agent` span, else undefined. */
  runOf(span: SpanRecord): WorkflowAgentRun | undefined;
  /** The GenAI operation of a span (`invoke_agent`, `execute_tool`, `invoke_workflow`, …). */
  operationOf(span: SpanRecord): string | undefined;
}

/** A bound on the spans searched below one step: far above any real step, a guard on hostile trees. */
const MAX_STEP_SPANS = 10_000;
/** How deep containers (parallel, conditional, loop) are followed inside one another. */
const MAX_CONTAINER_DEPTH = 64;

export function readMastraWorkflows(
  claimed: readonly SpanRecord[],
  context: DialectContext,
  lookups: WorkflowLookups,
): { parts: TransferPart[]; ignored: IgnoredSpan[] } {
  const parts: TransferPart[] = [];
  const ignored: IgnoredSpan[] = [];
  const claimedIds = new Set<string>();
  for (let i = 0; i < claimed.length; i++) claimedIds.add(claimed[i]!.spanId);
  const reached = new Set<string>();
  const evidenceIds = new Set<string>();
  /** Steps whose agent run was handed work, and the evidence span it was read from. */
  const handedTo = new Map<string, string>();
  const typeOf = (span: SpanRecord): string | undefined => readName(span.attributes, MASTRA_SPAN_TYPE);
  const claimedChildren = (span: SpanRecord): SpanRecord[] => context.childrenOf(span).filter((child) => claimedIds.has(child.spanId));

  /** Runs found per step: the reading asks again when it explains the step. */
  const runsByStep = new Map<string, WorkflowAgentRun[]>();
  /** The agent runs a step holds, not looking inside them nor inside tool calls (an agent's delegations are its own), in start order. */
  const runsIn = (step: SpanRecord): WorkflowAgentRun[] => {
    const known = runsByStep.get(step.spanId);
    if (known) return known;
    const runs: WorkflowAgentRun[] = [];
    runsByStep.set(step.spanId, runs);
    const stack: SpanRecord[] = [step];
    let budget = MAX_STEP_SPANS;
    while (stack.length > 0 && budget-- > 0) {
      const children = context.childrenOf(stack.pop()!);
      for (let i = 0; i < children.length; i++) {
        const child = children[i]!;
        const run = lookups.runOf(child);
        if (run) runs.push(run);
        else if (lookups.operationOf(child) !== 'execute_tool' && lookups.operationOf(child) !== 'invoke_agent') stack.push(child);
      }
    }
    return runs.sort((a, b) => a.span.startMs - b.span.startMs || (a.span.spanId < b.span.spanId ? -1 : 1));
  };

  const connect = (from: readonly WorkflowAgentRun[], to: WorkflowAgentRun, evidence: SpanRecord, step: SpanRecord): void => {
    for (let i = 0; i < from.length; i++) {
      const source = from[i]!;
      if (source.key === to.key) continue;
      const part: Mutable<TransferPart> = { type: 'transfer', span: evidence, source: source.agent, target: to.agent, mode: 'pass_control', inferred: true, arrival: to.span };
      put(part, 'taskId', to.taskId ?? source.taskId);
      parts.push(part);
      evidenceIds.add(evidence.spanId);
      handedTo.set(step.spanId, evidence.spanId);
    }
  };

  /**
   * Walks steps that run one after another, `from` the agent runs whose output reaches the first;
   * `evidence` the span where that hand-on began, when it began before these steps (a container's
   * branches). Returns the runs whose output reaches whatever follows.
   */
  const sequence = (steps: readonly SpanRecord[], from: WorkflowAgentRun[], evidence: SpanRecord | undefined, depth: number): WorkflowAgentRun[] => {
    let handOn = evidence;
    let latest = from;
    // Containers nest a few deep in real workflows; a trace whose parents loop or nest past this is hostile.
    if (depth > MAX_CONTAINER_DEPTH) return latest;
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i]!;
      if (reached.has(step.spanId)) continue;
      reached.add(step.spanId);
      handOn ??= step;
      const type = typeOf(step);
      let exits: WorkflowAgentRun[] | undefined;
      if (type === STEP) {
        const runs = runsIn(step);
        if (runs.length > 0) {
          connect(latest, runs[0]!, handOn, step);
          let last = runs[0]!;
          for (let r = 1; r < runs.length; r++) if (runs[r]!.span.endMs >= last.span.endMs) last = runs[r]!;
          exits = [last];
        }
      } else if (type === PARALLEL || type === CONDITIONAL) {
        // Every branch (a conditional records only those it took) starts from the same runs.
        const branches = claimedChildren(step);
        const out: WorkflowAgentRun[] = [];
        for (let b = 0; b < branches.length; b++) {
          const branchExits = sequence([branches[b]!], latest, handOn, depth + 1);
          if (branchExits !== latest) out.push(...branchExits);
        }
        if (out.length > 0) exits = out;
      } else if (type === LOOP) {
        const after = sequence(claimedChildren(step), latest, handOn, depth + 1);
        if (after !== latest) exits = after;
      }
      if (exits) {
        latest = exits;
        handOn = undefined;
      }
    }
    return latest;
  };

  // Each workflow run: the claimed steps directly under an `invoke_workflow` span.
  const workflows = new Map<string, SpanRecord>();
  for (let i = 0; i < claimed.length; i++) {
    const parent = context.parentOf(claimed[i]!);
    if (parent && lookups.operationOf(parent) === 'invoke_workflow') workflows.set(parent.spanId, parent);
  }
  const internal = new Map<string, string>();
  for (const workflow of workflows.values()) {
    // Inside an agent's run with no tool call between: the agent's own machinery, not a workflow of agents.
    const owner = context.ancestorWhere(workflow, (span) => {
      const op = lookups.operationOf(span);
      return op === 'invoke_agent' || op === 'execute_tool';
    });
    const ownerRun = owner ? lookups.runOf(owner) : undefined;
    const steps = claimedChildren(workflow);
    if (ownerRun) {
      for (let s = 0; s < steps.length; s++) internal.set(steps[s]!.spanId, ownerRun.agent);
      continue;
    }
    sequence(steps, [], undefined, 0);
  }

  // Steps nested in an agent's own machinery, each walked once for all below it (with none, no walk).
  const internalAbove = internal.size > 0 ? new NearestAncestor(context, (s) => internal.has(s.spanId)) : undefined;
  for (let i = 0; i < claimed.length; i++) {
    const span = claimed[i]!;
    if (evidenceIds.has(span.spanId)) continue;
    const type = typeOf(span);
    let reason: string;
    if (internal.has(span.spanId) || (!reached.has(span.spanId) && internalAbove !== undefined && internalAbove.of(span) !== undefined)) {
      reason = `a step of ${internal.get(span.spanId) ?? 'an agent'}'s own run (Mastra's internal spans), not a step of a workflow of agents`;
    } else if (!reached.has(span.spanId)) {
      reason = `Mastra workflow ${type === STEP ? 'step' : 'container'} whose workflow run (invoke_workflow) is not in the data: the steps before it are unknown`;
    } else if (type !== STEP) {
      reason = 'Mastra workflow container: its steps are read one by one';
    } else if (runsIn(span).length === 0) {
      reason = "Mastra workflow step that ran no agent: what it passes on is part of the next agent step's handoff";
    } else if (handedTo.has(span.spanId)) {
      reason = `Mastra workflow step: the handoff into its agent run is read from span ${handedTo.get(span.spanId)}`;
    } else {
      reason = 'Mastra workflow step: no agent step ran before it in its workflow, so no agent handed it work';
    }
    ignored.push({ span, reason });
  }
  return { parts, ignored };
}
