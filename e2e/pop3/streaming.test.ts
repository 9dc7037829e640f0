/**
 * A 100 MB message streams through RETR with bounded memory: the server reads
 * the file only as fast as the client takes the bytes, and the bytes arrive
 * exactly, dot-stuffed.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { RawClient, seedMailbox, useStoreAndServer } from './support.js';

const LINES = 1_000_000;
const LINES_PER_CHUNK = 1000;

/** Line i of the big message; every 1000th starts with a dot. */
function line(i: number): string {
  const text = `${i % 1000 === 0 ? '.' : 'L'}${String(i).padStart(9, '0')} `;
  return text + 'x'.repeat(99 - text.length);
}

function* bigMessage(form: 'stored' | 'wire'): Generator<Buffer> {
  const eol = form === 'wire' ? '\r\n' : '\n';
  yield Buffer.from(`Subject: big${eol}${eol}`);
  for (let start = 0; start < LINES; start += LINES_PER_CHUNK) {
    let text = '';
    for (let i = start; i < start + LINES_PER_CHUNK; i++) {
      const l = line(i);
      text += (form === 'wire' && l.startsWith('.') ? `.${l}` : l) + eol;
    }
    yield Buffer.from(text);
  }
}

describe('POP3 streaming', () => {
  const fx = useStoreAndServer();

  it('sends a 100 MB message byte-exact, reading no faster than a paused client takes it', async () => {
    await seedMailbox(fx.t.store, 'big@stream.example', 'pw-big');
    await fx.t.store.deliver('big@stream.example', Readable.from(bigMessage('stored')));
    const expected = createHash('sha256');
    let expectedLength = 0;
    for (const chunk of bigMessage('wire')) {
      expected.update(chunk);
      expectedLength += chunk.length;
    }
    expected.update('.\r\n');
    expectedLength += 3;
    const unstuffedSize = expectedLength - 3 - LINES / 1000;

    const c = await RawClient.login(fx.srv.port, 'big@stream.example', 'pw-big');
    assert.equal(await c.command('LIST 1'), `+OK 1 ${unstuffedSize}`);
    c.send('RETR 1\r\n');
    assert.equal(await c.line(), `+OK ${unstuffedSize} octets`);

    // The client stops reading; a server without backpressure would now pull the whole file into memory.
    c.socket.pause();
    const baseline = process.memoryUsage().arrayBuffers;
    // A fixed window, not a wait for a condition: what is tested is that nothing happens in it (the server stops
    // reading the file once the socket is full); half a second is ample for a server without backpressure to read it all.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const whilePaused = process.memoryUsage().arrayBuffers - baseline;
    assert.ok(whilePaused < 32 * 1024 * 1024, `memory grew by ${whilePaused} bytes while the client paused`);

    const hash = createHash('sha256');
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const leftover = c.handOver();
      const take = (chunk: Buffer): void => {
        hash.update(chunk);
        received += chunk.length;
        if (received >= expectedLength) {
          c.socket.off('data', take);
          resolve();
        }
      };
      c.socket.once('close', () => reject(new Error(`closed after ${received} bytes`)));
      if (leftover.length > 0) take(leftover);
      if (received < expectedLength) {
        c.socket.on('data', take);
        c.socket.resume();
      }
    });
    assert.equal(received, expectedLength);
    assert.equal(hash.digest('hex'), expected.digest('hex'));
    c.destroy();
  });
});
