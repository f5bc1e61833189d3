import { Readable } from 'node:stream';
import { InMemoryFileStore } from '@brain-net/store/files/testing/in-memory-file-store';
import { loadConfig } from '../config/app-config';
import { DomainError } from '../errors/domain-error';
import { InputFileDto } from './dto/input-file.dto';
import { InputFiles } from './input-files';

function entry(fields: Partial<InputFileDto>): InputFileDto {
  return Object.assign(new InputFileDto(), { path: 'a.txt', ...fields });
}

async function refusal(checking: Promise<unknown>): Promise<DomainError> {
  const error = await checking.then(
    () => null,
    (reason: unknown) => reason,
  );
  if (!(error instanceof DomainError))
    throw new Error(`expected a DomainError, got ${String(error)}`);
  return error;
}

describe('InputFiles', () => {
  const config = loadConfig({ MAX_INPUT_FILES: '3', MAX_INPUT_FILES_MB: '16' });
  let store: InMemoryFileStore;
  let files: InputFiles;

  beforeEach(() => {
    store = new InMemoryFileStore();
    files = new InputFiles(config, store);
  });

  it('decodes text and base64, megabytes of it, and keeps them as the execution’s files', async () => {
    const big = Buffer.alloc(10 * 1024 * 1024, 0xab);
    const checked = await files.check(
      [
        entry({ path: 'big.bin', content: big.toString('base64'), encoding: 'base64' }),
        entry({ path: 'note.txt', content: 'grüße' }),
      ],
      'tenant-a',
    );
    expect(checked.map((file) => [file.path, file.size])).toEqual([
      ['big.bin', big.length],
      ['note.txt', 7],
    ]);
    const kept = await files.keep(checked, 'tenant-a', 'execution-1');
    expect((await store.get('tenant-a', kept[0].fileId))?.owner).toEqual({
      kind: 'execution',
      executionId: 'execution-1',
    });
  });

  it('names every bad entry in one refusal, and refuses what is not padded base64', async () => {
    const error = await refusal(
      files.check(
        [
          entry({ path: '../x', content: 'x' }),
          entry({ path: 'b.bin', content: 'abc', encoding: 'base64' }),
          entry({ path: 'c.bin', content: 'ab=c', encoding: 'base64' }),
        ],
        'tenant-a',
      ),
    );
    expect(error.code).toBe('INVALID_FILE');
    expect(error.details.fieldProblems?.map((p) => p.field)).toEqual([
      'files[0].path',
      'files[1].content',
      'files[2].content',
    ]);
  });

  it('counts uploads at their size, refuses another tenant’s as unknown, and bounds the total', async () => {
    const upload = await store.save({
      tenant: 'tenant-a',
      name: 'u.csv',
      mediaType: 'text/csv',
      owner: { kind: 'upload' },
      content: Readable.from([Buffer.alloc(9 * 1024 * 1024)]),
      maxBytes: 10 * 1024 * 1024,
      expiresAt: null,
    });
    expect((await refusal(files.check([entry({ file_id: upload.id })], 'tenant-b'))).code).toBe(
      'UNKNOWN_FILE',
    );
    const twice = [
      entry({ path: 'a', file_id: upload.id }),
      entry({ path: 'b', file_id: upload.id }),
    ];
    expect((await refusal(files.check(twice, 'tenant-a'))).code).toBe('FILES_TOO_LARGE');
    const many = ['a', 'b', 'c', 'd'].map((path) => entry({ path, content: '' }));
    expect((await refusal(files.check(many, 'tenant-a'))).code).toBe('TOO_MANY_FILES');
  });
});
