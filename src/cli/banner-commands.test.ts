// The banner's commands: `npx vfio-ts` for an installed package, `node <path>` in a clone, --ctl only when needed,
// and words a shell reads back unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cliInvocation, inspectCommands, shellQuote } from './banner-commands.js';

test('a clone runs node with the path from the directory; an installed package runs npx', () => {
  assert.equal(cliInvocation('/src/vfio-ts', '/src/vfio-ts/dist/cli/main.js'), 'node dist/cli/main.js');
  assert.equal(cliInvocation('/tmp/x', '/src/vfio-ts/dist/cli/main.js'), 'node /src/vfio-ts/dist/cli/main.js');
  assert.equal(cliInvocation('/app', '/app/node_modules/vfio-ts/dist/cli/main.js'), 'npx vfio-ts');
});

test('inspect commands: one per line, --ctl only for a control socket the client would not find by default', () => {
  const main = '/src/vfio-ts/dist/cli/main.js';
  assert.deepEqual(inspectCommands('/src/vfio-ts', '/src/vfio-ts/run/vfio-ts.ctl', main), [
    'node dist/cli/main.js status',
    'node dist/cli/main.js ls /sys/class/vfio-dev',
    'node dist/cli/main.js trace',
  ]);
  assert.equal(inspectCommands('/src/vfio-ts', '/srv/my run/ctl', main)[0], "node dist/cli/main.js --ctl '/srv/my run/ctl' status");
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});
