/**
 * Generates handoff chains through the real Baton SDK and OTel SDK, for property
 * tests of the analyzer: N agents hand a task down a chain, each as its own
 * process (the receive runs under ROOT_CONTEXT, so only the envelope's trace
 * context links the sides). Each agent reads its upstream's output, writes a
 * draft and its output to a versioned store, publishes the completion event the
 * output write announces (a monitor consumes it), and sends the next agent a
 * valid v1 envelope carrying decisions_made and constraints; the target
 * acknowledges (automatically or by hand) and runs.
 *
 * One fault can be planted in one task. The clock is the caller's: `tick()` is
 * called between steps so that every span starts at its own instant (span start
 * times have millisecond resolution, and several analyzer checks compare them).
 */
import { context, ROOT_CONTEXT } from '@opentelemetry/api';
import type { HandoffEnvelopeV1 } from '../../src/model/envelope.js';
import type { SpanRecord } from '../../src/model/span-record.js';
import { Baton } from '../../src/sdk/baton.js';
import { createOtelHarness } from './otel.js';
import { toSpanRecords } from './traces.js';

/** A fault planted in task `task`; hops are numbered from 0 (agents[hop] → agents[hop + 1]). */
export type PlantedFault =
  | { readonly kind: 'context-loss'; readonly task: number; readonly hop: number }
  | { readonly kind: 'schema-drift'; readonly task: number; readonly hop: number }
  | { readonly kind: 'unlinked-handoff'; readonly task: number; readonly hop: number }
  | { readonly kind: 'ack-timeout'; readonly task: number; readonly hop: number }
  | { readonly kind: 'partial-handoff'; readonly task: number; readonly agent: number }
  | { readonly kind: 'duplicate-write'; readonly task: number; readonly agent: number }
  /** agents[agent] (never the first) reads its upstream's output from a lagging replica. */
  | { readonly kind: 'stale-epoch-read'; readonly task: number; readonly agent: number }
  /**
   * agents[agent] (never the first) reads its upstream's output; the upstream revises it in a run of its
   * own; then agents[agent] writes the output back, edited from the version it read (a plain write): the
   * revision is lost.
   */
  | { readonly kind: 'lost-update'; readonly task: number; readonly agent: number }
  /**
   * The last agent also hands off back to agents[backTo]: a circular delegation when backTo ≤ n - 3; a
   * return (no loop) when backTo = n - 2, the agent that handed it the work.
   */
  | { readonly kind: 'dependency-cycle'; readonly task: number; readonly backTo: number };

export interface ChainPlan {
  /** Distinct agent names, 2 or more, in chain order. */
  readonly agents: readonly string[];
  readonly tasks: number;
  /** Whether the receiver of hop h of task t acknowledges by hand: ackManually[(t * agents.length + h) % length]. */
  readonly ackManually: readonly boolean[];
  readonly fault?: PlantedFault;
}

export interface GeneratedChains {
  readonly spans: SpanRecord[];
  readonly taskIds: readonly string[];
  /** Handoffs sent per `source → target` edge. */
  readonly handoffsPerEdge: ReadonlyMap<string, number>;
  /** baton.handoff.id of every hop, per task: handoffIds[t][h]; the back edge of a loop last. */
  readonly handoffIds: readonly (readonly string[])[];
  /** For an ack-timeout fault: the delay the receiver measured, and the budget it had. */
  readonly lateAck?: { readonly delayMs: number; readonly budgetMs: number };
  /** Shuts the OTel providers down. */
  shutdown(): Promise<void>;
}

/** Agent that consumes the completion events (not part of any chain). */
export const MONITOR = 'monitor';
export const CONSTRAINTS = ['B2B only', 'cite every source'];
export const BUDGET_MS = 600_000;
export const TIGHT_BUDGET_MS = 500;
export const edgeKey = (source: string, target: string): string => `${source} → ${target}`;
export const taskIdOf = (t: number): string => `task-${t}`;
export const topicOf = (agent: string): string => `task.${agent}.complete`;

/** Runs the plan through the SDK and returns the spans as the analyzer reads them (OTLP/JSON round trip). */
export function generateChains(plan: ChainPlan, tick: (ms?: number) => void): GeneratedChains {
  const otel = createOtelHarness();
  const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
  const handoffsPerEdge = new Map<string, number>();
  const handoffIds: string[][] = [];
  const taskIds: string[] = [];
  let lateAck: GeneratedChains['lateAck'];
  const { agents, fault } = plan;
  const n = agents.length;

  for (let t = 0; t < plan.tasks; t++) {
    const taskId = taskIdOf(t);
    taskIds.push(taskId);
    const ids: string[] = [];
    handoffIds.push(ids);
    const versions = new Map<string, number>();
    const faultHere = fault && fault.task === t ? fault : undefined;

    type WriteFacts = { attempt: number; step?: string; idempotencyKey: string; announces?: string };
    /** A write of `key` by `agent`, the store numbering versions. */
    const writeKey = (key: string, agent: string, extra: WriteFacts): number => {
      tick();
      const version = (versions.get(key) ?? 0) + 1;
      versions.set(key, version);
      return baton.traceStateWrite({ key, agent, taskId, epoch: 1, ...extra }, () => ({ version, epoch: 1 })).version;
    };
    const write = (agent: string, extra: WriteFacts): number => writeKey(`${taskId}/${agent}`, agent, extra);

    const publishAndConsume = (agent: string, version: number): void => {
      tick();
      const message = baton.publish({ topic: topicOf(agent), taskId, agent, key: `${taskId}/${agent}`, stateVersion: version });
      const wire = JSON.stringify(message);
      tick();
      context.with(ROOT_CONTEXT, () => baton.consume(JSON.parse(wire), () => undefined, { agent: MONITOR }));
    };

    const send = (source: string, target: string, decisions: readonly string[], version: number, hop: number): string => {
      tick();
      const dropDecisions = faultHere?.kind === 'context-loss' && faultHere.hop === hop;
      const tight = faultHere?.kind === 'ack-timeout' && faultHere.hop === hop;
      const envelope: HandoffEnvelopeV1 = {
        task_id: taskId,
        source_agent: source,
        target_agent: target,
        status: 'complete',
        output: { summary: `${source} finished its part`, artifacts: [`mem://${taskId}/${source}@${version}`] },
        context: {
          original_goal: 'compare pricing',
          constraints: [...CONSTRAINTS],
          ...(dropDecisions ? {} : { decisions_made: [...decisions] }),
        },
        metadata: { started_at: new Date().toISOString(), token_count: 100 + 10 * decisions.length },
      };
      const sent = baton.send(envelope, {
        attempt: 1,
        epoch: 1,
        stateVersion: version,
        idempotencyKey: `${taskId}:${source}->${target}:${hop}`,
        timeoutBudgetMs: tight ? TIGHT_BUDGET_MS : BUDGET_MS,
      });
      if (faultHere?.kind === 'unlinked-handoff' && faultHere.hop === hop)
        delete (sent.handoff as { trace_context?: unknown }).trace_context;
      ids.push(sent.handoff.id);
      const key = edgeKey(source, target);
      handoffsPerEdge.set(key, (handoffsPerEdge.get(key) ?? 0) + 1);
      return JSON.stringify(sent);
    };

    /** Receives `wire` as a fresh process would, acknowledges, and runs `work` under the receive. */
    const receive = (wire: string, hop: number, work: (decisions: readonly string[]) => string | undefined): string | undefined => {
      tick();
      return context.with(ROOT_CONTEXT, () => {
        const manual = plan.ackManually[(t * n + hop) % plan.ackManually.length] ?? false;
        const late = faultHere?.kind === 'ack-timeout' && faultHere.hop === hop;
        const drift = faultHere?.kind === 'schema-drift' && faultHere.hop === hop;
        const sentAt = Date.parse((JSON.parse(wire) as { handoff: { sent_at: string } }).handoff.sent_at);
        const received = baton.receive<HandoffEnvelopeV1>(wire, {
          ack: manual || late ? 'manual' : 'auto',
          ...(drift ? { schema: 'baton.handoff-envelope@2' } : {}),
        });
        if (!received.valid) throw new Error(`generated envelope invalid: ${JSON.stringify(received.issues)}`);
        if (manual || late) {
          tick(late ? 2 * TIGHT_BUDGET_MS : undefined);
          if (late) lateAck = { delayMs: Date.now() - sentAt, budgetMs: TIGHT_BUDGET_MS };
          received.ack();
        }
        return received.run(() => work(received.envelope.context.decisions_made ?? []));
      });
    };

    /** One agent's turn: read upstream, write, publish, hand off. Returns the envelope it sent, if any. */
    const turn = (i: number, inbound: readonly string[]): string | undefined => {
      const agent = agents[i]!;
      tick();
      return baton.runAgent(
        agent,
        () => {
          if (i > 0) {
            tick();
            const key = `${taskId}/${agents[i - 1]}`;
            const current = versions.get(key)!;
            const stale = faultHere?.kind === 'stale-epoch-read' && faultHere.agent === i;
            baton.traceStateRead({ key, agent, taskId, epoch: 1 }, () => ({
              value: 'output',
              version: stale ? current - 1 : current,
              epoch: 1,
            }));
            if (faultHere?.kind === 'lost-update' && faultHere.agent === i) {
              const upstream = agents[i - 1]!;
              tick();
              context.with(ROOT_CONTEXT, () =>
                baton.runAgent(upstream, () => writeKey(key, upstream, { attempt: 1, idempotencyKey: `${taskId}:${upstream}:revision` }), { taskId }),
              );
              writeKey(key, agent, { attempt: 1, idempotencyKey: `${taskId}:${agent}:edit` });
            }
          }
          write(agent, { attempt: 1, idempotencyKey: `${taskId}:${agent}:draft` });
          const attempts = faultHere?.kind === 'duplicate-write' && faultHere.agent === i ? [1, 2] : [1];
          let version = 0;
          for (const attempt of attempts) {
            version = write(agent, { attempt, step: 'output', idempotencyKey: `${taskId}:${agent}:output`, announces: topicOf(agent) });
            if (!(faultHere?.kind === 'partial-handoff' && faultHere.agent === i)) publishAndConsume(agent, version);
          }
          const decisions = [...inbound, `${agent}: decision ${i}`];
          if (i + 1 < n) return send(agent, agents[i + 1]!, decisions, version, i);
          if (faultHere?.kind === 'dependency-cycle') return send(agent, agents[faultHere.backTo]!, decisions, version, i + 1);
          return undefined;
        },
        { taskId, dependsOn: i > 0 ? [agents[i - 1]!] : [] },
      );
    };

    let wire = turn(0, []);
    for (let i = 1; i < n; i++) wire = receive(wire!, i - 1, (decisions) => turn(i, decisions));
    if (faultHere?.kind === 'dependency-cycle') {
      // The agent handed back to receives and works again, without handing off further.
      const back = faultHere.backTo;
      receive(wire!, n - 1, () => {
        tick();
        return baton.runAgent(agents[back]!, () => undefined, { taskId, dependsOn: back > 0 ? [agents[back - 1]!] : [] });
      });
    }
  }

  const spans = toSpanRecords(otel.spans());
  return { spans, taskIds, handoffsPerEdge, handoffIds, ...(lateAck ? { lateAck } : {}), shutdown: () => otel.shutdown() };
}
