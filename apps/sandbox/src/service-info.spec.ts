import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICE_VERSION } from './service-info';

describe('service info', () => {
  it('states the version package.json declares', () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '../../../package.json'), 'utf8')) as {
      version: string;
    };
    expect(SERVICE_VERSION).toBe(manifest.version);
  });
});
