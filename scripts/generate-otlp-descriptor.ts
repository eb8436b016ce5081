/**
 * Turns the vendored opentelemetry-proto definitions (src/ingest/proto/, from
 * open-telemetry/opentelemetry-proto v1.11.0-16-gac2c4b5, Apache-2.0) into the
 * protobufjs JSON descriptor that ingest loads at run time: a JSON import lands
 * in dist/ with the build, and needs no .proto parser at run time.
 * Run: npx tsx scripts/generate-otlp-descriptor.ts   (test/ingest/otlp-protobuf.test.ts checks it is current)
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const PROTO_DIR = `${root}src/ingest/proto/`;
export const DESCRIPTOR_PATH = `${root}src/ingest/otlp-trace.descriptor.json`;

/** The descriptor of ExportTraceServiceRequest and everything it references, as JSON text. */
export function renderOtlpDescriptor(): string {
  const protoRoot = new protobuf.Root();
  protoRoot.resolvePath = (_origin, target) => `${PROTO_DIR}${target}`;
  protoRoot.loadSync('opentelemetry/proto/collector/trace/v1/trace_service.proto', { keepCase: false });
  protoRoot.resolveAll();
  return `${JSON.stringify(protoRoot.toJSON(), null, 1)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(DESCRIPTOR_PATH, renderOtlpDescriptor());
  console.log(`wrote ${DESCRIPTOR_PATH}`);
}
