/**
 * zstd compression for tests: Node's own (22.15+) or the `zstd` command (Debian's
 * `zstd` package; `.ci/run` installs it). Baton only decompresses, so nothing in the
 * project compresses; a machine with neither skips the tests that need it, except in
 * CI, where a missing compressor fails them.
 */
import { spawnSync } from 'node:child_process';
import * as zlib from 'node:zlib';

type NativeCompress = (data: Uint8Array) => Buffer;
const native = (zlib as unknown as { zstdCompressSync?: NativeCompress }).zstdCompressSync;

function cliWorks(): boolean {
  return spawnSync('zstd', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** True (with a warning) when this machine cannot compress zstd and is not CI, where that is an error. */
export function shouldSkipZstdTests(): boolean {
  if (native || cliWorks()) return false;
  const reason = 'no zstd compressor: Node < 22.15 and no `zstd` command (apt-get install zstd)';
  if (process.env.CI) throw new Error(reason);
  console.warn(`skipped: ${reason}`);
  return true;
}

/** One zstd frame of `data`. */
export function zstdCompress(data: Uint8Array | string): Buffer {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  if (native) return native(bytes);
  const run = spawnSync('zstd', ['-q', '-c', '-'], { input: bytes, maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`zstd failed: ${run.stderr.toString()}`);
  return run.stdout;
}

/**
 * What the Collector's file exporter writes with `compression: zstd` (its default, non-native
 * mode; exporter/fileexporter file_writer.go exportMessageAsBuffer): per export, a 4-byte
 * big-endian length and one zstd frame of the marshalled request.
 */
export function collectorZstdRecords(requests: readonly (Uint8Array | string)[]): Buffer {
  const parts: Buffer[] = [];
  for (const request of requests) {
    const frame = zstdCompress(request);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(frame.length);
    parts.push(length, frame);
  }
  return Buffer.concat(parts);
}
