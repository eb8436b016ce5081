/**
 * detectSchemaDrift (rule schema-drift) on the committed fixtures: the v2 sender
 * and v1 receiver of `schema-drift.json`, a silent version difference, an
 * envelope already invalid at send (made with the real SDK), and what the rule
 * says when versions are not recorded.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { detectSchemaDrift, RULE } from '../../../src/analyze/detectors/schema-drift.js';
import {
  BATON_ENVELOPE_SCHEMA_VERSION,
  BATON_ENVELOPE_SENDER_SCHEMA_VERSION,
  BATON_VALIDATION_RESULT,
  BatonOperation,
} from '../../../src/model/attributes.js';
import type { HandoffGraph } from '../../../src/model/handoff-model.js';
import type { SpanRecord } from '../../../src/model/span-record.js';
import { SchemaRegistry } from '../../../src/schemas/validators.js';
import { Baton } from '../../../src/sdk/baton.js';
import { auditOne, graphOf, invalidGraphs, isOperation, ruleOf, spansOf, stripAttributes, expectCouldNotRun } from '../../helpers/analyze.js';
import { createOtelHarness } from '../../helpers/otel.js';
import { loadFixture, toSpanRecords } from '../../helpers/traces.js';

const DRIFT_TRACE = '75221a53295651db6d783126cd5314b0';
// schema-drift.json, the analysis → writer handoff:
const WRITER_RECEIVE = '7020626ef7e8b9fa'; // handoff.receive by writer: schema_version 1, sender_schema_version 2, validation invalid
const ANALYSIS_SEND = 'a9596f033c124c73'; // handoff.send by analysis: schema_version 2

const UNVERSIONED = 'receives without both sender and receiver schema versions';

let clean: SpanRecord[];
let drift: SpanRecord[];

beforeAll(async () => {
  [clean, drift] = await Promise.all([loadFixture('clean'), loadFixture('schema-drift')]);
});

describe('detectSchemaDrift', () => {
  it.each(invalidGraphs())('throws a TypeError prefixed "schema-drift:" for %s', (_label, input) => {
    expect(() => detectSchemaDrift(input as HandoffGraph)).toThrow(TypeError);
    expect(() => detectSchemaDrift(input as HandoffGraph)).toThrow(/^schema-drift: expected a HandoffGraph/);
  });

  it('reports the v2 → v1 handoff of schema-drift.json as an error with the failing path and keyword', () => {
    const result = detectSchemaDrift(graphOf(drift));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message:
          'schema drift on analysis → writer: sender on v2, receiver on v1; receive-side validation fails at /output/reasoning_trace (additionalProperties)',
        hint: expect.stringContaining('receiver-first'),
        evidence: {
          traceId: DRIFT_TRACE,
          traceIds: [DRIFT_TRACE],
          spanIds: [WRITER_RECEIVE, ANALYSIS_SEND],
          startMs: drift.find((s) => s.spanId === WRITER_RECEIVE)!.startMs,
        },
        agents: ['analysis', 'writer'],
        taskId: 'research-schema-drift',
      },
    ]);
    expect(result.checked).toBe(4);
    expect(result.notEvaluated).toEqual([]);
  });

  it('finds nothing on the clean fixture, having checked all four receives', () => {
    expect(detectSchemaDrift(graphOf(clean))).toEqual({ findings: [], checked: 4, notEvaluated: [] });
  });

  it('reports a version difference the receiver accepted as a warning (silent drift)', () => {
    const spans = stripAttributes(drift, [BATON_VALIDATION_RESULT], (s) => s.spanId === WRITER_RECEIVE);
    const findings = detectSchemaDrift(graphOf(spans)).findings;
    expect(findings.map((f) => [f.severity, f.message, f.evidence.spanIds])).toEqual([
      [
        'warning',
        'schema drift on analysis → writer: sender on v2, receiver on v1; the receiver accepted it, so the difference is silent',
        [WRITER_RECEIVE, ANALYSIS_SEND],
      ],
    ]);
  });

  it("takes the sender's version from the send span when the receive did not record it", () => {
    const spans = stripAttributes(drift, [BATON_ENVELOPE_SENDER_SCHEMA_VERSION]);
    const result = detectSchemaDrift(graphOf(spans));
    expect(result.findings.map((f) => f.message)).toEqual([
      'schema drift on analysis → writer: sender on v2, receiver on v1; receive-side validation fails at /output/reasoning_trace (additionalProperties)',
    ]);
    expect(result.checked).toBe(4);
  });

  it('reports an invalid envelope sent and refused on the same version once, with both spans as evidence', () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    // The app's account: one envelope without output.summary, sent (warn mode sends it) and received.
    const sent = baton.send({
      task_id: 't-bad',
      source_agent: 'researcher',
      target_agent: 'analyst',
      status: 'complete',
      output: { artifacts: [] },
      context: { original_goal: 'g', decisions_made: [], constraints: [] },
      metadata: { started_at: new Date(0).toISOString() },
    });
    const received = baton.receive(JSON.stringify(sent));
    expect(received.issues.map((i) => `${i.instancePath} ${i.keyword}`)).toEqual(['/output/summary required']);
    const spans = toSpanRecords(otel.spans());
    const [send] = spansOf(spans, BatonOperation.HandoffSend);
    const [receive] = spansOf(spans, BatonOperation.HandoffReceive);
    const result = detectSchemaDrift(graphOf(spans));
    expect(result.findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message: 'researcher sent analyst an envelope that fails baton.handoff-envelope@1 at /output/summary (required), and its receiver refused it there too',
        hint: expect.any(String),
        evidence: { traceId: send!.traceId, traceIds: [send!.traceId], spanIds: [send!.spanId, receive!.spanId], startMs: send!.startMs },
        agents: ['researcher', 'analyst'],
        taskId: 't-bad',
      },
    ]);
    // Both sides were checked.
    expect(result.checked).toBe(2);
  });

  it('still reports a receive that fails elsewhere on the same version: the two sides hold different schemas under one version', () => {
    const otel = createOtelHarness();
    const strict = { type: 'object', required: ['task_id', 'priority'] };
    // Two processes' registries: one schema id and version, two different schemas.
    const sender = new Baton({ tracer: otel.tracer, meter: otel.meter, schemas: new SchemaRegistry() });
    const receiver = new Baton({ tracer: otel.tracer, meter: otel.meter, schemas: new SchemaRegistry() });
    receiver.schemas.register('team.envelope', '1', strict);
    sender.schemas.register('team.envelope', '1', { type: 'object', required: ['task_id', 'output'] });
    const sent = sender.send(
      { task_id: 't-x', source_agent: 'a', target_agent: 'b', status: 'complete', context: {}, metadata: {} },
      { schema: { id: 'team.envelope', version: '1' } },
    );
    receiver.receive(JSON.stringify(sent), { schema: { id: 'team.envelope', version: '1' } });
    const messages = detectSchemaDrift(graphOf(toSpanRecords(otel.spans()))).findings.map((f) => f.message);
    expect(messages.sort()).toEqual([
      'a sent b an envelope that fails team.envelope@1 at /output (required)',
      'schema drift on a → b: both on v1; receive-side validation fails at /priority (required)',
    ]);
  });

  it('reports an envelope that already failed validation at send, with its path and keyword', () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    // No `output`: invalid under baton.handoff-envelope@1 (warn mode records it and sends anyway); the finding names it.
    baton.send({
      task_id: 't-invalid',
      source_agent: 'planner',
      target_agent: 'coder',
      status: 'complete',
      context: { original_goal: 'g', decisions_made: [], constraints: [] },
      metadata: { started_at: new Date(0).toISOString() },
    });
    const spans = toSpanRecords(otel.spans());
    const [send] = spansOf(spans, BatonOperation.HandoffSend);
    const findings = detectSchemaDrift(graphOf(spans)).findings;
    expect(findings).toEqual([
      {
        ruleId: RULE,
        severity: 'error',
        message: 'planner sent coder an envelope that fails baton.handoff-envelope@1 at /output (required)',
        hint: expect.any(String),
        evidence: { traceId: send!.traceId, traceIds: [send!.traceId], spanIds: [send!.spanId], startMs: send!.startMs },
        agents: ['planner', 'coder'],
        taskId: 't-invalid',
      },
    ]);
  });

  it('says a side had no schema registered rather than that the envelope fails at / (schema)', () => {
    const otel = createOtelHarness();
    const baton = new Baton({ tracer: otel.tracer, meter: otel.meter });
    const envelope = {
      task_id: 't-unknown',
      source_agent: 'triage',
      target_agent: 'billing',
      status: 'complete',
      output: { summary: 's', artifacts: [], confidence: 1 },
      context: { original_goal: 'g', decisions_made: [], constraints: [] },
      metadata: { started_at: new Date(0).toISOString(), completed_at: new Date(0).toISOString(), token_count: 1, model: 'm' },
    };
    // What the program did: triage sends against a schema nobody registered; billing receives a
    // valid v1 envelope expecting a version of Baton's schema that does not exist.
    const unknownSend = { id: 'acme.ticket', version: '7' };
    const unknownReceive = { id: 'baton.handoff-envelope', version: '9' };
    baton.send(envelope, { schema: unknownSend });
    const sent = baton.send({ ...envelope, task_id: 't-unknown-2' });
    baton.receive(sent, { schema: unknownReceive });
    const spans = toSpanRecords(otel.spans());
    expect(detectSchemaDrift(graphOf(spans)).findings.map((f) => f.message)).toEqual([
      `triage sent billing an envelope against ${unknownSend.id}@${unknownSend.version}, which the sender has not registered: it was not validated`,
      `schema drift on triage → billing: sender on v1, receiver on v${unknownReceive.version}; the receiver has no ${unknownReceive.id}@${unknownReceive.version} registered, so it could not validate it`,
    ]);
  });

  describe('when versions are not recorded', () => {
    it('checks nothing and says how many receives it could not judge, rather than passing schema-drift.json', async () => {
      const spans = stripAttributes(drift, [BATON_ENVELOPE_SCHEMA_VERSION, BATON_ENVELOPE_SENDER_SCHEMA_VERSION]);
      expect(detectSchemaDrift(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 4, reason: UNVERSIONED }] });
      expectCouldNotRun(await auditOne(spans, { only: [RULE] }), RULE, [{ count: 4, reason: UNVERSIONED }]);
    });

    it('needs the receiver version too: the sender version alone is not enough', () => {
      const spans = stripAttributes(drift, [BATON_ENVELOPE_SCHEMA_VERSION], isOperation(BatonOperation.HandoffReceive));
      expect(detectSchemaDrift(graphOf(spans))).toEqual({ findings: [], checked: 0, notEvaluated: [{ count: 4, reason: UNVERSIONED }] });
    });
  });

  describe('through auditSpans', () => {
    it('reports what the detector reports on the model', async () => {
      const report = await auditOne(drift, { only: [RULE] });
      expect(report.findings).toEqual(detectSchemaDrift(graphOf(drift)).findings);
      expect(ruleOf(report, RULE)).toMatchObject({ findings: 1, checked: 4, couldNotRun: false });
    });
  });
});
