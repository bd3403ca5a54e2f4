// Helpers for the web view's tests: a `vfio-ts serve --http 127.0.0.1:0` child with its sockets in a temp dir, and
// raw HTTP requests (node:http, so a test can send any Host, Origin or body it likes).
import { request } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliProcess } from '../cli.test-kit.js';
import type { TestContextLike } from '../cli.test-kit.js';

export interface WebServe {
  readonly server: CliProcess;
  readonly dir: string;
  readonly ctl: string;
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  readonly port: number;
}

/** Starts serve with the web view on a free port; killed in t.after(). */
export async function startWebServe(t: TestContextLike, config: object): Promise<WebServe> {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const server = new CliProcess(t, ['serve', '--config', 'config.json', '--shutdown-grace', '200', '--http', '127.0.0.1:0'], dir, { VFIO_TS_SANITIZE: '1' });
  const m = await server.waitFor(/Web view: (http:\/\/127\.0\.0\.1:(\d+)\/)/);
  return { server, dir, ctl: join(dir, 'run', 'vfio-ts.ctl'), url: m[1] ?? '', port: Number(m[2]) };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** One HTTP request with exactly these headers and body. */
export function rawRequest(port: number, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers: { Host: `127.0.0.1:${port}`, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** POSTs a control command as the page does. */
export function postControl(port: number, body: object): Promise<RawResponse> {
  return rawRequest(port, 'POST', '/api/control', { 'Content-Type': 'application/json' }, JSON.stringify(body));
}
