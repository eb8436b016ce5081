/**
 * State access: a read or write of shared state in a `read <key>` / `write <key>`
 * client span, with the versions and epoch read or written, so the analyzer can
 * find stale-epoch reads and duplicate writes after retries.
 */
import { SpanKind, type Span } from '@opentelemetry/api';
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
import { boundedString, isPlainObject } from './envelope-facts.js';
import { toBatonError } from './fault-policy.js';
import type { StateAccess, StateResultFacts } from './options.js';
import { activeTracer, checkContextManager, endFallible, faultOnMissing, runInSpan, type SdkRuntime, type SpanAttributes } from './runtime.js';

function putString(attrs: SpanAttributes, key: string, value: unknown): void {
  const text = boundedString(value);
  if (text !== undefined) attrs[key] = text;
}

function putNumber(attrs: SpanAttributes, key: string, value: unknown): void {
  if (typeof value === 'number') attrs[key] = value;
}

/** What a state span records of the access itself; the store's answer (versions, found) comes at the end. */
export type StateSpanFacts = Omit<StateAccess, 'key' | 'system' | 'collection'>;

/**
 * The attributes a `read <key>` / `write <key>` span starts with (docs/conventions.md): one
 * definition for traceStateRead/Write and the Redis and PostgreSQL adapters. Strings from the
 * host are bounded; what only a write means (idempotency key, step, expected version, the event
 * it announces) is recorded on writes only.
 */
export function stateSpanAttributes(
  isWrite: boolean,
  key: string,
  system: string,
  collection: string | undefined,
  facts: StateSpanFacts | undefined,
): SpanAttributes {
  const attrs: SpanAttributes = {
    [BATON_CONVENTIONS_VERSION]: CONVENTIONS_VERSION,
    [BATON_OPERATION]: isWrite ? BatonOperation.StateWrite : BatonOperation.StateRead,
    [BATON_STATE_KEY]: key,
    [DB_OPERATION_NAME]: isWrite ? 'write' : 'read',
    [DB_SYSTEM_NAME]: system,
  };
  if (collection !== undefined) attrs[DB_COLLECTION_NAME] = collection;
  if (!facts) return attrs;
  putString(attrs, GEN_AI_AGENT_NAME, facts.agent);
  putString(attrs, BATON_TASK_ID, facts.taskId);
  putNumber(attrs, BATON_EPOCH, facts.epoch);
  putNumber(attrs, BATON_ATTEMPT, facts.attempt);
  if (isWrite) {
    putString(attrs, BATON_IDEMPOTENCY_KEY, facts.idempotencyKey);
    putString(attrs, BATON_STEP, facts.step);
    putNumber(attrs, BATON_STATE_VERSION_EXPECTED, facts.expectedVersion);
    putString(attrs, BATON_EVENT_EXPECTED_TOPIC, facts.announces);
  }
  return attrs;
}

function hasKey(access: StateAccess): boolean {
  const key = access.key as unknown;
  return typeof key === 'string' && key.length > 0;
}

/** Runs `fn` (the host's read or write) in a state span and returns what it returns. */
export function traceState<T>(rt: SdkRuntime, operation: BatonOperation, access: StateAccess, fn: () => T): T {
  let span: Span | undefined;
  const isWrite = operation === BatonOperation.StateWrite;
  let epochGiven = false;
  try {
    if (access === null || typeof access !== 'object') throw new TypeError('state access needs an object with a key');
    const key = boundedString(access.key) || 'unknown';
    const collection = boundedString(access.collection);
    const attrs = stateSpanAttributes(isWrite, key, boundedString(access.system) ?? 'other', collection, access);
    epochGiven = access.epoch !== undefined;
    checkContextManager(rt);
    span = activeTracer(rt).startSpan(`${isWrite ? 'write' : 'read'} ${collection ?? key}`, {
      kind: SpanKind.CLIENT,
      attributes: attrs,
      startTime: nowMs(),
    });
  } catch (error) {
    rt.policy.fault(operation, error, span, false);
    if (rt.mode === 'strict') throw toBatonError(operation, error);
    span = undefined;
  }
  // The key is what every state rule compares.
  if (span && !hasKey(access)) faultOnMissing(rt, span, operation, 'state access needs an object with a key: a non-empty string', false);
  if (!span) return fn();
  const stateSpan = span;
  const finish = (result: unknown, failed: boolean): void => {
    if (!failed) {
      try {
        const facts = isPlainObject(result) ? (result as StateResultFacts) : undefined;
        if (facts) {
          const version = facts.version;
          // On a deduplicated write, version is the one the first write committed: recorded as written all the same.
          if (typeof version === 'number')
            stateSpan.setAttribute(isWrite ? BATON_STATE_VERSION_WRITTEN : BATON_STATE_VERSION_READ, version);
          const deduplicated = facts.deduplicated;
          if (isWrite && typeof deduplicated === 'boolean') stateSpan.setAttribute(BATON_STATE_DEDUPLICATED, deduplicated);
          const epoch = facts.epoch;
          if (typeof epoch === 'number' && !epochGiven) stateSpan.setAttribute(BATON_EPOCH, epoch);
        }
        if (!isWrite) stateSpan.setAttribute(BATON_STATE_FOUND, result !== undefined && result !== null);
      } catch (fault) {
        rt.policy.fault(operation, fault, undefined, false);
      }
    }
    endFallible(rt, stateSpan, operation, result, failed);
  };
  return runInSpan(rt, stateSpan, fn, finish);
}
