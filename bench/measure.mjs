// The timed loop the micro-benchmarks share: warm up, run `fn(i)` in batches for about a second, print one
// JSON line. Numeric results are summed into a sink so the work cannot be optimised away.

/**
 * Prints `{bench, unit, value}` where value is calls per second times `perIter` (e.g. MB per call).
 * @param {string} name
 * @param {string} unit
 * @param {(i: number) => unknown} fn
 * @param {{ perIter?: number, warmup?: number }} [opts]
 */
export function measure(name, unit, fn, { perIter = 1, warmup = 20000 } = {}) {
  let sink = 0;
  const call = (i) => {
    const r = fn(i);
    if (typeof r === 'number') sink += r;
  };
  for (let i = 0; i < warmup; i++) call(i);
  let iters = 0;
  const t0 = process.hrtime.bigint();
  let t = t0;
  while (t - t0 < 1_000_000_000n) {
    for (let i = 0; i < 1000; i++) call(iters + i);
    iters += 1000;
    t = process.hrtime.bigint();
  }
  if (sink === -1) console.error('unreachable');
  const secs = Number(t - t0) / 1e9;
  console.log(JSON.stringify({ bench: name, unit, value: Math.round((iters * perIter) / secs) }));
}
