// What an mtty is created with beyond its type: one host backend (chardev) per port. The serve config writes them
// as `"loopback"`, `"stdio"`, `{"unix": PATH}`, `{"tcp": PORT}`; the mdev carries them parsed (ChardevSpec).
import { z } from 'zod';
import { listOf } from '../../base/config-schema.js';
import { PORT_FORMS, chardevConfigSchema } from '../../hw/chardev.js';
import type { ConfigClaim, ConfigContext, DriverConfigKeys, DriverParams } from '../descriptor.js';

/** An mtty card has at most two ports (type "2"). */
export const MTTY_MAX_PORTS_PER_DEVICE = 2;

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

/** mtty's keys in a serve config entry: `ports`. */
export const mttyConfigKeys: DriverConfigKeys = Object.freeze({
  shape: (ctx: ConfigContext) => ({
    ports: listOf(chardevConfigSchema(ctx.baseDir))
      .max(MTTY_MAX_PORTS_PER_DEVICE, { error: (iss) => `an mtty has at most ${MTTY_MAX_PORTS_PER_DEVICE} ports, got ${Array.isArray(iss.input) ? iss.input.length : '?'}` })
      .optional()
      .describe(`one backend per port: ${PORT_FORMS} on 127.0.0.1 (default loopback)`),
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
