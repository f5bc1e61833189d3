import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getMetadataStorage } from 'class-validator';
import { EnvironmentVariables } from './environment-variables';
import {
  GENERATED_END,
  GENERATED_START,
  SettingReference,
  settingsDrift,
  settingsReference,
  settingsTable,
  withGeneratedSettings,
} from './settings-reference';

const source = readFileSync(join(__dirname, 'environment-variables.ts'), 'utf8');

describe('settingsReference', () => {
  const settings = settingsReference(source);
  const setting = (name: string): SettingReference => {
    const found = settings.find((s) => s.name === name);
    if (!found) throw new Error(`no row for ${name}`);
    return found;
  };

  it('has one row per validated variable, in the order of the class', () => {
    const validated = getMetadataStorage()
      .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
      .map((metadata) => metadata.propertyName);
    expect(settings.map((s) => s.name)).toEqual([...new Set(validated)]);
    expect(settings.map((s) => s.name)).toEqual(
      expect.arrayContaining(['PORT', 'MAX_CONCURRENT_PER_TENANT', 'REDIS_URL', 'DOCKER_HOST']),
    );
  });

  it('gives every variable a meaning, from its doc comment on one line', () => {
    expect(settings.filter((s) => s.meaning === '').map((s) => s.name)).toEqual([]);
    expect(setting('PORT').meaning).toBe('HTTP port.');
    expect(setting('SANDBOX_WARM_POOL').meaning).toBe(
      'Budget of warm containers: started ahead of jobs (harness waiting, never used), ready ' +
        'or being prepared; a job takes the one that will be ready first. Each serves one job ' +
        'only. `0` turns the pool off. Within it the pool keeps one ready plus as many under ' +
        'way as jobs arrive while one is prepared (over the last 10 s), the whole budget until ' +
        'a job comes. A ready container a job takes is replaced once that job is answered (one ' +
        'a job finds still being prepared, at once), unless as many jobs run as the host has ' +
        'cores. The default runtime has them all until jobs ask for others, then each ' +
        'runtime asked for in the last 10 minutes gets a share in proportion to its jobs. A ' +
        'warm container holds 48 MiB, ~107 MiB with numpy and pandas preloaded.',
    );
    // The @default tag is not part of the meaning.
    expect(setting('DOCKER_HOST').meaning).not.toContain('local socket');
  });

  it('prints the defaults of a fresh instance, computed ones included', () => {
    expect(setting('PORT').defaultValue).toBe('`8001`');
    expect(setting('MAX_OUTPUT_BYTES').defaultValue).toBe('`1048576`');
    expect(setting('AUTH_PROTECT_DOCS').defaultValue).toBe('`false`');
    expect(setting('API_KEYS_FILE').defaultValue).toBe('none');
    expect(setting('REDIS_URL').defaultValue).toBe('none');
  });

  it('prints a @default tag instead, never a value that depends on the machine', () => {
    expect(setting('MAX_CONCURRENT_PER_TENANT').defaultValue).toBe('`MAX_CONCURRENT_EXECUTIONS`');
    expect(setting('SANDBOX_INSTANCE_ID').defaultValue).toBe('the host name');
  });

  it('refuses a computed default without a @default tag', () => {
    const untagged = source.replace('@default the host name', '');
    expect(untagged).not.toBe(source);
    expect(() => settingsReference(untagged)).toThrow(/SANDBOX_INSTANCE_ID's default is computed/);
  });

  it('refuses a variable without a doc comment, or one missing from the source', () => {
    const undocumented = source.replace('/** HTTP port. */', '');
    expect(undocumented).not.toBe(source);
    expect(() => settingsReference(undocumented)).toThrow(/PORT has no doc comment/);
    const withoutPort = source.replace(/PORT = 8001;/, '');
    expect(() => settingsReference(withoutPort)).toThrow(/not in the source given: PORT/);
  });

  it('describes what the rules allow', () => {
    expect(setting('PORT').allowed).toBe('integer 1–65535');
    expect(setting('MAX_QUEUED_EXECUTIONS').allowed).toBe('integer ≥ 0');
    expect(setting('SANDBOX_CPUS').allowed).toBe('number 0.01–64');
    expect(setting('ROLE').allowed).toBe('one of `all`, `api`, `worker`');
    expect(setting('AUTH_MODE').allowed).toBe(
      'one of `none`, `api-key`, `jwt`; consistent with the other authentication settings',
    );
    expect(setting('AUTH_PROTECT_DOCS').allowed).toBe('`true` or `false`');
    expect(setting('BACKEND_URL').allowed).toBe('http or https URL');
    expect(setting('SANDBOX_USER').allowed).toBe('numeric `uid` or `uid:gid`, neither 0');
    expect(setting('REDIS_KEY_PREFIX').allowed).toBe('matching `/^[\\w.:-]{1,64}$/`');
    expect(setting('HOST').allowed).toBe('text');
  });
});

describe('settingsTable', () => {
  it('makes one Markdown row per setting, pipes escaped', () => {
    const table = settingsTable([
      { name: 'A_B', defaultValue: '`1`', allowed: 'matching `/^(x|y)$/`', meaning: 'Why.' },
    ]);
    expect(table.split('\n').slice(-3)).toEqual([
      '| Variable | Default | Allowed | Meaning |',
      '| --- | --- | --- | --- |',
      '| `A_B` | `1` | matching `/^(x\\|y)$/` | Why. |',
    ]);
  });
});

describe('withGeneratedSettings', () => {
  const document = `# Title\n\nProse.\n\n${GENERATED_START}\n\nold table\n\n${GENERATED_END}\n\nMore prose.\n`;

  it('replaces what lies between the markers and keeps the prose around them', () => {
    expect(withGeneratedSettings(document, 'new table')).toBe(
      `# Title\n\nProse.\n\n${GENERATED_START}\n\nnew table\n\n${GENERATED_END}\n\nMore prose.\n`,
    );
  });

  it('refuses a document without the markers', () => {
    expect(() => withGeneratedSettings('# Title\n', 'table')).toThrow(/has no .* section/);
  });
});

describe('settingsDrift', () => {
  const documentOf = (settings: SettingReference[]) =>
    withGeneratedSettings(`${GENERATED_START}\n${GENERATED_END}\n`, settingsTable(settings));
  const port = { name: 'PORT', defaultValue: '`8001`', allowed: 'integer', meaning: 'HTTP port.' };
  const host = { name: 'HOST', defaultValue: '`0.0.0.0`', allowed: 'text', meaning: 'Address.' };

  it('is empty when nothing differs', () => {
    expect(settingsDrift(documentOf([port, host]), documentOf([port, host]))).toEqual([]);
  });

  it('names each setting and cell that differs, and the rows missing or left over', () => {
    const onDisk = documentOf([{ ...port, meaning: 'The port.' }, host]);
    const generated = documentOf([port, { ...host, name: 'LISTEN_HOST' }]);
    expect(settingsDrift(onDisk, generated)).toEqual([
      'PORT: Meaning is "The port.", should be "HTTP port."',
      'LISTEN_HOST: missing from the document',
      'HOST: in the document, but no such setting',
    ]);
  });

  it('says so when only the text around the rows differs', () => {
    const generated = documentOf([port]);
    expect(settingsDrift(`${generated}\nA note.\n`, generated)).toEqual([
      expect.stringMatching(/outside the settings rows/),
    ]);
  });
});
