// Test helpers for the CLI tests: runs the built `vfio-ts` (dist/cli/main.js) as a child process, collects its
// output and waits for lines; every child is killed in t.after() whatever the test did.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI next to this file. */
export const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

export interface TestContextLike {
  after(fn: () => unknown): void;
}

/** Children still running: killed if this test file is itself terminated (a timeout skips t.after). */
const running = new Set<ChildProcess>();

function killRunning(): void {
  for (const c of running) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  running.clear();
}

process.once('exit', killRunning);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killRunning();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  });
}

export class CliProcess {
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly child: ChildProcess;

  constructor(t: TestContextLike, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (s: string) => (this.stdout += s));
    this.child.stderr?.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
    running.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.once('close', (code, signal) => {
        running.delete(this.child);
        resolve({ code, signal });
      }),
    );
    t.after(() => {
      if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    });
  }

  /** Resolves once stdout (or stderr) matches `re` (rejects if the process exits first or after `ms`). */
  async waitFor(re: RegExp, ms = 10_000, stream: 'stdout' | 'stderr' = 'stdout'): Promise<RegExpMatchArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const m = (stream === 'stdout' ? this.stdout : this.stderr).match(re);
      if (m !== null) return m;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`vfio-ts exited (${String(this.child.exitCode ?? this.child.signalCode)}) before printing ${re}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${re}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async exit(): Promise<number | null> {
    return (await this.exited).code;
  }
}

/** Runs a client command to completion. */
export async function runCli(t: TestContextLike, args: readonly string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new CliProcess(t, args, cwd);
  const code = await p.exit();
  return { code, stdout: p.stdout, stderr: p.stderr };
}
