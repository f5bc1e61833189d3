import { MAX_INVENTORY_BYTES, parseImageInventory } from './image-inventory';

const answer = (value: unknown) => Buffer.from(JSON.stringify(value));

describe('parseImageInventory', () => {
  it('reads the probe’s answer, with the id of the image it ran', () => {
    const inventory = parseImageInventory(
      answer({
        python: '3.11.2',
        packages: [{ name: 'numpy', version: '1.24.2' }],
        modules: ['json', 'numpy'],
      }),
      'sha256:1',
    );
    expect(inventory).toEqual({
      imageId: 'sha256:1',
      pythonVersion: '3.11.2',
      packages: [{ name: 'numpy', version: '1.24.2' }],
      modules: ['json', 'numpy'],
    });
  });

  it('refuses what the probe does not write: no JSON, another shape, or too much', () => {
    expect(() => parseImageInventory(Buffer.from('Traceback'), 'x')).toThrow('no JSON');
    expect(() => parseImageInventory(answer({ python: '3.11.2', modules: [] }), 'x')).toThrow(
      'unexpected inventory',
    );
    expect(() =>
      parseImageInventory(answer({ python: '', packages: [], modules: [] }), 'x'),
    ).toThrow('unexpected inventory');
    expect(() => parseImageInventory(Buffer.alloc(MAX_INVENTORY_BYTES + 1, 0x20), 'x')).toThrow(
      `over ${MAX_INVENTORY_BYTES} bytes`,
    );
  });
});
