// MessageBacking without a socket: DMA_READ/DMA_WRITE requests in chunks of max_data_xfer_size at the client's
// addresses, the mapping's permissions, and EFAULT on the synchronous path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VfioError } from '../uapi/errno.js';
import { MessageBacking, type DmaRequester } from './message-dma.js';
import {
  VFIO_USER_DMA_READ,
  VFIO_USER_DMA_WRITE,
  decodeDmaAccess,
  decodeDmaWriteRequest,
  encodeDmaReadReply,
  encodeDmaWriteReply,
} from './protocol/index.js';

/** A client holding 64 KiB at address 0x40000, answering as a vfio-user client would (the spec layout). */
class FakeClient implements DmaRequester {
  readonly memory = new Uint8Array(0x10000);
  readonly seen: string[] = [];

  async request(cmd: number, payload: Uint8Array): Promise<Buffer> {
    const p = Buffer.from(payload);
    if (cmd === VFIO_USER_DMA_READ) {
      const { address, count } = decodeDmaAccess(p, 1 << 20);
      this.seen.push(`read 0x${address.toString(16)}+${count}`);
      const at = Number(address - 0x40000n);
      return encodeDmaReadReply(address, this.memory.subarray(at, at + count));
    }
    assert.equal(cmd, VFIO_USER_DMA_WRITE);
    const { address, data } = decodeDmaWriteRequest(p, 1 << 20);
    this.seen.push(`write 0x${address.toString(16)}+${data.length}`);
    this.memory.set(data, Number(address - 0x40000n));
    return encodeDmaWriteReply(address, data.length);
  }
}

const spec = { address: 0x40000n, size: 0x10000, maxDataXferSize: 4096, layout: 'spec' as const };

test('MessageBacking: transfers go as DMA_READ/DMA_WRITE chunks of max_data_xfer_size at the client address', async () => {
  const client = new FakeClient();
  const b = new MessageBacking(client, { ...spec, prot: { read: true, write: true } });
  const src = new Uint8Array(10000).map((_, i) => i & 0xff);
  await b.writeAsync(0x100, src);
  assert.deepEqual(client.seen, ['write 0x40100+4096', 'write 0x41100+4096', 'write 0x42100+1808']);
  assert.deepEqual(client.memory.subarray(0x100, 0x100 + 10000), src);
  const dst = new Uint8Array(5000);
  await b.readAsync(0x1100, dst);
  assert.deepEqual(client.seen.slice(3), ['read 0x41100+4096', 'read 0x42100+904']);
  assert.deepEqual(dst, src.subarray(0x1000, 0x1000 + 5000));
  assert.throws(() => b.read(), (e) => VfioError.is(e, 'EFAULT'), 'the CPU cannot read it synchronously');
  assert.throws(() => b.write(), (e) => VfioError.is(e, 'EFAULT'));
  await assert.rejects(b.readAsync(0xfffe, new Uint8Array(4)), (e) => VfioError.is(e, 'EFAULT'), 'past the mapping');
});

test('MessageBacking: a read-only mapping refuses DMA writes, a write-only one DMA reads (EPERM), before any message', async () => {
  const client = new FakeClient();
  const ro = new MessageBacking(client, { ...spec, prot: { read: true, write: false } });
  const wo = new MessageBacking(client, { ...spec, prot: { read: false, write: true } });
  await assert.rejects(ro.writeAsync(0, new Uint8Array(4)), (e) => VfioError.is(e, 'EPERM'));
  await assert.rejects(wo.readAsync(0, new Uint8Array(4)), (e) => VfioError.is(e, 'EPERM'));
  assert.deepEqual(client.seen, []);
  await ro.readAsync(0, new Uint8Array(4));
  await wo.writeAsync(0, new Uint8Array(4));
  assert.equal(client.seen.length, 2);
});
