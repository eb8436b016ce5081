/**
 * End to end, as the README sets it up: a real @openai/agents run (scripted
 * model, no network) → BatonAgentsTracingProcessor → the OTel Node SDK with
 * AgentsIdGenerator, a BatchSpanProcessor and the real OTLP/HTTP JSON exporter →
 * an HTTP server on 127.0.0.1 → Baton's OTLP reader and audit. Expectations come
 * from the SDK's lifecycle hooks (the program's own view), not the trace. Also
 * shows the NODE_ENV=test pitfall: under Vitest the SDK records nothing until
 * tracing is re-enabled.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, Runner, setTraceProcessors, setTracingDisabled, Usage, type Model, type ModelProvider, type ModelRequest, type ModelResponse } from '@openai/agents';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import { parseOtlpJsonRequest } from '../../../src/ingest/otlp-json.js';
import { AgentsIdGenerator, BatonAgentsTracingProcessor } from '../../../src/integrations/openai-agents/index.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { installContextManager } from '../../helpers/otel.js';

/** Answers each agent from its script: hand off to the next agent, or answer. */
class ScriptedModel implements Model {
  constructor(readonly next: string | undefined) {}
  async getResponse(_request: ModelRequest): Promise<ModelResponse> {
    const usage = new Usage({ requests: 1, inputTokens: 10, outputTokens: 2, totalTokens: 12 });
    if (this.next === undefined) return { usage, output: [{ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'done' }] }] };
    return { usage, output: [{ type: 'function_call', callId: `call_${this.next}`, name: `transfer_to_${this.next}`, arguments: '{}', status: 'completed' }] };
  }
  // eslint-disable-next-line require-yield
  async *getStreamedResponse(): AsyncIterable<never> {
    throw new Error('not streamed');
  }
}

const CHAIN: Record<string, string | undefined> = { triage: 'research', research: 'writer', writer: undefined };
const provider: ModelProvider = { getModel: (name = '') => new ScriptedModel(CHAIN[name]) };

let server: Server;
let url: string;
const bodies: unknown[] = [];

beforeAll(async () => {
  installContextManager();
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
});

afterAll(async () => {
  setTraceProcessors([]);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

async function runChain(): Promise<{ handoffs: string[]; spans: SpanRecord[]; processor: BatonAgentsTracingProcessor }> {
  bodies.length = 0;
  const tracerProvider = new NodeTracerProvider({ idGenerator: new AgentsIdGenerator(), spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }))] });
  const processor = new BatonAgentsTracingProcessor({ tracerProvider });
  setTraceProcessors([processor]);
  const writer = new Agent({ name: 'writer', model: 'writer', instructions: 'Write.' });
  const research = new Agent({ name: 'research', model: 'research', instructions: 'Research.', handoffs: [writer] });
  const triage = new Agent({ name: 'triage', model: 'triage', instructions: 'Route.', handoffs: [research] });
  const runner = new Runner({ modelProvider: provider, workflowName: 'e2e chain' });
  const handoffs: string[] = [];
  runner.on('agent_handoff', (_ctx, from, to) => handoffs.push(`${from.name} → ${to.name}`));
  await runner.run(triage, 'Go.');
  await tracerProvider.forceFlush();
  await tracerProvider.shutdown();
  const spans = bodies.flatMap((body) => parseOtlpJsonRequest(body, 'http'));
  return { handoffs, spans, processor };
}

describe('BatonAgentsTracingProcessor end to end over OTLP/HTTP', () => {
  it('records nothing under NODE_ENV=test until tracing is re-enabled (the SDK turns it off in tests)', async () => {
    expect(process.env.NODE_ENV).toBe('test');
    setTracingDisabled(true); // the state NODE_ENV=test leaves the SDK in
    const off = await runChain();
    expect(off.handoffs).toHaveLength(2);
    expect(off.spans).toEqual([]);
  });

  it('delivers the run to an OTLP endpoint, where the audit finds the handoffs the runner made', async () => {
    setTracingDisabled(false);
    const { handoffs, spans, processor } = await runChain();
    expect(processor.faults).toBe(0);
    expect(spans.length).toBeGreaterThan(0);
    expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
    const report = await auditSpans([spans]);
    expect(report.inputs.dialects.find((d) => d.id === 'openai-agents')!.interpreted).toBeGreaterThan(0);
    const edges = report.edges.map((e) => `${e.source} → ${e.target}`).sort();
    expect(edges).toEqual([...handoffs].sort());
    expect(report.findings).toEqual([]);
  });
});
