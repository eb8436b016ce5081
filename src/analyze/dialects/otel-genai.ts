/**
 * The `otel-genai` dialect: spans following the OpenTelemetry GenAI agent
 * conventions (`invoke_agent {gen_ai.agent.name}`, `execute_tool`,
 * `invoke_workflow`). Agent runs come from `invoke_agent`; handoffs from the
 * transfer drafts where present, else inferred from a transfer tool
 * (`transfer_to_<agent>`) followed by the target agent's run.
 *
 * @see https://github.com/open-telemetry/semantic-conventions-genai
 */
import { GEN_AI_AGENT_ID, GEN_AI_AGENT_NAME, GEN_AI_OPERATION_NAME, GEN_AI_TOOL_NAME } from '../../model/attributes.js';
import type { SpanRecord } from '../../model/span-record.js';
import { readName } from './attribute-readers.js';
import type { Dialect, DialectContext, DialectResult, HandoffPart, IgnoredSpan } from './dialect.js';

const AGENT_OPERATIONS: ReadonlySet<string> = new Set(['invoke_agent', 'create_agent', 'execute_tool', 'invoke_workflow']);

function operationOf(span: SpanRecord): string | undefined {
  const op = readName(span.attributes, GEN_AI_OPERATION_NAME);
  if (op !== undefined) return op;
  const space = span.name.indexOf(' ');
  const head = space < 0 ? span.name : span.name.slice(0, space);
  return AGENT_OPERATIONS.has(head) ? head : undefined;
}

function agentOf(span: SpanRecord): string | undefined {
  const name = readName(span.attributes, GEN_AI_AGENT_NAME);
  if (name !== undefined) return name;
  return span.name.startsWith('invoke_agent ') ? span.name.slice('invoke_agent '.length) || undefined : undefined;
}

const TRANSFER_TOOL = /^(?:transfer|handoff)_to_(.+)$/;

export const otelGenAiDialect: Dialect = {
  id: 'otel-genai',
  description: 'OpenTelemetry GenAI agent conventions (invoke_agent, execute_tool, invoke_workflow)',
  records: { acks: false, envelopes: false, context: false, state: false },
  attributePrefixes: ['gen_ai.', 'error.type'],
  claims(span) {
    const op = operationOf(span);
    return op !== undefined && AGENT_OPERATIONS.has(op);
  },
  interpret(spans: readonly SpanRecord[], context: DialectContext): DialectResult {
    const parts: HandoffPart[] = [];
    const ignored: IgnoredSpan[] = [];
    const runs: { span: SpanRecord; agent: string }[] = [];
    for (const span of spans) {
      if (operationOf(span) !== 'invoke_agent') continue;
      const agent = agentOf(span);
      if (agent === undefined) {
        ignored.push({ span, reason: 'invoke_agent without gen_ai.agent.name' });
        continue;
      }
      const part: { type: 'agent-run'; span: SpanRecord; agent: string; agentId?: string } = { type: 'agent-run', span, agent };
      const id = readName(span.attributes, GEN_AI_AGENT_ID);
      if (id !== undefined) part.agentId = id;
      parts.push(part);
      runs.push({ span, agent });
    }
    runs.sort((a, b) => a.span.startMs - b.span.startMs);
    const runAgent = new Map(runs.map((r) => [r.span.spanId, r.agent]));
    for (const span of spans) {
      const op = operationOf(span);
      if (op === 'invoke_agent') continue;
      if (op !== 'execute_tool') {
        ignored.push({ span, reason: `${op ?? span.name}: no handoff meaning` });
        continue;
      }
      const tool = readName(span.attributes, GEN_AI_TOOL_NAME) ?? span.name.replace(/^execute_tool /, '');
      const match = TRANSFER_TOOL.exec(tool);
      if (!match) {
        ignored.push({ span, reason: `tool ${tool} is not a transfer` });
        continue;
      }
      const target = match[1]!;
      const owner = context.ancestorWhere(span, (s) => runAgent.has(s.spanId));
      const source = owner ? runAgent.get(owner.spanId)! : undefined;
      if (source === undefined) {
        ignored.push({ span, reason: `transfer tool ${tool} outside any invoke_agent span` });
        continue;
      }
      const arrival = runs.find((r) => r.agent === target && r.span.startMs >= span.startMs)?.span;
      parts.push({ type: 'transfer', span, source, target, inferred: true, ...(arrival ? { arrival } : {}) });
    }
    return { parts, ignored };
  },
};
