/**
 * A five-agent research pipeline (triage → research → analysis → writer → reviewer)
 * instrumented with Baton, built on the production pattern of the founding
 * document: shared state as the source of truth (a versioned store), events as
 * the notification layer (a coordinator waits for each completion event), and a
 * typed, versioned envelope handed to the next agent as JSON, as over a queue.
 *
 * Each worker receives its envelope in a fresh root context, as a separate
 * process would: only the trace context inside the envelope links the sides.
 *
 * Faults can be injected one by one to produce traces of each failure mode; the
 * analyzer's test fixtures are made this way (fixtures/generate.ts).
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import {
  InMemoryStateStore,
  instrumentStore,
  type AgentRun,
  type Baton,
  type EventMessage,
  type HandoffEnvelopeV1,
  type InstrumentedStateStore,
  type VersionedStateStore,
} from 'baton-sdk';
import { findPlanCycle, validatePlan, type DependencyPlan } from 'baton-sdk/plan';
import { EventBus } from './event-bus.js';
import { estimateTokens, ScriptedModel } from './scripted-model.js';

/** The failure modes the pipeline can inject, one trace each. */
export const FAULTS = [
  'cycle',
  'stale-read',
  'duplicate-write',
  'partial-handoff',
  'ack-timeout',
  'schema-drift',
  'context-blowup',
  'context-loss',
  'revision-loop',
  'lost-trace-context',
] as const;
export type Fault = (typeof FAULTS)[number];

/** What each fault does, for `--help` and the README. */
export const FAULT_DESCRIPTIONS: Record<Fault, string> = {
  cycle: 'research waits on reviewer, which waits (via writer, analysis) on research: the plan check is skipped and four agents block',
  'stale-read': 'analysis reads research output from a lagging replica: version 1 after version 2 committed',
  'duplicate-write': 'research crashes after writing, before publishing its event; the coordinator retries and the write lands twice',
  'partial-handoff': 'writer writes its draft but never publishes task.writer.complete',
  'ack-timeout': 'reviewer is busy and acknowledges the writer handoff after its 40 ms budget',
  'schema-drift': 'analysis upgraded to envelope schema v2 (adds output.reasoning_trace); writer still expects v1',
  'context-blowup': 'every agent forwards the full accumulated context (~4K tokens a hop) instead of a summary',
  'context-loss': 'writer drops decisions_made and constraints from its handoff to reviewer',
  'revision-loop': 'reviewer sends the draft back to writer twice before approving (a bounded revision loop)',
  'lost-trace-context': 'the queue between research and analysis drops the envelope trace context',
};

export const AGENTS = ['triage', 'research', 'analysis', 'writer', 'reviewer'] as const;
export type AgentName = (typeof AGENTS)[number];

/** Who waits on whom in the clean pipeline. */
export const PLAN: DependencyPlan = {
  triage: [],
  research: ['triage'],
  analysis: ['research'],
  writer: ['analysis'],
  reviewer: ['writer'],
};

/** The plan with the injected cycle: research now also waits on reviewer. */
export const CYCLIC_PLAN: DependencyPlan = { ...PLAN, research: ['triage', 'reviewer'] };

const GOAL = 'Compare SaaS pricing in devtools market';
const CONSTRAINTS = ['focus on sub-$100/mo tiers', 'B2B only'];
const DECISIONS: Record<AgentName, string> = {
  triage: 'scoped to CI/CD and build tooling vendors',
  research: 'excluded freemium tiers as out of scope',
  analysis: 'used list prices, not negotiated enterprise quotes',
  writer: 'led with the SSO upsell finding',
  reviewer: 'verified every price against its source page',
};
const DEFAULT_BUDGET_MS = 5_000;
const TIGHT_BUDGET_MS = 40;
const EVENT_WAIT_MS = 60;
const DEPENDENCY_WAIT_MS = 25;

/** What the pipeline stored for each agent. */
interface AgentOutput {
  readonly summary: string;
  readonly decisions: readonly string[];
  readonly draft?: boolean;
}

export interface PipelineOptions {
  readonly baton: Baton;
  readonly faults?: readonly Fault[];
  readonly taskId?: string;
}

export interface StageOutcome {
  readonly agent: string;
  readonly attempt: number;
  readonly outcome: 'completed' | 'failed' | 'blocked';
}

export interface PipelineResult {
  readonly taskId: string;
  readonly outcome: 'completed' | 'failed' | 'deadlocked';
  readonly stages: readonly StageOutcome[];
  /** What happened that a reader of the demo should know (faults injected, retries, timeouts). */
  readonly notes: readonly string[];
}

class WorkerCrash extends Error {
  override name = 'WorkerCrash';
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const topicOf = (agent: string): string => `task.${agent}.complete`;
const nextOf = (agent: AgentName): AgentName | undefined => AGENTS[AGENTS.indexOf(agent) + 1];
const previousOf = (agent: AgentName): AgentName | undefined => AGENTS[AGENTS.indexOf(agent) - 1];

/** A long, deterministic artifact: what forward-everything pipelines paste into the next prompt. */
function fullArtifact(agent: string): string {
  const line = `${agent}: raw notes, transcripts and tables forwarded verbatim to the next agent. `;
  return line.repeat(Math.ceil(16_000 / line.length)).slice(0, 16_000);
}

/** Runs one task through the pipeline and resolves when it completes, fails or deadlocks. */
export async function runPipeline(options: PipelineOptions): Promise<PipelineResult> {
  const run = new PipelineRun(options);
  return options.baton.runAgent('coordinator', () => run.coordinate(), { taskId: run.taskId });
}

class PipelineRun {
  readonly taskId: string;
  readonly #baton: Baton;
  readonly #faults: ReadonlySet<Fault>;
  readonly #raw = new InMemoryStateStore<AgentOutput>();
  readonly #store: InstrumentedStateStore<AgentOutput>;
  #replica: InstrumentedStateStore<AgentOutput> | undefined;
  readonly #bus = new EventBus();
  readonly #model = new ScriptedModel();
  readonly #inbox = new Map<string, string>();
  readonly #stages: StageOutcome[] = [];
  readonly #notes: string[] = [];
  readonly #completed = new Set<string>();
  readonly #epoch = 1;

  constructor(options: PipelineOptions) {
    this.#baton = options.baton;
    this.#faults = new Set(options.faults ?? []);
    this.taskId = options.taskId ?? 'research-001';
    // The retry of duplicate-write lands twice only in a store that ignores idempotency keys, as most
    // key-value stores do; InMemoryStateStore would answer it with the first write (deduplicated).
    const store = this.#faults.has('duplicate-write') ? ignoringIdempotencyKeys(this.#raw) : this.#raw;
    this.#store = instrumentStore(this.#baton, store, { system: 'memory', collection: 'pipeline_state' });
    for (const fault of this.#faults) this.#notes.push(`injected ${fault}: ${FAULT_DESCRIPTIONS[fault]}`);
  }

  async coordinate(): Promise<PipelineResult> {
    const plan = this.#faults.has('cycle') ? CYCLIC_PLAN : PLAN;
    if (this.#faults.has('cycle')) {
      const cycle = findPlanCycle(plan);
      this.#notes.push(`plan check skipped; validatePlan would refuse: ${cycle?.join(' → ')}`);
    } else {
      validatePlan(plan);
    }
    for (const agent of AGENTS) {
      if (this.#faults.has('cycle') && agent === 'research') return this.#deadlock(plan);
      if (!(await this.#awaitCompletion(agent, plan))) return this.#result('failed');
      if (agent === 'reviewer' && this.#faults.has('revision-loop')) await this.#revise(plan);
    }
    return this.#result('completed');
  }

  /** Runs a stage, waits for its completion event, retries once on a lost event if the fault allows. */
  async #awaitCompletion(agent: AgentName, plan: DependencyPlan): Promise<boolean> {
    await this.#runStage(agent, plan, 1);
    let message = await this.#bus.next(this.taskId, topicOf(agent), EVENT_WAIT_MS);
    if (!message && this.#faults.has('duplicate-write') && agent === 'research') {
      this.#notes.push(`no ${topicOf(agent)} within ${EVENT_WAIT_MS} ms: coordinator retries ${agent} (attempt 2)`);
      await this.#runStage(agent, plan, 2);
      message = await this.#bus.next(this.taskId, topicOf(agent), EVENT_WAIT_MS);
    }
    if (!message) {
      // The production fix: check the store directly before retrying.
      const entry = await this.#store.get(`${this.taskId}/${agent}`, { agent: 'coordinator', taskId: this.taskId });
      if (entry) {
        this.#notes.push(`no ${topicOf(agent)} within ${EVENT_WAIT_MS} ms, but the store has ${agent}'s output: going on`);
        this.#completed.add(agent);
        return true;
      }
      this.#notes.push(`no ${topicOf(agent)} and no output in the store: task failed`);
      return false;
    }
    this.#consume(message, agent);
    return true;
  }

  #consume(message: EventMessage, agent: AgentName): void {
    this.#baton.consume(message, () => this.#completed.add(agent), { agent: 'coordinator', system: 'memory' });
  }

  async #deadlock(plan: DependencyPlan): Promise<PipelineResult> {
    // The agents in the cycle all start, each waiting on another: nothing completes.
    await Promise.all((['research', 'analysis', 'writer', 'reviewer'] as const).map((a) => this.#runStage(a, plan, 1)));
    this.#notes.push('research, analysis, writer and reviewer blocked waiting on each other');
    return this.#result('deadlocked');
  }

  async #revise(plan: DependencyPlan): Promise<void> {
    for (let round = 1; round <= 2; round++) {
      this.#notes.push(`revision round ${round}: reviewer sends the draft back to writer`);
      for (const agent of ['writer', 'reviewer'] as const) {
        await this.#runStage(agent, plan, 1, round);
        const message = await this.#bus.next(this.taskId, topicOf(agent), EVENT_WAIT_MS);
        if (message) this.#consume(message, agent);
      }
    }
  }

  /**
   * One agent turn. With an envelope in its inbox the agent is a separate worker: it
   * receives in a fresh root context. A retry gets the same envelope again (redelivery).
   */
  async #runStage(agent: AgentName, plan: DependencyPlan, attempt: number, revision = 0): Promise<void> {
    const inboundText = this.#inbox.get(agent);
    let inbound: HandoffEnvelopeV1 | undefined;
    const work = (): Promise<void> =>
      this.#baton.runAgent(
        agent,
        async (agentRun) => {
          const outcome = await this.#work(agent, agentRun, plan, attempt, revision, inbound);
          this.#stages.push({ agent, attempt, outcome });
        },
        { taskId: this.taskId, model: this.#model.name, dependsOn: plan[agent] ?? [] },
      ).catch((error: unknown) => {
        this.#stages.push({ agent, attempt, outcome: 'failed' });
        this.#notes.push(`${agent} attempt ${attempt} failed: ${(error as Error).message}`);
      });
    if (inboundText === undefined) return work();
    await context.with(ROOT_CONTEXT, async () => {
      const busy = this.#faults.has('ack-timeout') && agent === 'reviewer' && revision === 0;
      const received = this.#baton.receive<HandoffEnvelopeV1>(inboundText, { ack: busy ? 'manual' : 'auto' });
      inbound = received.envelope;
      if (busy) {
        // Busy with another task: picks the handoff up only after its budget has passed.
        await sleep(TIGHT_BUDGET_MS * 2);
        received.ack();
      }
      if (!received.valid) this.#notes.push(`${agent} received an invalid envelope: ${received.issues[0]?.instancePath} ${received.issues[0]?.message}`);
      await received.run(work);
      // Consumed only once the turn succeeded: a crashed worker's message is delivered again.
      if (this.#stages.at(-1)?.outcome !== 'failed') this.#inbox.delete(agent);
    });
  }

  async #work(
    agent: AgentName,
    agentRun: AgentRun,
    plan: DependencyPlan,
    attempt: number,
    revision: number,
    inbound: HandoffEnvelopeV1 | undefined,
  ): Promise<StageOutcome['outcome']> {
    const waitingOn = (plan[agent] ?? []).filter((dep) => !this.#completed.has(dep));
    if (waitingOn.length > 0) {
      await sleep(DEPENDENCY_WAIT_MS);
      agentRun.block(`waited ${DEPENDENCY_WAIT_MS} ms for ${waitingOn.join(', ')}`);
      return 'blocked';
    }
    const startedAt = new Date().toISOString();
    const upstream = previousOf(agent);
    let upstreamOutput: AgentOutput | undefined;
    if (upstream && revision === 0) {
      const stale = this.#faults.has('stale-read') && agent === 'analysis';
      const source = stale && this.#replica ? this.#replica : this.#store;
      const entry = await source.get(`${this.taskId}/${upstream}`, { agent, taskId: this.taskId, epoch: this.#epoch });
      upstreamOutput = entry?.value;
    }
    const forwardEverything = this.#faults.has('context-blowup');
    const inboundForwarded = (inbound?.context as { forwarded?: string[] } | undefined)?.forwarded ?? [];
    const prompt = forwardEverything
      ? inboundForwarded.join('\n') + (upstreamOutput?.summary ?? '')
      : `${GOAL}\n${upstreamOutput?.summary ?? ''}\n${(inbound?.context.decisions_made ?? []).join('\n')}`;
    const reply = await this.#model.complete(agent, estimateTokens(prompt) + 120);
    agentRun.setUsage(reply.inputTokens, reply.outputTokens);

    const decisions = [...(inbound?.context.decisions_made ?? []), DECISIONS[agent]];
    const key = `${this.taskId}/${agent}`;
    if (agent === 'research') {
      // A draft first, then the final output: readers must see the final one (version 2).
      await this.#store.set(key, { summary: 'draft: 2 competitors so far', decisions, draft: true }, {
        agent,
        taskId: this.taskId,
        epoch: this.#epoch,
        attempt,
        idempotencyKey: `${this.taskId}:${agent}:draft:${attempt}`,
      });
      if (this.#faults.has('stale-read')) this.#replica ??= instrumentStore(this.#baton, this.#raw.snapshot(), { system: 'memory', collection: 'pipeline_state_replica' });
    }
    const written = await this.#store.set(key, { summary: reply.text, decisions }, {
      agent,
      taskId: this.taskId,
      epoch: this.#epoch,
      attempt,
      step: revision > 0 ? `revision-${revision}` : 'output',
      idempotencyKey: `${this.taskId}:${agent}:${revision > 0 ? `revision-${revision}` : 'output'}`,
      announces: topicOf(agent),
    });
    if (this.#faults.has('duplicate-write') && agent === 'research' && attempt === 1) {
      throw new WorkerCrash('worker crashed after the write, before publishing its event');
    }
    if (!(this.#faults.has('partial-handoff') && agent === 'writer')) {
      const message = this.#baton.publish({
        topic: topicOf(agent),
        taskId: this.taskId,
        agent,
        key,
        stateVersion: written.version,
        system: 'memory',
      });
      this.#bus.publish(message);
    }

    const target = this.#targetOf(agent, revision);
    if (!target) return 'completed';
    const loseContext = this.#faults.has('context-loss') && agent === 'writer';
    const schemaV2 = this.#faults.has('schema-drift') && agent === 'analysis';
    const forwarded = forwardEverything ? [...inboundForwarded, fullArtifact(agent)] : undefined;
    const summaryTokens = estimateTokens(reply.text) + decisions.length * 12 + 60;
    const tokenCount = forwardEverything ? (inbound?.metadata.token_count ?? 0) + 4_000 + summaryTokens : summaryTokens;
    const envelope = {
      task_id: this.taskId,
      source_agent: agent,
      target_agent: target,
      status: target === 'writer' && agent === 'reviewer' ? ('needs_review' as const) : ('complete' as const),
      output: {
        summary: reply.text,
        artifacts: [`mem://${key}@${written.version}`],
        confidence: 0.87,
        ...(schemaV2 ? { reasoning_trace: 'compared tier names across vendors before normalizing prices' } : {}),
      },
      context: {
        original_goal: GOAL,
        ...(loseContext ? {} : { constraints: CONSTRAINTS, decisions_made: decisions }),
        ...(forwarded ? { forwarded } : {}),
      },
      metadata: { started_at: startedAt, completed_at: new Date().toISOString(), token_count: tokenCount, model: this.#model.name },
    };
    const budget = this.#faults.has('ack-timeout') && agent === 'writer' && revision === 0 ? TIGHT_BUDGET_MS : DEFAULT_BUDGET_MS;
    const sent = this.#baton.send(envelope, {
      schema: schemaV2 ? 'baton.handoff-envelope@2' : 'baton.handoff-envelope@1',
      attempt,
      epoch: this.#epoch,
      stateVersion: written.version,
      idempotencyKey: `${this.taskId}:${agent}->${target}:${revision}`,
      timeoutBudgetMs: budget,
    });
    if (this.#faults.has('lost-trace-context') && agent === 'research') delete (sent.handoff as { trace_context?: unknown }).trace_context;
    this.#inbox.set(target, JSON.stringify(sent));
    return 'completed';
  }

  #targetOf(agent: AgentName, revision: number): AgentName | undefined {
    if (agent === 'reviewer' && this.#faults.has('revision-loop') && revision < 2) return 'writer';
    return nextOf(agent);
  }

  #result(outcome: PipelineResult['outcome']): PipelineResult {
    return { taskId: this.taskId, outcome, stages: [...this.#stages], notes: [...this.#notes] };
  }
}

/** `store` with writes passed through minus their idempotency key: a store without dedupe. */
function ignoringIdempotencyKeys<V>(store: VersionedStateStore<V>): VersionedStateStore<V> {
  return {
    get: (key) => store.get(key),
    set: (key, value, { idempotencyKey: _ignored, ...options } = {}) => store.set(key, value, options),
  };
}
