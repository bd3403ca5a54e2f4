// `npm run soak [-- --seconds N]`: runs the compiled fault campaign (dist-test/fuzz/soak.js).
import { spawnSync } from 'node:child_process';

const r = spawnSync(process.execPath, ['dist-test/fuzz/soak.js', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(r.status ?? 1);
