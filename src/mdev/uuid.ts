// UUID text as the mdev `create` file takes it (lib/uuid.c uuid_is_valid/guid_parse, "%pUl" printing).
import { VfioError } from '../uapi/errno.js';

/** UUID_STRING_LEN: 36 characters, no terminator. */
export const UUID_STRING_LEN = 36;

const HYPHENS = new Set([8, 13, 18, 23]);

/** uuid_is_valid(): hex digits with hyphens at 8, 13, 18 and 23; only the first 36 characters are looked at. */
export function uuidIsValid(text: string): boolean {
  if (text.length < UUID_STRING_LEN) return false;
  for (let i = 0; i < UUID_STRING_LEN; i++) {
    const c = text.charCodeAt(i);
    if (HYPHENS.has(i)) {
      if (c !== 0x2d) return false;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))) {
      return false;
    }
  }
  return true;
}

/**
 * create_store()'s parsing: 36 or 37 characters (a trailing newline, or any one character, is allowed), a
 * valid UUID; returns it in the kernel's `%pUl` form (lower case), which is also the device name. EINVAL otherwise.
 */
export function parseMdevUuid(text: string): string {
  if (text.length < UUID_STRING_LEN || text.length > UUID_STRING_LEN + 1) {
    throw new VfioError('EINVAL', `mdev uuid must be ${UUID_STRING_LEN} characters`);
  }
  if (!uuidIsValid(text)) throw new VfioError('EINVAL', 'malformed mdev uuid');
  return text.slice(0, UUID_STRING_LEN).toLowerCase();
}
