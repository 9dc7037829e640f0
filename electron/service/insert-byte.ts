/**
 * Inserts one byte before each of the given offsets of a chunk, in one pass.
 *
 * The two line passes over mail share it: delivery puts a CR before each bare
 * LF, RETR puts a "." before each line that starts with one.
 */
export function insertByteBefore(chunk: Buffer, offsets: readonly number[], byte: number, scratch?: Buffer): Buffer {
  const len = chunk.length;
  const out = scratch !== undefined && scratch.length >= len + offsets.length ? scratch : Buffer.allocUnsafe(len + offsets.length);
  let from = 0;
  let o = 0;
  for (const at of offsets) {
    o += chunk.copy(out, o, from, at);
    out[o++] = byte;
    from = at;
  }
  o += chunk.copy(out, o, from, len);
  return out.subarray(0, o);
}
