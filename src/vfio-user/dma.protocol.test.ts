// DMA_MAP and DMA_UNMAP over a real socket: memfd-backed mappings the device reads synchronously, fd-less
// mappings reached by DMA_READ/DMA_WRITE messages, and the errnos of bad requests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as native from '../native/index.js';
import { Errno } from '../uapi/errno.js';
import { vfioDmaRw, vfioDmaRwAsync } from '../vfio/dma-access.js';
import { RawClient, openFdCount, testBed, waitFor } from './server.test-kit.js';
import { VfioUserClient } from './client.js';
import { VFIO_USER_DMA_MAP, VFIO_USER_DMA_UNMAP, encodeCommand, encodeDmaMap, encodeDmaUnmap } from './protocol/index.js';

const MiB = 1024 * 1024;

test('DMA_MAP with a memfd: the device reads and writes client memory; DMA_UNMAP drops it', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const mem = native.memfdCreate('guest-ram', MiB);
  t.after(() => native.close(mem));
  const view = native.mmap(mem, 0, MiB, true);
  t.after(() => native.munmap(view));
  new Uint8Array(view).set(Buffer.from('hello'), 4096);
  await c.dmaMap({ iova: 0x100000n, size: BigInt(MiB), fd: mem });
  const dev = bed.devices[0]!;
  const buf = new Uint8Array(5);
  vfioDmaRw(dev, 0x101000n, buf, false);
  assert.equal(Buffer.from(buf).toString(), 'hello');
  vfioDmaRw(dev, 0x100010n, Buffer.from('DMA!'), true);
  assert.equal(Buffer.from(new Uint8Array(view, 16, 4)).toString(), 'DMA!');
  await vfioDmaRwAsync(dev, 0x101000n, buf, false);
  assert.equal(Buffer.from(buf).toString(), 'hello', 'the async path takes the sync one for fd-backed memory');
  await c.dmaUnmap({ iova: 0x100000n, size: BigInt(MiB) });
  assert.throws(() => vfioDmaRw(dev, 0x101000n, buf, false), { code: 'ENOENT' });
  await assert.rejects(c.dmaUnmap({ iova: 0x100000n, size: BigInt(MiB) }), { code: 'ENOENT' });
});

test('DMA_MAP without an fd: the sync path is EFAULT, vfioDmaRwAsync goes by DMA_READ/DMA_WRITE', async (t) => {
  for (const layout of ['qemu', 'spec'] as const) {
    const bed = await testBed(1, { dmaLayout: layout });
    const c = await VfioUserClient.connect(bed.path(), { dmaLayout: layout });
    const guest = new Uint8Array(8192);
    guest.set(Buffer.from('message-backed'), 100);
    c.registerDmaMemory(0x40000n, guest);
    await c.dmaMap({ iova: 0x40000n, size: 8192n });
    const dev = bed.devices[0]!;
    const buf = new Uint8Array(14);
    assert.throws(() => vfioDmaRw(dev, 0x40064n, buf, false), { code: 'EFAULT' });
    await vfioDmaRwAsync(dev, 0x40064n, buf, false);
    assert.equal(Buffer.from(buf).toString(), 'message-backed', layout);
    await vfioDmaRwAsync(dev, 0x41000n, Buffer.from('written'), true);
    assert.equal(Buffer.from(guest.subarray(4096, 4103)).toString(), 'written');
    // Client requests interleave with the server's requests and are not confused with them.
    const [, info] = await Promise.all([vfioDmaRwAsync(dev, 0x40000n, new Uint8Array(8192), false), c.getDeviceInfo()]);
    assert.equal(info.numRegions, 9);
    await c.close();
    await bed.close();
  }
  void t;
});

test('a pending DMA_READ fails with ECONNRESET when the client goes away', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  await raw.handshake();
  raw.send(encodeCommand(1, VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x1000n, size: 4096n })));
  assert.equal((await raw.next()).header.errorNo, 0);
  const p = vfioDmaRwAsync(bed.devices[0]!, 0x1000n, new Uint8Array(4), false);
  const req = await raw.next();
  assert.equal(req.header.cmd, 11);
  raw.close();
  await assert.rejects(p, { code: 'ECONNRESET' });
});

test('DMA_MAP errors: bad flags, two fds, unaligned size, overlap; DMA_UNMAP bitmap EOPNOTSUPP', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const mem = native.memfdCreate('m', 65536);
  const before = openFdCount();
  const send = async (cmd: number, payload: Buffer, fds?: number[]): Promise<number> => {
    raw.send(encodeCommand(9, cmd, payload), fds);
    return (await raw.next()).header.errorNo;
  };
  assert.equal(await send(VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 8, offset: 0n, address: 0x10000n, size: 4096n })), Errno.EINVAL);
  assert.equal(await send(VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x10000n, size: 4096n }), [mem, mem]), Errno.EINVAL);
  assert.equal(await send(VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x10000n, size: 100n }), [mem]), Errno.EINVAL);
  assert.equal(await send(VFIO_USER_DMA_MAP, Buffer.alloc(16)), Errno.EINVAL);
  assert.equal(await send(VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x10000n, size: 65536n }), [mem]), 0);
  assert.equal(await send(VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x18000n, size: 4096n }), [mem]), Errno.EEXIST);
  const bitmap = encodeDmaUnmap({ flags: 1, address: 0x10000n, size: 65536n, bitmap: { pgsize: 4096n, size: 2n } });
  assert.equal(await send(VFIO_USER_DMA_UNMAP, bitmap), Errno.EOPNOTSUPP);
  assert.equal(await send(VFIO_USER_DMA_UNMAP, encodeDmaUnmap({ flags: 2, address: 0n, size: 0n })), 0);
  native.close(mem);
  await waitFor(() => openFdCount() === before - 1, 2000, 'every received fd closed');
});

test('an fd-less DMA_UNMAP and a DMA_MAP with an fd sent back to back: the fd is the MAP\'s (QEMU\'s boot sequence)', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const raw = new RawClient(bed.path());
  t.after(() => raw.close());
  await raw.handshake();
  const mem = native.memfdCreate('guest-ram', 2 * 4096);
  t.after(() => native.close(mem));
  raw.send(encodeCommand(1, VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 0n, address: 0x10000n, size: 8192n })), [mem]);
  assert.equal((await raw.next()).header.errorNo, 0);
  // Two sendmsg calls before the server reads: one recvmsg returns both, the fd with the second.
  raw.send(encodeCommand(2, VFIO_USER_DMA_UNMAP, encodeDmaUnmap({ flags: 0, address: 0x10000n, size: 8192n })));
  raw.send(encodeCommand(3, VFIO_USER_DMA_MAP, encodeDmaMap({ flags: 3, offset: 4096n, address: 0x10000n, size: 4096n })), [mem]);
  const r2 = await raw.next();
  const r3 = await raw.next();
  assert.deepEqual([r2.header.msgId, r2.header.errorNo], [2, 0], 'the UNMAP carries no fd');
  assert.deepEqual([r3.header.msgId, r3.header.errorNo], [3, 0], 'the MAP got its fd');
  native.pwrite(mem, Buffer.from('second page'), 4096);
  const buf = new Uint8Array(11);
  vfioDmaRw(bed.devices[0]!, 0x10000n, buf, false);
  assert.equal(Buffer.from(buf).toString(), 'second page');
});

test('DMA_MAP past the end of its file is EINVAL; a file that can shrink is read through the file, so a truncate is EFAULT, not SIGBUS', async (t) => {
  const bed = await testBed();
  t.after(() => bed.close());
  const c = await VfioUserClient.connect(bed.path());
  t.after(() => c.close());
  const dev = bed.devices[0]!;
  const small = native.memfdCreate('small', 4096);
  t.after(() => native.close(small));
  await assert.rejects(c.dmaMap({ iova: 0x100000n, size: BigInt(MiB), fd: small }), { code: 'EINVAL' });
  await assert.rejects(c.dmaMap({ iova: 0x100000n, size: 4096n, offset: 4096n, fd: small }), { code: 'EINVAL' });
  // Unsealed (memory-backend-file): mapped, then shrunk by the client under the device's feet.
  const file = native.memfdCreate('shrinks', 2 * 4096);
  t.after(() => native.close(file));
  native.pwrite(file, Buffer.from('before'), 4096);
  await c.dmaMap({ iova: 0x200000n, size: 2n * 4096n, fd: file });
  const buf = new Uint8Array(6);
  vfioDmaRw(dev, 0x201000n, buf, false);
  assert.equal(Buffer.from(buf).toString(), 'before');
  vfioDmaRw(dev, 0x200010n, Buffer.from('DMA!'), true);
  const seen = Buffer.alloc(4);
  native.pread(file, seen, 16);
  assert.equal(seen.toString(), 'DMA!', 'device writes reach the client file');
  native.ftruncate(file, 4096);
  assert.throws(() => vfioDmaRw(dev, 0x201000n, buf, false), { code: 'EFAULT' });
  assert.throws(() => vfioDmaRw(dev, 0x201000n, buf, true), { code: 'EFAULT' });
  assert.equal((await c.regionRead(7, 0, 2)).readUInt16LE(0), 0x1b36, 'the server is alive and answering');
  // Sealed against shrinking (memory-backend-memfd's default): mapped into the process.
  const sealed = native.memfdCreate('sealed', 4096, true);
  t.after(() => native.close(sealed));
  native.addSeals(sealed, native.F_SEAL_SHRINK | native.F_SEAL_GROW);
  native.pwrite(sealed, Buffer.from('sealed'), 0);
  await c.dmaMap({ iova: 0x300000n, size: 4096n, fd: sealed });
  vfioDmaRw(dev, 0x300000n, buf, false);
  assert.equal(Buffer.from(buf).toString(), 'sealed');
  assert.throws(() => native.ftruncate(sealed, 0), /EPERM/, 'the seal holds: the mapping cannot fault');
});
