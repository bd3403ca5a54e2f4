// `npm run fuzz -- TARGET [--seconds N] [--seed S]`: runs the compiled fuzz runner (dist-test/fuzz/runner.js).
import { spawnSync } from 'node:child_process';

const r = spawnSync(process.execPath, ['dist-test/fuzz/runner.js', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, VFIO_TS_SANITIZE: process.env.VFIO_TS_SANITIZE ?? '0' },
});
process.exit(r.status ?? 1);
