// The text parsers of the mdev sysfs files: UUIDs for `create`, kstrtoul for `remove`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { parseMdevUuid, uuidIsValid } from './uuid.js';
import { kstrtoul } from '../base/kstrtox.js';

test('parseMdevUuid: 36 or 37 characters, hex with hyphens at 8/13/18/23, lower-cased', () => {
  const u = 'A1B2C3D4-E5F6-4789-8ABC-DEF012345678';
  assert.equal(parseMdevUuid(u), u.toLowerCase());
  assert.equal(parseMdevUuid(`${u}\n`), u.toLowerCase());
  assert.equal(parseMdevUuid(`${u}x`), u.toLowerCase(), 'the 37th character is not looked at, as guid_parse');
  for (const bad of [u.slice(1), `${u}\n\n`, u.replace('-', '_'), `g${u.slice(1)}`, ` ${u.slice(1)}`]) {
    assert.throws(() => parseMdevUuid(bad), (e: unknown) => VfioError.is(e, 'EINVAL'), bad);
  }
  assert.equal(uuidIsValid('00000000-0000-0000-0000-000000000000'), true);
});

test('kstrtoul: base 0 like the kernel, one trailing newline, EINVAL and ERANGE', () => {
  assert.equal(kstrtoul('1'), 1n);
  assert.equal(kstrtoul('1\n'), 1n);
  assert.equal(kstrtoul('+7'), 7n);
  assert.equal(kstrtoul('0x1F'), 31n);
  assert.equal(kstrtoul('010'), 8n);
  assert.equal(kstrtoul('0'), 0n);
  assert.equal(kstrtoul('18446744073709551615'), 0xffff_ffff_ffff_ffffn);
  for (const bad of ['', '\n', 'y', '1 ', '-1', '0x', '08', '1\n\n']) {
    assert.throws(() => kstrtoul(bad), (e: unknown) => VfioError.is(e, 'EINVAL'), JSON.stringify(bad));
  }
  assert.throws(() => kstrtoul('18446744073709551616'), (e: unknown) => VfioError.is(e, 'ERANGE'));
});
