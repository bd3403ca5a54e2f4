// The control socket's command table for a running `serve`: each handler is a thin call into the Runtime.
import { subscribeLifecycle } from '../vfio/events.js';
import { sanitizer } from '../sanitizer/sanitizer.js';
import type { ControlHandlers } from './control-server.js';
import { deviceInfoToJson } from './control-protocol.js';
import type { Runtime } from './runtime.js';

export interface HandlerContext {
  readonly runtime: Runtime;
  readonly controlPath: string;
  readonly startedAt: number;
  /** Where `mdev create` puts the new device's socket. */
  readonly runDir: string;
}

export function controlHandlers(c: HandlerContext): ControlHandlers {
  const { runtime } = c;
  return Object.freeze({
    status: () => ({
      pid: process.pid,
      uptimeSeconds: Math.round((Date.now() - c.startedAt) / 1000),
      control: c.controlPath,
      sanitizer: sanitizer.enabled,
      devices: runtime.devices().map(deviceInfoToJson),
    }),
    ls: (req) => runtime.ls(req.path),
    'mdev-types': () => runtime.mdevTypes().map((t) => ({ ...t })),
    'mdev-create': async (req) => {
      const socket = runtime.nextSocketPath(c.runDir, req.parent);
      const info = await runtime.createMdev(req.parent, req.type, req.uuid === undefined ? { socket } : { socket, uuid: req.uuid });
      return deviceInfoToJson(info);
    },
    'mdev-remove': async (req, ctx) => {
      await runtime.removeMdev(req.uuid, (count) => ctx.progress({ request: count }));
      return { uuid: req.uuid.toLowerCase() };
    },
    unregister: async (req, ctx) => {
      const r = await runtime.unregister(req.device, (count) => ctx.progress({ device: req.device, request: count }));
      return { ...r };
    },
    trace: (_req, ctx) =>
      new Promise((resolve) => {
        const stop = subscribeLifecycle((e) => ctx.event({ ...e, time: new Date().toISOString() }));
        // A trace ends when the client hangs up (Ctrl-C) or the server shuts down.
        ctx.signal.addEventListener('abort', () => {
          stop();
          resolve(null);
        });
      }),
    screenshot: (req) => ({ png: runtime.screenshot(req.device).toString('base64') }),
    lspci: () => runtime.lspci().map((f) => ({ ...f })),
    bind: async (req) => {
      const socket = runtime.nextSocketPath(c.runDir, req.driver);
      return deviceInfoToJson(await runtime.bindDevice(req.device, req.driver, { socket }));
    },
    unbind: async (req, ctx) => {
      const r = await runtime.unbindDevice(req.device, (count) => ctx.progress({ device: req.device, request: count }));
      return { ...r };
    },
  });
}
