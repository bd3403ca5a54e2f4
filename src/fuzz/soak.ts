// `npm run soak [-- --seconds N]`: the fault campaign against a spawned `vfio-ts serve` with one device of each
// driver, on loopback sockets only. Faults: a disconnect after every message of a full session and in the middle
// of each, a client process killed with DMA mapped and IRQs armed, a client that stops reading while another
// works, a flood of pipelined requests, and SIGTERM with a client attached. After each fault the server's fds and
// memfd mappings must come back to their baseline and the device must take a new client. One JSON line per
// campaign; exit 1 on any crash or leak.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as native from '../native/index.js';
import * as proto from '../vfio-user/protocol/index.js';
import { RawClient } from '../vfio-user/server.test-kit.js';
import { CliProcess } from '../cli/cli.test-kit.js';

const DEVICES = [
  { driver: 'mtty', type: '1' },
  { driver: 'mdpy', type: 'vga' },
  { driver: 'mbochs', type: 'small' },
  { driver: 'vfio-pci', device: '0000:00:03.0' },
  { driver: 'vfio-ccw', type: 'io', parent: '0.0.0100' },
  { driver: 'vfio-ap', type: 'passthrough', adapters: [5], domains: [6, 7] },
  { driver: 'gvt', type: 'GVTg_V5_4' },
  { driver: 'mlx5-vfio-pci', device: '0000:00:05.1' },
  { driver: 'hisi-acc-vfio-pci', device: '0000:00:06.1' },
  { driver: 'vfio-platform', device: 'fff51000.ethernet' },
  { driver: 'vfio-amba', device: '9000000.pl011' },
  { driver: 'vfio-fsl-mc', device: 'dpni.0' },
];

/** The simulated machine the bus drivers' devices sit on. */
const MACHINE = {
  pci: [
    {
      devices: [
        { device: 3, model: 'pci-serial' },
        { device: 5, model: 'mlx5-pf', numVfs: 1 },
        { device: 6, model: 'hisi-acc-pf', kind: 'zip', numVfs: 1 },
      ],
    },
  ],
  platform: [{ name: 'ethernet', compatible: ['calxeda,hb-xgmac'], reg: [{ base: 0xfff51000, size: 0x1000 }], interrupts: [{ line: 80, trigger: 'level' }] }],
  amba: [{ name: 'pl011', compatible: ['arm,pl011', 'arm,primecell'], reg: [{ base: 0x9000000, size: 0x1000 }], interrupts: [{ line: 33, trigger: 'level' }] }],
  fslMc: { containers: [{ id: 2, objects: [{ type: 'dpni', id: 0 }, { type: 'dpmcp', id: 1 }] }] },
};

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i < 0 ? dflt : Number(process.argv[i + 1]);
}

const seconds = arg('--seconds', 60);
const deadline = performance.now() + seconds * 1000;
const failures: string[] = [];
const emit = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

/** What the server holds: open fds and memfd mappings. */
function usage(pid: number): { fds: number; memfdMaps: number; rssKiB: number } {
  const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
  const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '0';
  return { fds: readdirSync(`/proc/${pid}/fd`).length, memfdMaps: maps.split('\n').filter((l) => l.includes('/memfd:')).length, rssKiB: Number(rss) };
}

async function settle(pid: number, base: { fds: number; memfdMaps: number }, what: string): Promise<boolean> {
  const end = Date.now() + 3000;
  for (;;) {
    const u = usage(pid);
    if (u.fds <= base.fds && u.memfdMaps <= base.memfdMaps) return true;
    if (Date.now() > end) {
      failures.push(`${what}: server holds ${u.fds} fds (baseline ${base.fds}) and ${u.memfdMaps} memfd maps (baseline ${base.memfdMaps})`);
      return false;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A full session: every message a VMM sends a device, with the fds it attaches (created per use). */
function session(): { msg: Buffer; fds: () => number[] }[] {
  const memfd = (): number[] => {
    const fd = native.memfdCreate('soak-guest', 1 << 20, true);
    native.addSeals(fd, native.F_SEAL_SHRINK);
    return [fd];
  };
  const efd = (): number[] => [native.eventfd(0, native.EFD_NONBLOCK)];
  const none = (): number[] => [];
  const list: [number, Buffer, () => number[]][] = [
    [proto.VFIO_USER_DEVICE_GET_INFO, proto.encodeDeviceInfoRequest(), none],
    ...[0, 1, 2, 7].map((i): [number, Buffer, () => number[]] => [proto.VFIO_USER_DEVICE_GET_REGION_INFO, proto.encodeRegionInfoRequest(i), none]),
    [proto.VFIO_USER_DEVICE_GET_IRQ_INFO, proto.encodeIrqInfoRequest(0), none],
    [proto.VFIO_USER_DMA_MAP, proto.encodeDmaMap({ flags: 3, offset: 0n, address: 0x100000n, size: 1n << 20n }), memfd],
    [proto.VFIO_USER_DEVICE_SET_IRQS, proto.encodeIrqSet(0x24, 0, 0, 1), efd],
    [proto.VFIO_USER_DEVICE_SET_IRQS, proto.encodeIrqSet(0x24, 4, 0, 1), efd],
    [proto.VFIO_USER_REGION_READ, proto.encodeRegionAccess(0, 7, 4), none],
    [proto.VFIO_USER_REGION_WRITE, proto.encodeRegionAccess(4, 7, 2, Buffer.from([6, 0])), none],
    [proto.VFIO_USER_DEVICE_FEATURE, proto.encodeDeviceFeature((1 << 16) | 1, undefined, 16), none],
    [proto.VFIO_USER_DMA_UNMAP, proto.encodeDmaUnmap({ flags: 0, address: 0x100000n, size: 1n << 20n }), none],
    [proto.VFIO_USER_DEVICE_RESET, Buffer.alloc(0), none],
  ];
  return list.map(([cmd, payload, fds], i) => ({ msg: proto.encodeCommand(i + 1, cmd, payload), fds }));
}

async function sendWithFds(c: RawClient, msg: Buffer, mk: () => number[]): Promise<void> {
  const fds = mk();
  try {
    c.send(msg, fds);
  } finally {
    for (const fd of fds) native.close(fd);
  }
}

/** A new client gets VERSION and GET_INFO answered, then leaves. */
async function takesClient(path: string): Promise<boolean> {
  const c = new RawClient(path);
  try {
    await c.handshake();
    c.send(proto.encodeCommand(9, proto.VFIO_USER_DEVICE_GET_INFO, proto.encodeDeviceInfoRequest()));
    const r = await c.next(3000);
    return r.header.errorNo === 0;
  } catch {
    return false;
  } finally {
    native.close(c.fd);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vfio-ts-soak-'));
  const after: (() => unknown)[] = [];
  const t = { after: (fn: () => unknown) => void after.push(fn) };
  try {
    writeFileSync(join(dir, 'c.json'), JSON.stringify({ runDir: 'run', requestIntervalMs: 100, machine: MACHINE, devices: DEVICES }));
    const server = new CliProcess(t, ['serve', '--config', 'c.json', '--shutdown-grace', '500'], dir, { VFIO_TS_SANITIZE: '0' });
    await server.waitFor(/Inspect it with/, 30_000);
    const pid = server.child.pid ?? 0;
    const socks = readdirSync(join(dir, 'run')).filter((f) => f.endsWith('.sock')).map((f) => join(dir, 'run', f));
    const base = usage(pid);
    const msgs = session();
    let sessions = 0;
    let messages = 0;
    let faults = 0;

    // 1. A disconnect after every message and in the middle of every message, device after device, in rounds.
    let rounds = 0;
    do {
      for (const path of socks) {
        for (let cut = 0; cut <= msgs.length; cut++) {
          for (const mid of [false, true]) {
            if (mid && cut === msgs.length) continue;
            const c = new RawClient(path);
            try {
              await c.handshake();
              messages++;
              for (const m of msgs.slice(0, cut)) {
                await sendWithFds(c, m.msg, m.fds);
                await c.next(3000);
                messages++;
              }
              const m = msgs[cut];
              if (mid && m !== undefined) c.send(m.msg.subarray(0, Math.max(1, m.msg.length >> 1)));
            } catch (err) {
              failures.push(`${path} cut ${cut}${mid ? ' mid-message' : ''}: ${String(err)}`);
            } finally {
              native.close(c.fd);
            }
            sessions++;
            faults++;
            await settle(pid, base, `${path} cut ${cut}${mid ? ' mid-message' : ''}`);
            if (!(await takesClient(path))) failures.push(`${path} refused a client after cut ${cut}`);
          }
        }
      }
      rounds++;
    } while (performance.now() < deadline - 10_000 && failures.length === 0);
    emit({ soak: 'disconnect-every-step', devices: socks.length, rounds, sessions, messages, faults, failures: failures.length });

    // 2. A client process killed with DMA mapped and IRQs armed.
    const childScript = `
      import * as native from ${JSON.stringify(new URL('../native/index.js', import.meta.url).href)};
      import * as proto from ${JSON.stringify(new URL('../vfio-user/protocol/index.js', import.meta.url).href)};
      const fd = native.unixConnect(process.argv[1]);
      native.sendmsg(fd, proto.encodeCommand(0, proto.VFIO_USER_VERSION, proto.encodeVersion(0, 0, '{"capabilities":{"max_msg_fds":16}}')));
      const mem = native.memfdCreate('child', 1 << 20, true); native.addSeals(mem, native.F_SEAL_SHRINK);
      native.sendmsg(fd, proto.encodeCommand(1, proto.VFIO_USER_DMA_MAP, proto.encodeDmaMap({ flags: 3, offset: 0n, address: 0x100000n, size: 1n << 20n })), [mem]);
      native.sendmsg(fd, proto.encodeCommand(2, proto.VFIO_USER_DEVICE_SET_IRQS, proto.encodeIrqSet(0x24, 0, 0, 1)), [native.eventfd(0, native.EFD_NONBLOCK)]);
      setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);`;
    let kills = 0;
    for (const path of socks) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', childScript, path], { stdio: 'ignore' });
      await new Promise((r) => child.once('exit', r));
      kills++;
      await settle(pid, base, `${path} after its client was killed`);
      if (!(await takesClient(path))) failures.push(`${path} refused a client after a killed one`);
    }
    emit({ soak: 'client-killed-with-dma-and-irqs', clients: kills, failures: failures.length });

    // 3. A client that stops reading while another one works; 4. a flood of pipelined requests.
    const [slowPath, busyPath] = [socks[0] ?? '', socks[1] ?? ''];
    const slow = new RawClient(slowPath);
    await slow.handshake();
    const read = proto.encodeCommand(1, proto.VFIO_USER_REGION_READ, proto.encodeRegionAccess(0, 7, 4));
    const burst = Buffer.concat(Array.from({ length: 2000 }, () => read));
    let stalledSent = 0;
    for (let i = 0; i < 50; i++) {
      const n = native.sendmsg(slow.fd, burst);
      if (n <= 0) break;
      stalledSent += n;
    }
    const rssStalled = usage(pid).rssKiB;
    const busy = new RawClient(busyPath);
    await busy.handshake();
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) {
      busy.send(read);
      await busy.next(3000);
    }
    const busyMs = performance.now() - t0;
    native.close(slow.fd);
    const flood = 20_000;
    const t1 = performance.now();
    await busy.sendAll(Buffer.concat(Array.from({ length: flood }, () => read)));
    const replies = await busy.many(flood, 30_000);
    const floodMs = performance.now() - t1;
    native.close(busy.fd);
    await settle(pid, base, 'after the stalled reader and the flood');
    emit({
      soak: 'stalled-reader-and-flood',
      stalledBytesSent: stalledSent,
      serverRssKiBWhileStalled: rssStalled,
      serverRssKiBBaseline: base.rssKiB,
      otherClient500RoundTripsMs: Math.round(busyMs),
      floodRequests: flood,
      floodReplies: replies.length,
      floodMs: Math.round(floodMs),
      failures: failures.length,
    });
    if (replies.length !== flood) failures.push(`flood: ${replies.length} of ${flood} replies`);

    // 5. SIGTERM with a client attached: the client is asked to leave, then cut off; the server exits 0.
    const held = new RawClient(socks[0] ?? '');
    await held.handshake();
    server.child.kill('SIGTERM');
    const code = await server.exit();
    native.close(held.fd);
    const left = readdirSync(join(dir, 'run')).filter((f) => f.endsWith('.sock'));
    if (code !== 0) failures.push(`serve exited ${String(code)} on SIGTERM with a client attached`);
    if (left.length > 0) failures.push(`socket files left after SIGTERM: ${left.join(', ')}`);
    if (/sanitizer: leak|TypeError|RangeError/.test(server.stderr)) failures.push(`server stderr: ${server.stderr.slice(-2000)}`);
    emit({ soak: 'sigterm-with-client', exitCode: code, socketsLeft: left.length, failures: failures.length });
    emit({ soak: 'total', seconds: Math.round((performance.now() - (deadline - seconds * 1000)) / 1000), sessions, messages, faults: faults + kills + 3, crashes: code === 0 ? 0 : 1, leaks: failures.filter((f) => /holds/.test(f)).length, failures: failures.length });
  } finally {
    for (const fn of after.reverse()) await fn();
    rmSync(dir, { recursive: true, force: true });
  }
  for (const f of failures) process.stderr.write(`soak: ${f}\n`);
  process.exit(failures.length > 0 ? 1 : 0);
}

await main();
