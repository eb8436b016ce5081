/**
 * State access: a read or write of shared state in a `read <key>` / `write <key>`
 * client span, with the versions and epoch read or written, so the analyzer can
 * find stale-epoch reads and duplicate writes after retries.
 */
import { context as contextApi, SpanKind, trace, type Span } from '@opentelemetry/api';
import {
  BATON_ATTEMPT,
  BATON_CONVENTIONS_VERSION,
  BATON_EPOCH,
  BATON_EVENT_EXPECTED_TOPIC,
  BATON_IDEMPOTENCY_KEY,
  BATON_OPERATION,
  BATON_STATE_DEDUPLICATED,
  BATON_STATE_FOUND,
  BATON_STATE_KEY,
  BATON_STATE_VERSION_EXPECTED,
  BATON_STATE_VERSION_READ,
  BATON_STATE_VERSION_WRITTEN,
  BATON_STEP,
  BATON_TASK_ID,
  BatonOperation,
  CONVENTIONS_VERSION,
  DB_COLLECTION_NAME,
  DB_OPERATION_NAME,
  DB_SYSTEM_NAME,
  GEN_AI_AGENT_NAME,
} from '../model/attributes.js';
import { nowMs } from './clock.js';
import { isPlainObject } from './envelope-facts.js';
import type { StateAccess, StateResultFacts } from './options.js';
import { activeTracer, endFallible, runInSpan, type SdkRuntime, type SpanAttributes } from './runtime.js';

export function traceState<T>(rt: SdkRuntime, operation: BatonOperation, access: StateAccess, fn: () => T): T {
  let span: Span | undefined;
  const isWrite = operation === BatonOperation.StateWrite;
  try {
    const attrs: SpanAttributes = {
      [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
      [BATON_OPERATION]: operation,
      [BATON_STATE_KEY]: access.key,
      [DB_OPERATION_NAME]: isWrite ? 'write' : 'read',
      [DB_SYSTEM_NAME]: access.system ?? 'other',
    };
    if (access.collection !== undefined) attrs[DB_COLLECTION_NAME] = access.collection;
    if (access.agent !== undefined) attrs[GEN_AI_AGENT_NAME] = access.agent;
    if (access.taskId !== undefined) attrs[BATON_TASK_ID] = access.taskId;
    if (access.epoch !== undefined) attrs[BATON_EPOCH] = access.epoch;
    if (access.attempt !== undefined) attrs[BATON_ATTEMPT] = access.attempt;
    if (access.idempotencyKey !== undefined) attrs[BATON_IDEMPOTENCY_KEY] = access.idempotencyKey;
    if (access.step !== undefined) attrs[BATON_STEP] = access.step;
    if (access.expectedVersion !== undefined) attrs[BATON_STATE_VERSION_EXPECTED] = access.expectedVersion;
    if (access.announces !== undefined) attrs[BATON_EVENT_EXPECTED_TOPIC] = access.announces;
    const name = `${isWrite ? 'write' : 'read'} ${access.collection ?? access.key}`;
    span = activeTracer(rt).startSpan(name, { kind: SpanKind.CLIENT, attributes: attrs, startTime: nowMs() });
  } catch (error) {
    rt.policy.fault(operation, error, span);
  }
  if (!span) return fn();
  const stateSpan = span;
  const finish = (result: unknown, failed: boolean): void => {
    if (!failed) {
      try {
        const facts = isPlainObject(result) ? (result as StateResultFacts) : undefined;
        // On a deduplicated write, version is the one the first write committed: recorded as written all the same.
        if (facts && typeof facts.version === 'number') {
          stateSpan.setAttribute(isWrite ? BATON_STATE_VERSION_WRITTEN : BATON_STATE_VERSION_READ, facts.version);
        }
        if (isWrite && facts && typeof facts.deduplicated === 'boolean') {
          stateSpan.setAttribute(BATON_STATE_DEDUPLICATED, facts.deduplicated);
        }
        if (facts && typeof facts.epoch === 'number' && access.epoch === undefined) {
          stateSpan.setAttribute(BATON_EPOCH, facts.epoch);
        }
        if (!isWrite) stateSpan.setAttribute(BATON_STATE_FOUND, result !== undefined && result !== null);
      } catch (fault) {
        rt.policy.fault(operation, fault, undefined);
      }
    }
    endFallible(rt, stateSpan, result, failed);
  };
  return contextApi.with(trace.setSpan(contextApi.active(), stateSpan), () => runInSpan(stateSpan, fn, finish));
}
