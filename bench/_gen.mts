import { generateTraceFile } from './generate-traces.js';
console.log(await generateTraceFile(process.argv[2]!, Number(process.argv[3]) * 1048576, { inFlight: Number(process.argv[4]) }));
