import { readFile } from 'node:fs/promises';
import { auditSpans } from '../src/analyze/audit.js';
import { readTraceInputs } from '../src/ingest/index.js';
const file = process.argv[2]!;
for (let i = 0; i < 5; i++) {
  let t = performance.now();
  for (const line of (await readFile(file, 'utf8')).split('\n')) if (line) JSON.parse(line);
  const bare = performance.now() - t;
  t = performance.now();
  const r = await auditSpans(readTraceInputs([file], { onError: (e) => { throw e; } }));
  const audit = performance.now() - t;
  console.log(`bare ${bare.toFixed(0)} audit ${audit.toFixed(0)} ratio ${(audit / bare).toFixed(2)} findings ${r.findings.length}`);
}
