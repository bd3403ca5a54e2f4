// `--http [HOST:]PORT`: where the web view listens. Without a host it is 127.0.0.1 (this machine only, as the
// control socket is its owner's only); `0.0.0.0:8080` or `[::]:8080` opens it to the network on purpose.

export interface HttpAddress {
  readonly host: string;
  readonly port: number;
}

/** Parses `PORT`, `HOST:PORT` or `[IPv6]:PORT`; throws an Error naming what is wrong. */
export function parseHttpAddress(s: string): HttpAddress {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(s.trim());
  if (m === null) throw new Error(`expected [HOST:]PORT (e.g. 8080 or 127.0.0.1:8080), got '${s}'`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`port ${port} is out of range (0-65535)`);
  const host = m[1] === undefined ? '127.0.0.1' : m[1].replace(/^\[(.*)\]$/, '$1');
  return { host, port };
}
