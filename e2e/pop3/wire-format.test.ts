/**
 * The RETR/TOP encoder against a plain line-by-line model of RFC 1939, fed in
 * random chunk sizes so CRLF pairs, dots and the header break fall on chunk
 * boundaries; and the dot-stuffer that RETR uses for files already in wire
 * form (CRLF) against the same model.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DotStuffer, WireEncoder } from '../../electron/service/pop3/wire-format.js';
import { Random, seedFrom } from '../hostile/support.js';

/** The model: lines end at LF (a CR just before it belongs to it); lone CR is data; stuff dots; TOP cuts after the blank line. */
function model(stored: string, bodyLines?: number): string {
  let lines = stored === '' ? [] : stored.split('\n');
  const endsWithLf = stored.endsWith('\n');
  if (endsWithLf) lines.pop();
  lines = lines.map((l, i) => (l.endsWith('\r') && (i < lines.length - 1 || endsWithLf) ? l.slice(0, -1) : l));
  if (bodyLines !== undefined) {
    const blank = lines.indexOf('');
    if (blank >= 0) lines = lines.slice(0, blank + 1 + bodyLines);
  }
  return lines.map((l) => `${l.startsWith('.') ? '.' : ''}${l}\r\n`).join('') + '.\r\n';
}

function encode(stored: Buffer, bodyLines: number | undefined, chunkSize: () => number): string {
  const encoder = new WireEncoder(bodyLines);
  const out: Buffer[] = [];
  for (let i = 0; i < stored.length && !encoder.done; ) {
    const n = chunkSize();
    out.push(encoder.push(stored.subarray(i, i + n)));
    i += n;
  }
  out.push(encoder.end());
  return Buffer.concat(out).toString('latin1');
}

describe('POP3 wire encoding', () => {
  it('matches the model for random messages split at random points', () => {
    const pieces = ['a', 'b c', '.', '..', '\r', '\n', '\r\n', '\n\n', ' '];
    let seed = 12345;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 20_000; round++) {
      let text = '';
      for (let k = random(30); k > 0; k--) text += pieces[random(pieces.length)];
      const bodyLines = random(2) === 0 ? undefined : random(4);
      const got = encode(Buffer.from(text, 'latin1'), bodyLines, () => 1 + random(5));
      assert.equal(got, model(text, bodyLines), `message ${JSON.stringify(text)}, TOP ${bodyLines}`);
    }
  });

  it('stuffs a message in wire form like the model, with "\\n" and "." split across chunks, and copies nothing without dot lines', () => {
    const random = new Random(seedFrom('WIRE_FORMAT_SEED', 'dot-stuffer'));
    // Pieces of CRLF text only: what the store writes (a lone CR is data, never before an LF of its own).
    const pieces = ['a', 'b c', '.', '..', '\r\n', '.\r\n', '\r\n.', ' ', '\rx'];
    for (let round = 0; round < 20_000; round++) {
      let text = '';
      for (let k = random.int(0, 30); k > 0; k--) text += random.pick(pieces);
      if (text !== '' && !text.endsWith('\r\n')) text += '\r\n';
      const stored = Buffer.from(text, 'latin1');
      const stuffer = new DotStuffer();
      const out: Buffer[] = [];
      const scratch = Buffer.alloc(128);
      for (let i = 0; i < stored.length; ) {
        const n = random.int(1, 6);
        // A scratch buffer sometimes, as RETR passes one: the result must not depend on it.
        const piece = stuffer.push(stored.subarray(i, i + n), random.chance(0.5) ? scratch : undefined);
        out.push(Buffer.from(piece));
        i += n;
      }
      out.push(stuffer.end());
      assert.equal(Buffer.concat(out).toString('latin1'), model(text), `message ${JSON.stringify(text)}`);
    }
    const plain = Buffer.from('Subject: no dots\r\n\r\nbody. with. dots.\r\n');
    assert.equal(new DotStuffer().push(plain), plain, 'a chunk without dot lines is passed on as it is, not copied');
  });

  it('ends a message without a final line end with CRLF before the terminator', () => {
    assert.equal(encode(Buffer.from('a\n.b'), undefined, () => 100), 'a\r\n..b\r\n.\r\n');
    assert.equal(encode(Buffer.from(''), undefined, () => 100), '.\r\n');
    assert.equal(encode(Buffer.from('x\r'), undefined, () => 1), 'x\r\r\n.\r\n');
  });
});
