// `npm run fuzz -- TARGET [--seconds N] [--seed S]`: coverage-guided fuzzing of one target. Inputs are mutated
// from the corpus (the stored one, else the target's seeds); an input that runs a block V8 has not seen before
// joins the corpus (and is stored); an unexpected error is stored as a crasher and ends the run with exit 1.
// Prints one JSON line of figures at the end.
import { V8Coverage } from './coverage.js';
import { Rng, mutate } from './mutate.js';
import { readCorpus, writeCorpus } from './corpus.js';

// Coverage of the code under test only (the compiled tree, not the fuzzer itself or node's internals). It starts
// before that code is loaded: V8 gives block counters only to functions compiled after precise coverage began.
const coverage = new V8Coverage((url) => url.includes('/dist-test/') && !url.includes('/dist-test/fuzz/'));
const { Finding, FUZZ_TARGETS, prepareTargets } = await import('./targets.js');

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

const name = process.argv[2];
const target = FUZZ_TARGETS.find((t) => t.name === name);
if (target === undefined) {
  process.stderr.write(`usage: npm run fuzz -- TARGET [--seconds N] [--seed S]; targets: ${FUZZ_TARGETS.map((t) => t.name).join(', ')}\n`);
  process.exit(2);
}
const seconds = Number(arg('--seconds') ?? '60');
const rng = new Rng(Number(arg('--seed') ?? Date.now() % 0xffffffff));
await prepareTargets();

const stored = readCorpus('corpus', target.name).map((c) => c.data);
const corpus: Uint8Array[] = stored.length > 0 ? stored : target.seeds();
let execs = 0;
let findings = 0;
let added = 0;

async function runOne(input: Uint8Array): Promise<boolean> {
  execs++;
  try {
    await target!.run(input);
  } catch (err) {
    if (!(err instanceof Finding)) throw err;
    findings++;
    const path = writeCorpus('crashers', target!.name, input);
    process.stderr.write(`finding: ${err.message}\n  input: ${path}\n${err.cause instanceof Error ? (err.cause.stack ?? '') : ''}\n`);
    return false;
  }
  return true;
}

// The starting corpus sets the baseline coverage.
for (const c of corpus) await runOne(c);
coverage.takeNew();
const start = performance.now();
const deadline = start + seconds * 1000;
while (performance.now() < deadline && findings === 0) {
  const parent = rng.pick(corpus);
  const input = mutate(parent, rng, rng.pick(corpus), target.maxLen);
  if (!(await runOne(input))) break;
  if (coverage.takeNew() > 0) {
    corpus.push(input);
    if (stored.length > 0 || added < 10_000) writeCorpus('corpus', target.name, input);
    added++;
  }
}
const secs = (performance.now() - start) / 1000;
process.stdout.write(
  `${JSON.stringify({ fuzz: target.name, seconds: Number(secs.toFixed(1)), execs, execsPerSecond: Math.round(execs / secs), blocks: coverage.blocks, corpus: corpus.length, added, findings })}\n`,
);
coverage.close();
await target.close?.();
process.exit(findings > 0 ? 1 : 0);
