/**
 * Whether the host's OpenTelemetry setup carries context: without a context
 * manager, or with one that does not follow async work, every span after an
 * `await` starts a trace of its own and `baton audit` silently sees less
 * (handoffs without their runs, runs without their state reads).
 *
 * Checked once per process (a flag on globalThis, shared by every copy of the
 * SDK and by the file exporter) the first time a span is started or exported:
 * by then the host has had the chance to start its SDK. A synchronous probe
 * finds no manager at all; a probe across a microtask finds one that stops at
 * `await`. Each warns once through the reporter it is given. Never throws.
 */
import { context as contextApi, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';

const CONTEXT_CHECKED = Symbol.for('baton.context-manager-checked');
const PROBE = createContextKey('baton.context-manager-probe');

export const NO_CONTEXT_MANAGER =
  'no OpenTelemetry context manager is registered: spans will not nest and handoffs will not link. Register AsyncLocalStorageContextManager (NodeSDK and NodeTracerProvider.register() do).';
export const SYNC_CONTEXT_MANAGER =
  'the registered context manager does not carry context across await: every span after an await starts its own trace. Use AsyncLocalStorageContextManager.';

/** True once the check ran in this process. */
export function contextManagerChecked(): boolean {
  return (globalThis as { [CONTEXT_CHECKED]?: boolean })[CONTEXT_CHECKED] === true;
}

/** Runs the check unless it ran already; `report(kind, message)` is told of a problem. */
export function checkContextManagerOnce(report: (kind: string, message: string) => void): void {
  const flags = globalThis as { [CONTEXT_CHECKED]?: boolean };
  if (flags[CONTEXT_CHECKED]) return;
  flags[CONTEXT_CHECKED] = true;
  const safeReport = (message: string): void => {
    try {
      report('context-manager', message);
    } catch {
      // a reporter that throws has been told as well as it can be
    }
  };
  try {
    const probe = ROOT_CONTEXT.setValue(PROBE, true);
    const carriesSync = contextApi.with(probe, () => contextApi.active().getValue(PROBE) === true);
    if (!carriesSync) {
      safeReport(NO_CONTEXT_MANAGER);
      return;
    }
    contextApi.with(probe, () => {
      void Promise.resolve().then(() => {
        try {
          if (contextApi.active().getValue(PROBE) !== true) safeReport(SYNC_CONTEXT_MANAGER);
        } catch {
          // a context manager that throws here throws at the host's own calls too
        }
      });
    });
  } catch {
    // A context manager that throws: the SDK's guards count that where it matters.
  }
}

/** Forgets that the check ran (tests only). */
export function resetContextManagerCheck(): void {
  delete (globalThis as { [CONTEXT_CHECKED]?: boolean })[CONTEXT_CHECKED];
}
