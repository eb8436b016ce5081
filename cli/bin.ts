#!/usr/bin/env node
/** The `baton` executable: runs the CLI and sets the exit code; never calls process.exit (pending output would be cut). */
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  cwd: process.cwd(),
  env: process.env,
});
