import { InvalidConfigError, loadConfig } from './app-config';

describe('CORS_ORIGINS', () => {
  it('is off unless set', () => {
    expect(loadConfig({}).corsOrigins).toEqual([]);
  });

  it('takes `*`, or origins separated by commas, in lower case', () => {
    expect(loadConfig({ CORS_ORIGINS: '*' }).corsOrigins).toBe('*');
    expect(
      loadConfig({
        CORS_ORIGINS: 'https://App.Example.com, http://localhost:3000,http://[::1]:8080',
      }).corsOrigins,
    ).toEqual(['https://app.example.com', 'http://localhost:3000', 'http://[::1]:8080']);
  });

  it.each([
    'app.example.com',
    'https://app.example.com/',
    'https://app.example.com/path',
    'ftp://files.example.com',
    '*,https://app.example.com',
    'https://a.example,,https://b.example',
  ])('refuses %s, naming the variable', (value) => {
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(InvalidConfigError);
    expect(() => loadConfig({ CORS_ORIGINS: value })).toThrow(/CORS_ORIGINS=.*must be \* or/);
  });
});
