/**
 * Agent runs: one agent's turn in an `invoke_agent <name>` span (GenAI
 * conventions), with its outcome, token usage and what it waits on. The
 * function's result is returned, its error rethrown untouched: those are the host's.
 */
import { SpanKind, SpanStatusCode, trace, type Span } from '@opentelemetry/api';
import {
  AgentOutcome,
  BATON_AGENT_DEPENDS_ON,
  BATON_AGENT_OUTCOME,
  BATON_CONVENTIONS_VERSION,
  BATON_OPERATION,
  BATON_TASK_ID,
  BatonOperation,
  CONVENTIONS_VERSION,
  ERROR_TYPE,
  GEN_AI_AGENT_ID,
  GEN_AI_AGENT_NAME,
  GEN_AI_CONVERSATION_ID,
  GEN_AI_OPERATION_NAME,
  GEN_AI_REQUEST_MODEL,
  GEN_AI_USAGE_INPUT_TOKENS,
  GEN_AI_USAGE_OUTPUT_TOKENS,
} from '../model/attributes.js';
import { nowMs } from './clock.js';
import { boundedString } from './envelope-facts.js';
import { describeError, toBatonError } from './fault-policy.js';
import type { AgentRun, RunAgentOptions } from './options.js';
import { activeTracer, checkContextManager, endFallible, faultOnMissing, runInSpan, type SdkRuntime, type SpanAttributes } from './runtime.js';

const noopAgentRun: AgentRun = Object.freeze({
  span: trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }),
  setUsage: () => undefined,
  block: () => undefined,
});

/** The handle given to the host's function: records usage and blocking, never throws in warn mode. */
class Run implements AgentRun {
  blocked: string | undefined;
  constructor(
    readonly span: Span,
    readonly rt: SdkRuntime,
  ) {}

  setUsage(inputTokens: number, outputTokens?: number): void {
    try {
      this.span.setAttribute(GEN_AI_USAGE_INPUT_TOKENS, inputTokens);
      if (outputTokens !== undefined) this.span.setAttribute(GEN_AI_USAGE_OUTPUT_TOKENS, outputTokens);
    } catch (error) {
      this.rt.policy.fault('runAgent', error, undefined);
    }
  }

  block(reason: string): void {
    this.blocked = describeError(reason);
  }
}

/** Runs `fn` in an `invoke_agent <name>` span and returns what it returns. */
export function runAgent<T>(rt: SdkRuntime, name: string, fn: (run: AgentRun) => T, options: RunAgentOptions | undefined): T {
  let span: Span | undefined;
  try {
    const opts: RunAgentOptions = options !== null && typeof options === 'object' ? options : {};
    const agentName = boundedString(name) || 'unknown';
    const attrs: SpanAttributes = {
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: BatonOperation.AgentRun,
      [GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [GEN_AI_AGENT_NAME]: agentName,
    };
    const agentId = boundedString(opts.agentId);
    if (agentId !== undefined) attrs[GEN_AI_AGENT_ID] = agentId;
    const taskId = boundedString(opts.taskId);
    if (taskId !== undefined) attrs[BATON_TASK_ID] = taskId;
    const conversationId = boundedString(opts.conversationId);
    if (conversationId !== undefined) attrs[GEN_AI_CONVERSATION_ID] = conversationId;
    const model = boundedString(opts.model);
    if (model !== undefined) attrs[GEN_AI_REQUEST_MODEL] = model;
    const dependsOn = opts.dependsOn;
    if (Array.isArray(dependsOn) && dependsOn.length > 0) {
      const names: string[] = [];
      for (let i = 0; i < dependsOn.length; i++) {
        const dependency = boundedString(dependsOn[i]);
        if (dependency !== undefined) names.push(dependency);
      }
      attrs[BATON_AGENT_DEPENDS_ON] = names;
    }
    checkContextManager(rt);
    span = activeTracer(rt).startSpan(`invoke_agent ${agentName}`, {
      kind: SpanKind.INTERNAL,
      attributes: attrs,
      startTime: nowMs(),
    });
  } catch (error) {
    rt.policy.fault('runAgent', error, span, false);
    // A span that started is ended; the host's function runs either way, and in strict mode after the throw never.
    if (span) endFallible(rt, span, 'runAgent', undefined, true);
    if (rt.mode === 'strict') throw toBatonError('runAgent', error);
    span = undefined;
  }
  // Every handoff and state access in a run with no name would be attributed to an agent the app never named.
  if (span && (typeof name !== 'string' || name.length === 0)) faultOnMissing(rt, span, 'runAgent', 'runAgent() needs an agent name: a non-empty string', true);
  if (!span) return fn(noopAgentRun);
  const agentSpan = span;
  const run = new Run(agentSpan, rt);
  const finish = (result: unknown, failed: boolean): void => {
    if (!failed) {
      try {
        if (run.blocked !== undefined) {
          agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Blocked);
          agentSpan.setAttribute(ERROR_TYPE, 'blocked');
          agentSpan.setStatus({ code: SpanStatusCode.ERROR, message: run.blocked });
        } else {
          agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Completed);
        }
      } catch (fault) {
        rt.policy.fault('runAgent', fault, undefined, false);
      }
    } else {
      try {
        agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Failed);
      } catch (fault) {
        rt.policy.fault('runAgent', fault, undefined, false);
      }
    }
    endFallible(rt, agentSpan, 'runAgent', result, failed);
  };
  return runInSpan(rt, agentSpan, () => fn(run), finish);
}
