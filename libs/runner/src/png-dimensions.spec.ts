import { pngDimensions } from './png-dimensions';

describe('pngDimensions', () => {
  const header = (width: number, height: number, chunk = 'IHDR') => {
    const size = Buffer.alloc(8);
    size.writeUInt32BE(width, 0);
    size.writeUInt32BE(height, 4);
    return Buffer.concat([
      Buffer.from('89504e470d0a1a0a0000000d', 'hex'),
      Buffer.from(chunk, 'latin1'),
      size,
    ]);
  };

  it('reads width and height from the IHDR chunk', () => {
    expect(pngDimensions(header(800, 600))).toEqual({ width: 800, height: 600 });
  });

  it('answers null for what does not start as a PNG does', () => {
    expect(pngDimensions(Buffer.from('GIF89a and more bytes than that'))).toBeNull();
    expect(pngDimensions(header(800, 600).subarray(0, 20))).toBeNull();
    expect(pngDimensions(header(800, 600, 'IDAT'))).toBeNull();
    expect(pngDimensions(header(0, 600))).toBeNull();
  });
});
