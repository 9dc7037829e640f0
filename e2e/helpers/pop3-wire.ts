/**
 * A stored message as POP3 sends it, for tests that compare bytes with what
 * a client received.
 */

/** Each LF not after a CR becomes CRLF, and a last line without a line end gets one (RFC 1939 counts it). */
export function popWireForm(disk: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 0; i < disk.length; i++) {
    const b = disk[i] as number;
    if (b === 0x0a && (i === 0 || disk[i - 1] !== 0x0d)) out.push(0x0d);
    out.push(b);
  }
  if (disk.length > 0 && disk[disk.length - 1] !== 0x0a) out.push(0x0d, 0x0a);
  return Buffer.from(out);
}
