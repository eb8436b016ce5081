/**
 * The analysis thread of `baton watch` (node:worker_threads): owns the live
 * session (its queue, the streaming Auditor, the view), decodes the request
 * bodies the receivers on the main thread hand it (their memory transferred,
 * never copied or cloned as span objects), and answers each with the verdict
 * the receiver replies with. Views, the report and the analysis updates go back
 * to the main thread at redraw rate, not per span. Started by
 * {@link ThreadedLiveSession}; the messages both sides speak are declared there.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { AuditUpdate } from '../src/analyze/audit.js';
import { offerBodyTo } from '../src/receiver/offer-body.js';
import { spansToOtlpJson } from '../src/receiver/otlp-json-recorder.js';
import { LiveSession } from './live-session.js';
import type { AnalysisWorkerData, ToMain, ToWorker } from './threaded-session.js';

const port = parentPort;
if (port === null) throw new Error('analysis-worker: run as a worker thread (new Worker), not as a program');
const data = workerData as AnalysisWorkerData;

/** The accepted batch's recording line, set by onAccepted while a body is offered. */
let recordLine: string | undefined;
let updates: AuditUpdate[] = [];

const session = new LiveSession({
  ...data.session,
  // Bodies wait encoded in this thread's message port (bounded by the main thread's pending
  // bytes); each is decoded only when the analysis can take it, so its spans die young.
  analyzeOnOffer: true,
  onAccepted: data.record
    ? (spans) => {
        // Serialized here, off the receiving thread; the main thread only writes the line.
        recordLine = JSON.stringify(spansToOtlpJson(spans));
      }
    : undefined,
  onAnalysis: data.analysisUpdates ? (update) => void updates.push(update) : undefined,
});

function post(message: ToMain): void {
  port!.postMessage(message);
}

let postedVersion = -1;
let postedAtMs = 0;

/** The view (and the report and updates, when asked for) if anything changed, or a second passed (ages move). */
function postView(force: boolean): void {
  const now = Date.now();
  if (!force && session.version === postedVersion && now - postedAtMs < 1_000 && updates.length === 0) return;
  postedVersion = session.version;
  postedAtMs = now;
  const report = session.report();
  post({ type: 'view', view: session.view(report), report: data.reports ? report : undefined, updates: takeUpdates() });
}

function takeUpdates(): AuditUpdate[] | undefined {
  if (updates.length === 0) return undefined;
  const taken = updates;
  updates = [];
  return taken;
}

port.on('message', (message: ToWorker) => {
  switch (message.type) {
    case 'body': {
      recordLine = undefined;
      const verdict = offerBodyTo(session, message.bytes, message.origin, message.source);
      post({ type: 'verdict', id: message.id, verdict, record: verdict.status === 'accepted' ? recordLine : undefined });
      recordLine = undefined;
      return;
    }
    case 'refused':
      session.requestRefused(message.reason);
      return;
    case 'notify':
      session.notify(message.notice);
      return;
    case 'close':
      session.close();
      return;
    case 'finish':
      clearInterval(viewTimer);
      void session.finish().then((report) => {
        post({ type: 'finished', view: session.view(report), report, updates: takeUpdates() });
      });
      return;
  }
});

session.start();
const viewTimer = setInterval(() => postView(false), data.viewIntervalMs);
postView(true);
