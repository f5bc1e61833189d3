import { readFileSync } from 'node:fs';
import { CLIENT_TYPES_PATH, generateClientTypes } from '../../scripts/client-types';

describe('TypeScript client types (clients/typescript/src/generated/api.ts)', () => {
  it('are what the live OpenAPI document generates', async () => {
    const generated = await generateClientTypes();
    const checkedIn = readFileSync(CLIENT_TYPES_PATH, 'utf8');
    if (generated !== checkedIn) {
      throw new Error(
        `${CLIENT_TYPES_PATH} differs from what the OpenAPI document generates: ` +
          'run `npm run client:generate` and commit the result.',
      );
    }
  });
});
