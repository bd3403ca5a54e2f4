// How a driver reads what its device was created with (an mdev's params): validated by the driver's own zod
// schema at the point of use, so init sees typed values, and a bad value fails the create with EINVAL.
import type { z } from 'zod';
import { VfioError } from '../uapi/errno.js';

/** `raw` (absent: `{}`) parsed by `schema`; EINVAL naming the first offending key otherwise. */
export function parseParams<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const key = issue === undefined ? '' : issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  throw new VfioError('EINVAL', `${what} params${key}: ${issue?.message ?? 'invalid'}`);
}
