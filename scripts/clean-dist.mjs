// Removes both packages' build output before a build, so a module deleted or moved in src/
// never lingers in dist/ and ships in a packed tarball (tsc only ever adds files).
import { rmSync } from 'node:fs';

for (const dir of ['dist', 'packages/sdk/dist']) rmSync(new URL(`../${dir}`, import.meta.url), { recursive: true, force: true });
