/** Argument parsing on node:util's parseArgs, with its errors turned into UsageError. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './io.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<T extends Options, P extends boolean>(
  args: string[],
  options: T,
  allowPositionals: P,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: P; strict: true }>> {
  try {
    return parseArgs({ args, options, allowPositionals, strict: true });
  } catch (error) {
    // parseArgs messages are one line already; drop its trailing hint about '--' so the line stays short.
    throw new UsageError((error as Error).message.split('. To specify')[0] ?? String(error));
  }
}
