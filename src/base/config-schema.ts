// zod building blocks for `vfio-ts serve` config entries that driver descriptors and the CLI share: each one's
// error says what was expected and what was got, so a message can name its key and stand on its own.
import { resolve } from 'node:path';
import { z } from 'zod';

/** sockaddr_un.sun_path holds 108 bytes including the terminating NUL. */
export const UNIX_PATH_MAX = 107;

/** How a value reads in a message: `the string "x"`, `a list`, `null`, `number`. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'string' ? `the string ${JSON.stringify(v)}` : typeof v;
}

/** `is required (hint)` for a missing key, `orElse(input)` for anything else. */
function requiredOr(hint: string, orElse: (input: unknown) => string): (iss: { input?: unknown }) => string {
  return (iss) => (iss.input === undefined ? `is required${hint === '' ? '' : ` (${hint})`}` : orElse(iss.input));
}

/** An integer in [min, max]. */
export function intRange(min: number, max: number, hint = ''): z.ZodInt {
  const msg = requiredOr(hint, (v) => `must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`);
  return z.int({ error: msg }).min(min, { error: msg }).max(max, { error: msg });
}

/** A string with at least one character. */
export function nonEmptyString(hint = ''): z.ZodString {
  const msg = requiredOr(hint, (v) => `must be a non-empty string, got ${JSON.stringify(v)}`);
  return z.string({ error: msg }).min(1, { error: msg });
}

/** A list of `item`. */
export function listOf<T extends z.ZodType>(item: T, hint = ''): z.ZodArray<T> {
  return z.array(item, { error: requiredOr(hint, (v) => `must be a list, got ${typeName(v)}`) });
}

/** An object with exactly the keys of `shape` (the config's unknown keys are reported before parsing). */
export function strictObjectOf<S extends z.ZodRawShape>(shape: S, hint = ''): z.ZodObject<S, z.core.$strict> {
  return z.strictObject(shape, { error: requiredOr(hint, (v) => `must be an object, got ${typeName(v)}`) });
}

/** A path, resolved against `baseDir`, that is used as a UNIX socket address (so it must fit sun_path). */
export function socketPath(baseDir: string): z.ZodPipe<z.ZodString, z.ZodTransform<string, string>> {
  const msg = requiredOr('', (v) => `must be a non-empty path, got ${JSON.stringify(v)}`);
  return z
    .string({ error: msg })
    .min(1, { error: msg })
    .transform((v, ctx) => {
      const abs = resolve(baseDir, v);
      if (Buffer.byteLength(abs) > UNIX_PATH_MAX) {
        ctx.issues.push({ code: 'custom', input: v, message: `${abs} is longer than a UNIX socket path may be (${UNIX_PATH_MAX} bytes)` });
      }
      return abs;
    });
}

/** A file or directory path, resolved against `baseDir`. */
export function resolvedPath(baseDir: string): z.ZodPipe<z.ZodString, z.ZodTransform<string, string>> {
  const msg = requiredOr('', (v) => `must be a non-empty path, got ${JSON.stringify(v)}`);
  return z
    .string({ error: msg })
    .min(1, { error: msg })
    .transform((v) => resolve(baseDir, v));
}
