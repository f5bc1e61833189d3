const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Bytes up to the end of the IHDR chunk's width and height fields. */
const IHDR_END = 24;

/**
 * Width and height of a PNG, from its IHDR chunk (the first, by the format's rule);
 * null when the bytes do not start as a PNG does. The image is otherwise not decoded:
 * this tells a figure from something else, not a sound image from a broken one.
 */
export function pngDimensions(data: Buffer): { width: number; height: number } | null {
  if (data.length < IHDR_END || !data.subarray(0, 8).equals(PNG_SIGNATURE)) return null;
  if (data.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = data.readUInt32BE(16);
  const height = data.readUInt32BE(20);
  return width > 0 && height > 0 ? { width, height } : null;
}
