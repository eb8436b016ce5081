/**
 * Zstandard decompression for trace files: the OpenTelemetry Collector's file
 * exporter writes zstd when `compression: zstd` is set (its only compression).
 *
 * Node has zstd in zlib from 22.15 / 23.8, natively and ~10x faster than any
 * JavaScript decoder; on older Node (20.19 is supported) fzstd, a dependency-free
 * decoder, does the same work. Both are exposed as a zlib-like Transform stream and
 * a one-shot function, so callers have one code path, and corrupt data fails with
 * an error whose `code` starts with `ZSTD_` either way.
 */
import { createRequire } from 'node:module';
import { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import type * as Fzstd from 'fzstd';

/** fzstd, loaded on first use: ~7 ms at start-up for every audit otherwise, and never needed on Node 22.15+. */
let fzstd: typeof Fzstd | undefined;
function loadFzstd(): typeof Fzstd {
  fzstd ??= createRequire(import.meta.url)('fzstd') as typeof Fzstd;
  return fzstd;
}

/**
 * Whether a zstd frame starts at `at`: a data frame (magic 0xFD2FB528, little-endian) or a
 * skippable one (0x184D2A50–0x184D2A5F, which pzstd and some tools write first); both
 * decoders skip the latter.
 */
export function isZstdMagic(bytes: Uint8Array, at = 0): boolean {
  if (bytes.length < at + 4) return false;
  if (bytes[at] === 0x28 && bytes[at + 1] === 0xb5 && bytes[at + 2] === 0x2f && bytes[at + 3] === 0xfd) return true;
  return (bytes[at]! & 0xf0) === 0x50 && bytes[at + 1] === 0x2a && bytes[at + 2] === 0x4d && bytes[at + 3] === 0x18;
}

interface NativeZstd {
  createZstdDecompress(): Transform;
  zstdDecompressSync(data: Uint8Array): Buffer;
}

const native: NativeZstd | undefined =
  typeof (zlib as Partial<NativeZstd>).createZstdDecompress === 'function' ? (zlib as unknown as NativeZstd) : undefined;

/** Whether this Node decompresses zstd natively (else through fzstd). */
export const NATIVE_ZSTD = native !== undefined;

/** fzstd's errors, given the `code` shape of Node's own zstd errors. */
function asZstdError(error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(message), { code: 'ZSTD_error_corrupted' });
}

/**
 * Called with the bytes inflated and fed so far after each piece of output; throws to
 * stop the stream (the error is the stream's). Needed for fzstd only: it inflates a
 * whole input chunk inside one synchronous push, so a check downstream of the stream
 * would see a bomb only once a 1 MiB chunk had become gigabytes; zlib yields between
 * its small outputs, so the consumer's own check is in time there.
 */
export type InflateCheck = (inflatedBytes: number, fedBytes: number) => void;

/** A Transform that inflates a zstd stream (one frame or several, concatenated). */
export function createZstdDecompress(check?: InflateCheck): Transform {
  if (native) return native.createZstdDecompress();
  let decoder: Fzstd.Decompress;
  let fedBytes = 0;
  let inflatedBytes = 0;
  // What `check` threw, passed on as it is rather than as corrupt data.
  let refused: unknown;
  const fail = (error: unknown) => (refused !== undefined ? (refused as Error) : asZstdError(error));
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      try {
        fedBytes += chunk.length;
        decoder.push(chunk);
        done();
      } catch (error) {
        done(fail(error));
      }
    },
    flush(done) {
      try {
        // The final push throws on a stream cut inside a frame ("unexpected EOF").
        decoder.push(new Uint8Array(0), true);
        done();
      } catch (error) {
        done(fail(error));
      }
    },
  });
  // fzstd calls this once per block (at most 128 KiB), so a refusal comes within a block of the limit.
  decoder = new (loadFzstd().Decompress)((data) => {
    if (data.length === 0) return;
    inflatedBytes += data.length;
    if (check) {
      try {
        check(inflatedBytes, fedBytes);
      } catch (error) {
        refused = error;
        throw error;
      }
    }
    stream.push(Buffer.from(data.buffer, data.byteOffset, data.length));
  });
  return stream;
}

/** Inflates one whole zstd buffer. Throws an error with a `ZSTD_` code when it is corrupt or cut. */
export function zstdDecompress(data: Uint8Array): Buffer {
  if (native) return native.zstdDecompressSync(data);
  try {
    const out = loadFzstd().decompress(data);
    return Buffer.from(out.buffer, out.byteOffset, out.length);
  } catch (error) {
    throw asZstdError(error);
  }
}
