/**
 * Agent runs: one agent's turn in an `invoke_agent <name>` span (GenAI
 * conventions), with its outcome, token usage and what it waits on.
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
import { errorType } from './fault-policy.js';
import type { AgentRun, RunAgentOptions } from './options.js';
import { activeTracer, runInSpan, type SdkRuntime, type SpanAttributes } from './runtime.js';

const noopAgentRun: AgentRun = {
  span: trace.wrapSpanContext({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), traceFlags: 0 }),
  setUsage: () => undefined,
  block: () => undefined,
};

/**
 * Runs one agent's turn in an `invoke_agent <name>` span (GenAI conventions). The
 * function's result is returned, its error rethrown untouched: those are the host's.
 */
export function runAgent<T>(rt: SdkRuntime, name: string, fn: (run: AgentRun) => T, options: RunAgentOptions = {}): T {
  let span: Span | undefined;
  let blocked: string | undefined;
  try {
    const attrs: SpanAttributes = {
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: BatonOperation.AgentRun,
      [GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [GEN_AI_AGENT_NAME]: name,
    };
    if (options.agentId !== undefined) attrs[GEN_AI_AGENT_ID] = options.agentId;
    if (options.taskId !== undefined) attrs[BATON_TASK_ID] = options.taskId;
    if (options.conversationId !== undefined) attrs[GEN_AI_CONVERSATION_ID] = options.conversationId;
    if (options.model !== undefined) attrs[GEN_AI_REQUEST_MODEL] = options.model;
    if (options.dependsOn && options.dependsOn.length > 0) attrs[BATON_AGENT_DEPENDS_ON] = [...options.dependsOn];
    span = activeTracer(rt).startSpan(`invoke_agent ${name}`, {
      kind: SpanKind.INTERNAL,
      attributes: attrs,
      startTime: nowMs(),
    });
  } catch (error) {
    rt.policy.fault('runAgent', error, span);
  }
  if (!span) return fn(noopAgentRun);
  const agentSpan = span;
  const run: AgentRun = {
    span: agentSpan,
    setUsage: (inputTokens, outputTokens) => {
      agentSpan.setAttribute(GEN_AI_USAGE_INPUT_TOKENS, inputTokens);
      if (outputTokens !== undefined) agentSpan.setAttribute(GEN_AI_USAGE_OUTPUT_TOKENS, outputTokens);
    },
    block: (reason) => {
      blocked = reason;
    },
  };
  const finish = (error: unknown, failed: boolean): void => {
    try {
      if (failed) {
        agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Failed);
        agentSpan.setAttribute(ERROR_TYPE, errorType(error));
        agentSpan.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
        if (error instanceof Error) agentSpan.recordException(error, nowMs());
      } else if (blocked !== undefined) {
        agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Blocked);
        agentSpan.setAttribute(ERROR_TYPE, 'blocked');
        agentSpan.setStatus({ code: SpanStatusCode.ERROR, message: blocked });
      } else {
        agentSpan.setAttribute(BATON_AGENT_OUTCOME, AgentOutcome.Completed);
      }
      agentSpan.end(nowMs());
    } catch (fault) {
      rt.policy.fault('runAgent', fault, undefined);
    }
  };
  return runInSpan(agentSpan, () => fn(run), finish);
}
