/**
 * Mutations for the fuzz tests: byte-level damage to a valid stream, and
 * random JSON values of every shape, all from a seeded Random so a failing
 * case can be replayed.
 */

import type { Random } from './support.js';

/** Bytes that parsers tend to trip over. */
const NASTY_BYTES = [0x00, 0x0a, 0x0d, 0x20, 0x09, 0x2e, 0x7f, 0x80, 0xc0, 0xff, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d];

/** Text that stands in for a number or a word in a command line. */
export const NASTY_TOKENS = [
  '0',
  '-1',
  '00000000001',
  '4294967297',
  '99999999999999999999999',
  '1e9',
  '0x10',
  '1.5',
  '+1',
  ' ',
  '\t',
  '\u00e9',
  '\u{1f4e8}',
  '%s%s%n',
  '../../etc/passwd',
  'NaN',
  '',
];

/** Applies one to `rounds` random mutations to a byte stream. */
export function mutateBytes(random: Random, input: Buffer, rounds = random.int(1, 4)): Buffer {
  let data = input;
  for (let r = 0; r < rounds; r++) {
    const at = data.length === 0 ? 0 : random.int(0, data.length - 1);
    switch (random.int(0, 8)) {
      case 0: {
        // flip a bit
        if (data.length === 0) break;
        const copy = Buffer.from(data);
        copy[at] = (copy[at] as number) ^ (1 << random.int(0, 7));
        data = copy;
        break;
      }
      case 1: // insert a nasty byte
        data = Buffer.concat([data.subarray(0, at), Buffer.from([random.pick(NASTY_BYTES)]), data.subarray(at)]);
        break;
      case 2: // insert random bytes
        data = Buffer.concat([data.subarray(0, at), random.bytes(random.int(1, 64)), data.subarray(at)]);
        break;
      case 3: // delete a range
        data = Buffer.concat([data.subarray(0, at), data.subarray(Math.min(data.length, at + random.int(1, 32)))]);
        break;
      case 4: {
        // duplicate a range, sometimes many times
        const piece = data.subarray(at, Math.min(data.length, at + random.int(1, 64)));
        const times = random.chance(0.1) ? random.int(10, 500) : random.int(1, 3);
        data = Buffer.concat([data.subarray(0, at), ...Array.from({ length: times }, () => piece), data.subarray(at)]);
        break;
      }
      case 5: // truncate
        data = data.subarray(0, at);
        break;
      case 6: // a long run of one byte (a long argument, a long line)
        data = Buffer.concat([data.subarray(0, at), Buffer.alloc(random.int(100, 3000), random.pick([0x41, 0x20, 0x2e, 0x30])), data.subarray(at)]);
        break;
      case 7: // a nasty token
        data = Buffer.concat([data.subarray(0, at), Buffer.from(random.pick(NASTY_TOKENS)), data.subarray(at)]);
        break;
      default: {
        // change line ends: bare CR, bare LF, or CRLF CRLF
        const text = data.toString('latin1');
        const to = random.pick(['\r', '\n', '\r\n\r\n', '\n\r']);
        data = Buffer.from(text.replace(/\r\n/g, () => (random.chance(0.5) ? to : '\r\n')), 'latin1');
      }
    }
  }
  return data;
}

/** Splits data into random pieces, as a network may deliver it. */
export function randomPieces(random: Random, data: Buffer): Buffer[] {
  const pieces: Buffer[] = [];
  let at = 0;
  while (at < data.length) {
    const size = random.chance(0.2) ? random.int(1, 3) : random.int(1, Math.max(1, data.length));
    pieces.push(data.subarray(at, at + size));
    at += size;
  }
  return pieces;
}

/** A random JSON value of any shape, nested up to `depth`. */
export function randomJson(random: Random, depth = 3): unknown {
  switch (random.int(0, depth <= 0 ? 5 : 8)) {
    case 0:
      return null;
    case 1:
      return random.chance(0.5);
    case 2:
      return random.pick([0, -1, 1, 1.5, 2 ** 53, -(2 ** 53) - 2, 1e308, -0, 7, 65536, 32001]);
    case 3:
      return random.pick(NASTY_TOKENS);
    case 4:
      return random.pick(['example.com', 'a@example.com', 'x'.repeat(random.int(0, 400)), '..', 'a\u0000b', 'constructor', '__proto__']);
    case 5:
      return String.fromCharCode(...random.bytes(random.int(0, 20)));
    case 6:
      return Array.from({ length: random.int(0, 5) }, () => randomJson(random, depth - 1));
    case 7: {
      const out: Record<string, unknown> = {};
      for (let i = random.int(0, 4); i > 0; i--) {
        const key = random.pick(['domain', 'address', 'password', 'target', 'targets', 'reason', 'patch', 'socket', 'port', '__proto__', 'constructor', 'x']);
        // An own property even for "__proto__", as JSON.parse makes it: that is what arrives on the wire.
        Object.defineProperty(out, key, { value: randomJson(random, depth - 1), enumerable: true, configurable: true, writable: true });
      }
      return out;
    }
    default: {
      // deep nesting
      const levels = random.int(100, 3000);
      return JSON.parse('['.repeat(levels) + ']'.repeat(levels));
    }
  }
}
