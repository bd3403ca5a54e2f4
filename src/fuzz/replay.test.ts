// The fuzz corpora as regression inputs: every stored input of every target (what found new coverage, and every
// crasher once fixed) runs again, and none may make the code under test throw anything but its answer to bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FUZZ_TARGETS, Finding, prepareTargets } from './targets.js';
import { readCorpus } from './corpus.js';

await prepareTargets();

for (const t of FUZZ_TARGETS) {
  test(`fuzz corpus of ${t.name} replays without a finding`, async (tc) => {
    tc.after(() => t.close?.());
    const inputs = [...t.seeds().map((data, i) => ({ name: `seed ${i}`, data })), ...readCorpus('corpus', t.name), ...readCorpus('crashers', t.name)];
    assert.ok(inputs.length > 0);
    for (const { name, data } of inputs) {
      try {
        await t.run(data);
      } catch (err) {
        assert.fail(`${t.name} input ${name}: ${err instanceof Finding ? err.message : String(err)}`);
      }
    }
  });
}
