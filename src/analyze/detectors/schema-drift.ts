/**
 * schema-drift: sender and receiver on different envelope schema versions, or an
 * envelope that failed validation (at receive, or already at send), reported with
 * the failing JSON pointer and keyword.
 */
import type { DetectorResult, Finding } from '../../model/finding.js';
import type { HandoffGraph, HandoffReceive } from '../../model/handoff-model.js';
import { assertGraph, evidenceOf } from './evidence.js';
import { countReason, perGroupRule, reasonByDialect, reasonsOf, type RuleDefinition } from './rule.js';

export const RULE = 'schema-drift' as const;

export type SchemaDriftOptions = Record<string, never>;

const HINT =
  'Version handoff schemas explicitly and validate sender and receiver against the same current version on every run; roll out schema changes receiver-first.';
/**
 * The keyword the SDK records when the side had no schema of that id and version
 * registered (`BATON_SCHEMA_UNKNOWN`): no JSON Schema keyword is named so, and
 * "fails at / (schema)" would read as a validation failure of the envelope.
 */
const SCHEMA_UNKNOWN_KEYWORD = 'schema';

const transfersUnversioned = reasonByDialect((dialect) => `in-process transfers: ${dialect} does not record envelope schema versions`);

/** Reports version mismatches and validation failures per handoff. Pure. */
export function detectSchemaDrift(handoffGraph: HandoffGraph, _options: SchemaDriftOptions = {}): DetectorResult {
  assertGraph(RULE, handoffGraph);
  const { model } = handoffGraph;
  const findings: Finding[] = [];
  let checked = 0;
  let unversioned = 0;
  const reasons = new Map<string, number>();
  for (const handoff of model.handoffs) {
    if (handoff.kind === 'transfer') {
      countReason(reasons, transfersUnversioned(handoff.dialect));
      continue;
    }
    const send = handoff.send;
    const sendFailure = send?.validation && send.validation.result !== 'valid' ? send.validation : undefined;
    // Receives that failed as the send did, on the same version: one defect, reported once at the send, their spans its evidence too.
    const sameFailure: HandoffReceive[] = [];
    for (const receive of handoff.receives) {
      const senderVersion = receive.senderSchemaVersion ?? send?.schemaVersion;
      if (receive.schemaVersion === undefined || senderVersion === undefined) {
        unversioned++;
        continue;
      }
      checked++;
      const mismatch = senderVersion !== receive.schemaVersion;
      const invalid = receive.validation !== undefined && receive.validation.result !== 'valid';
      if (!mismatch && !invalid) continue;
      if (
        !mismatch &&
        sendFailure !== undefined &&
        receive.validation!.errorPath === sendFailure.errorPath &&
        receive.validation!.errorKeyword === sendFailure.errorKeyword
      ) {
        sameFailure.push(receive);
        continue;
      }
      const versions = mismatch ? `sender on v${senderVersion}, receiver on v${receive.schemaVersion}` : `both on v${senderVersion}`;
      const failure = !invalid
        ? '; the receiver accepted it, so the difference is silent'
        : receive.validation!.errorKeyword === SCHEMA_UNKNOWN_KEYWORD
          ? `; the receiver has no ${receive.schemaId ?? 'schema'}@${receive.schemaVersion} registered, so it could not validate it`
          : `; receive-side validation fails at ${receive.validation!.errorPath ?? '/'} (${receive.validation!.errorKeyword ?? receive.validation!.result})`;
      findings.push({
        ruleId: RULE,
        severity: invalid ? 'error' : 'warning',
        message: `schema drift on ${handoff.source} → ${receive.agent}: ${versions}${failure}`,
        hint: HINT,
        evidence: evidenceOf([receive, send]),
        agents: [handoff.source, receive.agent],
        ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
      });
    }
    if (send && sendFailure) {
      // A finding is a check that ran, even when no receive can be compared.
      checked++;
      findings.push({
        ruleId: RULE,
        severity: 'error',
        message:
          sendFailure.errorKeyword === SCHEMA_UNKNOWN_KEYWORD
            ? `${handoff.source} sent ${handoff.target} an envelope against ${send.schemaId ?? 'a schema'}@${send.schemaVersion ?? '?'}, which the sender has not registered: it was not validated`
            : `${handoff.source} sent ${handoff.target} an envelope that fails ${send.schemaId ?? 'its schema'}@${send.schemaVersion ?? '?'} at ${sendFailure.errorPath ?? '/'} (${sendFailure.errorKeyword ?? sendFailure.result})${sameFailure.length > 0 ? ', and its receiver refused it there too' : ''}`,
        hint: HINT,
        evidence: evidenceOf([send, ...sameFailure]),
        agents: [handoff.source, handoff.target],
        ...(handoff.taskId ? { taskId: handoff.taskId } : {}),
      });
    }
  }
  return {
    findings,
    checked,
    notEvaluated: [
      ...(unversioned > 0 ? [{ count: unversioned, reason: 'receives without both sender and receiver schema versions' }] : []),
      ...reasonsOf(reasons),
    ],
  };
}

export const schemaDriftRule: RuleDefinition<SchemaDriftOptions> = {
  id: RULE,
  description: 'sender and receiver on different envelope schema versions, or a failed validation',
  severity: 'error',
  reads: ['handoffs'],
  create: perGroupRule(detectSchemaDrift),
};
