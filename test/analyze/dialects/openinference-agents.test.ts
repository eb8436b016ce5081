/**
 * smolagents and Agno as OpenInference's instrumentations write them
 * (fixtures/frameworks/openinference-agents/, constructed from the instrumentations' and the
 * frameworks' published source, since PyPI is out of reach). Each constructed run is audited
 * in every encoding and held to the program's own log; then each behaviour is checked on a
 * small trace written by the same programs, with a near miss that must not trigger it.
 */
import { basename } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { context, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { auditSpans } from '../../../src/analyze/audit.js';
import { buildHandoffModel } from '../../../src/analyze/build-model.js';
import { readTraceInputs } from '../../../src/ingest/index.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { renderJson } from '../../../src/report/json.js';
import { renderText } from '../../../src/report/text.js';
import { newLog, type ProgramLog } from '../../../fixtures/frameworks/log.js';
import { AgnoProgram, AGNO_SCOPE, type AgnoMember } from '../../../fixtures/frameworks/openinference-agents/agno.js';
import { SmolagentsProgram, SMOLAGENTS_SCOPE, type SmolAgent } from '../../../fixtures/frameworks/openinference-agents/smolagents.js';
import { PyError, pySpan } from '../../../fixtures/frameworks/python/py-span.js';
import { createOtelHarness, type OtelHarness } from '../../helpers/otel.js';
import { toSpanRecords } from '../../helpers/traces.js';
import { auditFile, encodingsOf, expectReportMatchesLog, FRAMEWORKS_DIR, logOf } from './framework-fixtures.js';

const DIR = 'openinference-agents';
const scenarios = (await readdir(`${FRAMEWORKS_DIR}${DIR}`)).filter((f) => f.endsWith('.log.json')).map((f) => basename(f, '.log.json')).sort();
const cases = (await Promise.all(scenarios.map(async (s) => (await encodingsOf(DIR, s)).map((file) => [s, basename(file), file] as const)))).flat();

async function spansOf(file: string): Promise<SpanRecord[]> {
  const out: SpanRecord[] = [];
  for await (const batch of readTraceInputs([file])) for (const span of batch) out.push(span);
  return out;
}

describe('constructed smolagents and Agno runs', () => {
  it('has every scenario in three encodings', () => {
    expect(scenarios).toEqual(['agno-broadcast', 'agno-team', 'smolagents-call-back', 'smolagents-failed-member', 'smolagents-managed']);
    expect(cases).toHaveLength(scenarios.length * 3);
  });

  it.each(cases)('%s (%s): agents, edges with counts, retries, loops, undelivered handoffs and runs are what the program logged', async (scenario, _name, file) => {
    expectReportMatchesLog(await auditFile(file), await logOf(DIR, scenario));
  });

  it.each(cases)('%s (%s): every run is read by openinference-agents, and the failed runs are the ones the trace can show', async (scenario, _name, file) => {
    const log = await logOf(DIR, scenario);
    const model = buildHandoffModel(await spansOf(file));
    expect(new Set(model.agentRuns.map((r) => r.dialect))).toEqual(new Set(['openinference-agents']));
    expect(new Set(model.handoffs.map((h) => h.dialect))).toEqual(new Set(['openinference-agents']));
    // smolagents never exports a run that raised: the program's failed run is not in the trace (see the next test).
    const visible = log.framework === 'smolagents' ? [] : log.failures;
    expect(model.agentRuns.filter((r) => r.outcome === 'failed').map((r) => r.agent).sort()).toEqual([...visible].sort());
  });

  it.each(cases.filter(([, name]) => name.endsWith('.otlp.json')))('%s (%s): the JSON report, --explain included, is valid against docs/audit-report.schema.json', async (_scenario, _name, file) => {
    const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;
    const ajv = new Ajv2020({ strict: true, allErrors: true });
    addFormats(ajv);
    const schema = JSON.parse(await readFile(fileURLToPath(new URL('../../../docs/audit-report.schema.json', import.meta.url)), 'utf8')) as object;
    const validate = ajv.compile(schema);
    const report = JSON.parse(renderJson(await auditSpans(readTraceInputs([file]), { idleMs: 3_600_000, explain: true }))) as unknown;
    expect(validate(report), JSON.stringify(validate.errors)).toBe(true);
  });

  it('smolagents-failed-member: the request that failed and its retry are one handoff of two attempts, arriving at the run that answered', async () => {
    const log = await logOf(DIR, 'smolagents-failed-member');
    expect(log.failures).toEqual(['web_researcher']);
    const model = buildHandoffModel(await spansOf(`${FRAMEWORKS_DIR}${DIR}/smolagents-failed-member.otlp.json`));
    expect(model.handoffs).toHaveLength(1);
    const handoff = model.handoffs[0]!;
    expect([handoff.source, handoff.target, handoff.sendCount, handoff.mode]).toEqual(['manager', 'web_researcher', 2, 'return_to_caller']);
    const runs = model.agentRuns.filter((r) => r.agent === 'web_researcher');
    expect(runs).toHaveLength(1);
    expect(handoff.receives.map((r) => r.spanId)).toEqual([runs[0]!.spanId]);
  });

  it('agno-team: edges are declared by graph.node.parent_id, their latency runs from the delegation tool call to the member run', async () => {
    const file = `${FRAMEWORKS_DIR}${DIR}/agno-team.otlp.json`;
    const spans = await spansOf(file);
    const report = await auditSpans(readTraceInputs([file]), { idleMs: 3_600_000, explain: true });
    const edges = report.explain![0]!.edges.filter((e) => e.target !== 'unknown');
    expect(edges.every((e) => e.declared === e.handoffs && e.inferred === 0)).toBe(true);
    const tool = spans.find((s) => s.name === 'delegate_task_to_member' && String(s.attributes['input.value']).includes('web-researcher'))!;
    const member = spans.find((s) => s.name === 'Web_Researcher.run')!;
    const edge = report.edges.find((e) => e.source === 'Research Team' && e.target === 'Web Researcher')!;
    expect(edge.latencyMs!.max).toBeCloseTo(member.startMs - tool.startMs, 3);
    expect(renderText(report, { color: false, width: 200 })).toContain('refused: no member editor');
  });
});

// ---------------------------------------------------------------------------------------------
// Each behaviour on a small trace, and its near miss.

const harnesses: OtelHarness[] = [];
afterEach(async () => {
  for (const harness of harnesses.splice(0)) await harness.shutdown();
});

function tracerOf(scope: string): { tracer: Tracer; log: ProgramLog; read: () => SpanRecord[] } {
  const otel = createOtelHarness();
  harnesses.push(otel);
  return { tracer: otel.provider.getTracer(scope), log: newLog('test', 'test', ''), read: () => toSpanRecords(otel.spans()) };
}

function edgesOf(spans: readonly SpanRecord[]): string[] {
  return buildHandoffModel(spans).handoffs.map((h) => `${h.source} → ${h.target} ×${h.sendCount}${h.inferred ? ' inferred' : ''}${h.receives.length === 0 ? ' (no arrival)' : ''}`);
}

function ignoredReasons(spans: readonly SpanRecord[]): Record<string, string> {
  const out: Record<string, string> = {};
  buildHandoffModel(spans, { onIgnored: (_d, ignored) => void (out[`${ignored.span.name}@${ignored.span.spanId}`] = ignored.reason) });
  return out;
}

const coder: SmolAgent = { name: 'coder', managed: [], tools: [] };
const manager: SmolAgent = { name: 'manager', managed: [coder], tools: ['web_search'] };
const answers = (program: SmolagentsProgram): Parameters<SmolagentsProgram['run']>[2] => async (step) => {
  await step(1, () => program.tool('FinalAnswerTool', 'final_answer', { answer: 'ok' }, 'ok'));
};

describe('smolagents: a managed agent run inside its manager’s step', () => {
  it('is a delegation returning to the manager, inferred from nesting, named from the span name', async () => {
    const { tracer, log, read } = tracerOf(SMOLAGENTS_SCOPE);
    const program = new SmolagentsProgram(tracer, log);
    await program.run(manager, 'task', async (step) => {
      await step(1, () => program.callManaged(manager, coder, 'code it', answers(program)));
    });
    const spans = read();
    expect(edgesOf(spans)).toEqual(['manager → coder ×1 inferred']);
    const model = buildHandoffModel(spans);
    expect(model.handoffs[0]!.send?.spanId).toBe(spans.find((s) => s.name === 'Step 1' && s.parentSpanId === spans.find((p) => p.name === 'manager.run')!.spanId)!.spanId);
    expect(model.agentRuns.map((r) => r.agent).sort()).toEqual(['coder', 'manager']);
  });

  it('near miss: two agents run one after the other in one trace hand nothing to each other', async () => {
    const { tracer, log, read } = tracerOf(SMOLAGENTS_SCOPE);
    const program = new SmolagentsProgram(tracer, log);
    await pySpan(tracer, 'app', {}, async () => {
      await program.run(manager, 'task', answers(program));
      await program.run(coder, 'task', answers(program));
    });
    expect(edgesOf(read())).toEqual([]);
  });
});

describe('smolagents: a team member that raised', () => {
  const failing = (): Parameters<SmolagentsProgram['run']>[2] => () => Promise.reject(new PyError('AgentGenerationError', 'Error in generating model output'));

  it('is a handoff without arrival from the step that recorded it; asked again, the same handoff of two attempts', async () => {
    const once = tracerOf(SMOLAGENTS_SCOPE);
    const p1 = new SmolagentsProgram(once.tracer, once.log);
    await p1.run(manager, 'task', async (step) => {
      await step(1, () => p1.callManaged(manager, coder, 'code it', failing()));
      await step(2, () => p1.tool('FinalAnswerTool', 'final_answer', { answer: 'gave up' }, 'gave up'));
    });
    expect(edgesOf(once.read())).toEqual(['manager → coder ×1 inferred (no arrival)']);

    const twice = tracerOf(SMOLAGENTS_SCOPE);
    const p2 = new SmolagentsProgram(twice.tracer, twice.log);
    await p2.run(manager, 'task', async (step) => {
      await step(1, () => p2.callManaged(manager, coder, 'code it', failing()));
      await step(2, () => p2.callManaged(manager, coder, 'code it', answers(p2)));
    });
    expect(edgesOf(twice.read())).toEqual(['manager → coder ×2 inferred']);
  });

  it('near miss: a plain tool that failed in a step (Error executing tool) is no handoff', async () => {
    const { tracer, log, read } = tracerOf(SMOLAGENTS_SCOPE);
    const program = new SmolagentsProgram(tracer, log);
    await program.run(manager, 'task', async (step) => {
      await step(1, () => Promise.reject(new PyError('AgentToolExecutionError', "Error executing tool 'web_search' with arguments {}: TimeoutError: timed out\nPlease try again or use another tool")));
    });
    expect(edgesOf(read())).toEqual([]);
  });

  it('the lost run’s own spans (parent not in the trace) are ignored with why; near miss: the same orphan from Agno gets no such reason', async () => {
    const { tracer, log, read } = tracerOf(SMOLAGENTS_SCOPE);
    const program = new SmolagentsProgram(tracer, log);
    await program.run(manager, 'task', async (step) => {
      await step(1, () => program.callManaged(manager, coder, 'code it', async (inner) => inner(1, () => Promise.reject(new PyError('AgentGenerationError', 'boom')))));
    });
    const reasons = Object.values(ignoredReasons(read()));
    expect(reasons.some((r) => r.includes('never ends (so never exports) an agent run that raised'))).toBe(true);

    const agno = tracerOf(AGNO_SCOPE);
    const orphanParent = agno.tracer.startSpan('lost'); // never ended: never exported
    await context.with(trace.setSpan(context.active(), orphanParent), () => pySpan(agno.tracer, 'search', { attributes: { 'openinference.span.kind': 'TOOL', 'tool.name': 'search' } }, async () => undefined));
    expect(Object.values(ignoredReasons(agno.read())).some((r) => r.includes('never exports'))).toBe(false);
  });
});

describe('Agno: a member run naming its team’s run as graph.node.parent_id', () => {
  const member: AgnoMember = { name: 'Web Researcher' };
  const team: AgnoMember = { name: 'Research Team', members: [member] };

  it('is a declared delegation from the team, sent on the delegate_task_to_member call that holds the run in its time', async () => {
    const { tracer, log, read } = tracerOf(AGNO_SCOPE);
    const program = new AgnoProgram(tracer, log, 'a', 'sess');
    await program.run(team, 'go', () => program.delegate(team, 'web-researcher', 'search', async () => 'found'));
    const spans = read();
    expect(edgesOf(spans)).toEqual(['Research Team → Web Researcher ×1']);
    const handoff = buildHandoffModel(spans).handoffs[0]!;
    expect(spans.find((s) => s.spanId === handoff.send?.spanId)!.name).toBe('delegate_task_to_member');
    expect(handoff.taskId).toBe('sess');
    // The member run is the team run's child, not the tool's (the generator runs in the team's context).
    const run = spans.find((s) => s.name === 'Web_Researcher.run')!;
    expect(spans.find((s) => s.spanId === run.parentSpanId)!.name).toBe('Research_Team.run');
  });

  it('a member run started in a workflow step’s context (its parent is not the team’s run) is sent on the team’s run, not on the workflow above both', async () => {
    const { tracer, log, read } = tracerOf(AGNO_SCOPE);
    const program = new AgnoProgram(tracer, log, 'a', 'sess');
    const support: AgnoMember = { name: 'Support', members: [{ name: 'Billing' }] };
    await pySpan(tracer, 'Workflow.run', { attributes: { 'openinference.span.kind': 'CHAIN' } }, async () => {
      const step = context.active();
      await program.run(support, 'go', async () => {
        log.handoffs.push({ source: 'Support', target: 'Billing', attempts: 1 });
        return context.with(step, () => program.run(support.members![0]!, 'bill it', async () => 'billed'));
      });
    });
    const spans = read();
    const member = spans.find((s) => s.name === 'Billing.run')!;
    const team = spans.find((s) => s.name === 'Support.run')!;
    expect(spans.find((s) => s.spanId === member.parentSpanId)!.name).toBe('Workflow.run');
    expect(edgesOf(spans)).toEqual(log.handoffs.map((h) => `${h.source} → ${h.target} ×${h.attempts}`));
    const report = await auditSpans([spans], { idleMs: 3_600_000, explain: true });
    expect(buildHandoffModel(spans).handoffs[0]!.send?.spanId).toBe(team.spanId);
    expect(report.edges[0]!.latencyMs!.max).toBeCloseTo(member.startMs - team.startMs, 3);
    expect(Object.keys(ignoredReasons(spans))).toContain(`Workflow.run@${spans.find((s) => s.name === 'Workflow.run')!.spanId}`);
  });

  it('near miss: a member run nested in a step of its team’s run is still sent on that step', async () => {
    const { tracer, log, read } = tracerOf(AGNO_SCOPE);
    const program = new AgnoProgram(tracer, log, 'a', 'sess');
    const support: AgnoMember = { name: 'Support', members: [{ name: 'Billing' }] };
    await pySpan(tracer, 'Workflow.run', { attributes: { 'openinference.span.kind': 'CHAIN' } }, () =>
      program.run(support, 'go', () => pySpan(tracer, 'route', { attributes: { 'openinference.span.kind': 'CHAIN' } }, () => program.run(support.members![0]!, 'bill it', async () => 'billed'))),
    );
    const spans = read();
    expect(edgesOf(spans)).toEqual(['Support → Billing ×1']);
    expect(buildHandoffModel(spans).handoffs[0]!.send?.spanId).toBe(spans.find((s) => s.name === 'route')!.spanId);
  });

  it('near miss: a run whose graph.node.parent_id names no run of the trace, and that nests in none, is no delegation', async () => {
    const { tracer, read } = tracerOf(AGNO_SCOPE);
    await pySpan(tracer, 'app', {}, async () => {
      await pySpan(tracer, 'Research_Team.run', { attributes: { 'openinference.span.kind': 'AGENT', 'agent.name': 'Research Team', 'graph.node.id': 'aaaa' } }, async () => undefined);
      await pySpan(tracer, 'Web_Researcher.run', { attributes: { 'openinference.span.kind': 'AGENT', 'agent.name': 'Web Researcher', 'graph.node.id': 'bbbb', 'graph.node.parent_id': 'cccc' } }, async () => undefined);
    });
    expect(edgesOf(read())).toEqual([]);
  });
});

describe('Agno before 2.0: transfer_task_to_member, forward_task_to_member', () => {
  it.each(['transfer_task_to_member', 'forward_task_to_member'])('%s is a delegation tool like delegate_task_to_member, its "not found" answer a refusal', async (tool) => {
    const doc = JSON.parse((await readFile(`${FRAMEWORKS_DIR}${DIR}/agno-team.otlp.json`, 'utf8')).replaceAll('delegate_task_to_member', tool)) as object;
    const { parseOtlpJsonRequest } = await import('../../../src/ingest/otlp-json.js');
    const spans = parseOtlpJsonRequest(doc, 'agno-v1.json');
    expectReportMatchesLog(await auditSpans([spans], { idleMs: 3_600_000 }), await logOf(DIR, 'agno-team'));
    const sends = buildHandoffModel(spans).handoffs.map((h) => spans.find((s) => s.spanId === h.send?.spanId)?.name);
    expect(new Set(sends)).toEqual(new Set([tool]));
  });

  it('near miss: any other tool name, though it holds the member run in its time, is not the send (the team run is)', async () => {
    const doc = JSON.parse((await readFile(`${FRAMEWORKS_DIR}${DIR}/agno-team.otlp.json`, 'utf8')).replaceAll('delegate_task_to_member', 'ask_member')) as object;
    const { parseOtlpJsonRequest } = await import('../../../src/ingest/otlp-json.js');
    const spans = parseOtlpJsonRequest(doc, 'agno-other.json');
    const model = buildHandoffModel(spans);
    expect(new Set(model.handoffs.map((h) => spans.find((s) => s.spanId === h.send?.spanId)?.name))).toEqual(new Set(['Research_Team.run', 'Review_Team.run']));
    // …and the member id that was not found is no refusal: that answer means something only from Agno's own tool.
    expect(model.handoffs.filter((h) => h.target === 'unknown')).toEqual([]);
  });
});

describe('Agno: delegate_task_to_member answering "Member with ID … not found"', () => {
  it('is a refused handoff (undelivered), naming the member id asked for', async () => {
    const { tracer, log, read } = tracerOf(AGNO_SCOPE);
    const team: AgnoMember = { name: 'Research Team', members: [{ name: 'Writer' }] };
    const program = new AgnoProgram(tracer, log, 'a', 'sess');
    await program.run(team, 'go', () => program.delegate(team, 'editor', 'edit', async () => 'never'));
    const report = await auditSpans([read()], { idleMs: 3_600_000 });
    const undelivered = report.findings.filter((f) => f.ruleId === 'undelivered-handoff');
    expect(undelivered.map((f) => f.agents?.[0])).toEqual(['Research Team']);
    expect(undelivered[0]!.message).toContain('no member editor');
  });

  it('near miss: another tool giving the same answer text is not a refusal', async () => {
    const { tracer, log, read } = tracerOf(AGNO_SCOPE);
    const team: AgnoMember = { name: 'Research Team', members: [{ name: 'Writer' }] };
    const program = new AgnoProgram(tracer, log, 'a', 'sess');
    await program.run(team, 'go', () => program.tool('lookup_member', { member_id: 'editor' }, 'Member with ID editor not found in the team or any subteams'));
    expect(edgesOf(read())).toEqual([]);
  });
});

describe('claims', () => {
  it('claims the smolagents and Agno scopes and their modules; near miss: a scope that only starts with the same letters', async () => {
    for (const [scope, claimed] of [
      [AGNO_SCOPE, true],
      [`${AGNO_SCOPE}._runs_wrapper`, true],
      [SMOLAGENTS_SCOPE, true],
      [`${AGNO_SCOPE}stic`, false],
    ] as const) {
      const { tracer, read } = tracerOf(scope);
      await pySpan(tracer, 'Writer.run', { attributes: { 'openinference.span.kind': 'AGENT', 'agent.name': 'Writer' } }, async (span) => span.setStatus({ code: SpanStatusCode.OK }));
      const dialects = buildHandoffModel(read()).agentRuns.map((r) => r.dialect);
      expect(dialects.includes('openinference-agents')).toBe(claimed);
    }
  });
});

type OtlpDoc = {
  resourceSpans: { scopeSpans: { scope: { name: string }; spans: { name: string; spanId: string; attributes: { key: string; value: { stringValue?: string } }[] }[] }[] }[];
};

/** A Python fixture with `mark` applied to each span's attributes (as an OpenInference instrumentation marks another's spans), plus `extra` scopes. */
async function marked(file: string, mark: (span: OtlpDoc['resourceSpans'][number]['scopeSpans'][number]['spans'][number]) => void, extra: (doc: OtlpDoc) => void = () => undefined): Promise<SpanRecord[]> {
  const doc = JSON.parse(await readFile(`${FRAMEWORKS_DIR}python/${file}.otlp.json`, 'utf8')) as OtlpDoc;
  for (const rs of doc.resourceSpans) for (const ss of rs.scopeSpans) for (const span of ss.spans) mark(span);
  extra(doc);
  const { parseOtlpJsonRequest } = await import('../../../src/ingest/otlp-json.js');
  return parseOtlpJsonRequest(doc, `${file}-openinference.json`);
}

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });

describe('Google ADK with OpenInference’s ADK instrumentation on', () => {
  /**
   * adk-support as it reads with `GoogleADKInstrumentor` too: `_TraceToolCall` marks ADK's own
   * `execute_tool` spans TOOL with `tool.name`, `output.value`, and `_BaseAgentRunAsync` adds
   * `agent_run [name]` AGENT spans of its own scope.
   */
  const adk = (): Promise<SpanRecord[]> =>
    marked(
      'adk-support',
      (span) => {
        if (span.name.startsWith('execute_tool')) span.attributes.push(str('openinference.span.kind', 'TOOL'), str('tool.name', span.name.slice('execute_tool '.length)), str('output.value', '{"name": "x"}'));
      },
      (doc) => {
        const template = doc.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
        doc.resourceSpans[0]!.scopeSpans.push({
          scope: { name: 'openinference.instrumentation.google_adk' },
          spans: [{ ...template, spanId: 'ab'.repeat(8), name: 'agent_run [triage]', attributes: [str('openinference.span.kind', 'AGENT'), str('agent.name', 'triage')] }],
        });
      },
    );

  it('ADK’s own spans, marked TOOL, are still read by otel-genai: the handoffs are the program’s; OpenInference’s own ADK spans are ignored', async () => {
    const spans = await adk();
    expectReportMatchesLog(await auditSpans([spans], { idleMs: 3_600_000 }), await logOf('python', 'adk-support'));
    expect(new Set(buildHandoffModel(spans).agentRuns.map((r) => r.dialect))).toEqual(new Set(['otel-genai']));
    expect(Object.entries(ignoredReasons(spans)).find(([k]) => k.startsWith('agent_run [triage]'))?.[1]).toContain('otel-genai reads');
  });

  it('without any scope (the Python SDK’s console JSON), OpenInference’s ADK spans are still known by their names and ignored; the handoffs are the program’s', async () => {
    const spans = (await adk()).map((s) => ({ ...s, scopeName: '' }));
    expectReportMatchesLog(await auditSpans([spans], { idleMs: 3_600_000 }), await logOf('python', 'adk-support'));
    expect(new Set(buildHandoffModel(spans).agentRuns.map((r) => r.dialect))).toEqual(new Set(['otel-genai']));
    expect(Object.entries(ignoredReasons(spans)).find(([k]) => k.startsWith('agent_run [triage]'))?.[1]).toContain('otel-genai reads');
  });
});

describe('Pydantic AI with OpenInference’s span processor', () => {
  /** As `OpenInferenceSpanProcessor.on_end` does (semantic_conventions.py `_extract_common_attributes`): the kind from the GenAI operation, else the tool or agent name; the GenAI attributes stay. */
  const withKinds = (file: string): Promise<SpanRecord[]> =>
    marked(file, (span) => {
      const keys = new Map(span.attributes.map((a) => [a.key, a.value.stringValue]));
      const operation = keys.get('gen_ai.operation.name');
      const kind = operation === 'invoke_agent' || operation === 'create_agent' ? 'AGENT' : operation === 'execute_tool' ? 'TOOL' : operation === 'chat' ? 'LLM' : operation !== undefined ? 'UNKNOWN' : keys.has('gen_ai.tool.name') ? 'TOOL' : keys.has('agent_name') ? 'AGENT' : undefined;
      if (kind !== undefined) span.attributes.push(str('openinference.span.kind', kind));
    });

  it.each(['pydantic-ai-v2-delegation', 'pydantic-ai-v5-delegation', 'pydantic-ai-call-back'])('%s: the handoffs, retries and loops are still the program’s, read by otel-genai', async (scenario) => {
    const spans = await withKinds(scenario);
    expectReportMatchesLog(await auditSpans([spans], { idleMs: 3_600_000 }), await logOf('python', scenario));
    expect(new Set(buildHandoffModel(spans).agentRuns.map((r) => r.dialect))).toEqual(new Set(['otel-genai']));
  });

  it('near miss: a LangGraph TOOL span (its metadata names the node) with a GenAI tool name stays LangGraph’s', async () => {
    const { tracer, read } = tracerOf('openinference.instrumentation.langchain');
    await pySpan(tracer, 'lookup', { attributes: { 'openinference.span.kind': 'TOOL', 'tool.name': 'lookup', 'gen_ai.tool.name': 'lookup', metadata: '{"langgraph_node": "tools", "langgraph_step": 2}' } }, async () => undefined);
    const claimed: string[] = [];
    buildHandoffModel(read(), { onIgnored: (dialect) => void claimed.push(dialect) });
    expect(new Set(claimed)).toEqual(new Set(['openinference']));
  });
});
