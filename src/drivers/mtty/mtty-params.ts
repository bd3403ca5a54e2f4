// What an mtty is created with beyond its type: one host backend per port. The serve config writes them as
// `"loopback"`, `"stdio"`, `{"unix": PATH}`, `{"tcp": PORT}`; the mdev carries them parsed (MttyBackendSpec).
import { z } from 'zod';
import { intRange, listOf, socketPath } from '../config-schema.js';
import type { ConfigClaim, ConfigContext, DriverConfigKeys, DriverParams } from '../descriptor.js';
import type { MttyBackendSpec } from './backends.js';

/** An mtty card has at most two ports (type "2"). */
export const MTTY_MAX_PORTS_PER_DEVICE = 2;

const PORT_FORMS = '"loopback", "stdio", {"unix": PATH} or {"tcp": PORT}';

/** The params an mtty mdev carries: `ports[i]` is port i's backend (missing ports are loopback). */
export const mttyParamsSchema = z.strictObject({
  ports: z
    .array(
      z.discriminatedUnion('kind', [
        z.strictObject({ kind: z.literal('loopback') }),
        z.strictObject({ kind: z.literal('stdio') }),
        z.strictObject({ kind: z.literal('unix'), path: z.string().min(1) }),
        // 0: any free port (tests).
        z.strictObject({ kind: z.literal('tcp'), port: z.int().min(0).max(65535) }),
      ]),
    )
    .max(MTTY_MAX_PORTS_PER_DEVICE)
    .optional(),
});

export type MttyParams = z.infer<typeof mttyParamsSchema>;

/** Why a port entry is not one of the four forms (a zod union error, with what was given). */
function portFormError(iss: { input?: unknown }): string {
  const v = iss.input;
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const keys = Object.keys(v);
    if (keys.length !== 1) return `a port backend has exactly one key (unix or tcp), got ${keys.length === 0 ? 'none' : keys.join(', ')}`;
  }
  return `unknown port backend ${typeof v === 'string' ? `${JSON.stringify(v)} ` : ''}(use ${PORT_FORMS})`;
}

/** One port in the config's form, parsed to a MttyBackendSpec. */
function configPort(ctx: ConfigContext): z.ZodType<MttyBackendSpec> {
  return z.union(
    [
      z.enum(['loopback', 'stdio']).transform((kind): MttyBackendSpec => ({ kind })),
      z.strictObject({ unix: socketPath(ctx.baseDir) }).transform((o): MttyBackendSpec => ({ kind: 'unix', path: o.unix })),
      z.strictObject({ tcp: intRange(1, 65535) }).transform((o): MttyBackendSpec => ({ kind: 'tcp', port: o.tcp })),
    ],
    { error: portFormError },
  );
}

/** mtty's keys in a serve config entry: `ports`. */
export const mttyConfigKeys: DriverConfigKeys = Object.freeze({
  shape: (ctx: ConfigContext) => ({
    ports: listOf(configPort(ctx))
      .max(MTTY_MAX_PORTS_PER_DEVICE, { error: (iss) => `an mtty has at most ${MTTY_MAX_PORTS_PER_DEVICE} ports, got ${Array.isArray(iss.input) ? iss.input.length : '?'}` })
      .optional()
      .describe('one backend per port: "loopback" (default), "stdio", {"unix": PATH} or {"tcp": PORT} on 127.0.0.1'),
  }),
  claims: (params: DriverParams): ConfigClaim[] => {
    const parsed = mttyParamsSchema.safeParse(params);
    if (!parsed.success) return [];
    return (parsed.data.ports ?? []).flatMap((p, i): ConfigClaim[] => {
      if (p.kind === 'unix') return [{ key: `ports[${i}].unix`, kind: 'socket', value: p.path }];
      if (p.kind === 'tcp') return [{ key: `ports[${i}].tcp`, kind: 'tcp', value: p.port }];
      return [];
    });
  },
});
