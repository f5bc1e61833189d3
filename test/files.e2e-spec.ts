import { createHash } from 'node:crypto';
import type { Response } from 'supertest';
import type { StoredFileDto } from '../apps/sandbox/src/files/dto/stored-file.dto';
import { SandboxApp, run, startSandboxApp } from './support/sandbox-app';

const MIB = 1024 * 1024;

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Collects a download's bytes as they are (supertest would parse text and JSON). */
function asBytes(response: Response, done: (error: Error | null, body: Buffer) => void): void {
  const pieces: Buffer[] = [];
  response.on('data', (piece: Buffer) => pieces.push(piece));
  response.on('end', () => done(null, Buffer.concat(pieces)));
}

/** Every byte value, then some: a file no text encoding would carry unharmed. */
const BINARY = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7) % 256));

describe('Files in and out of an execution (real Docker engine)', () => {
  let sandbox: SandboxApp;

  beforeAll(async () => {
    sandbox = await startSandboxApp({ MAX_UPLOAD_MB: '2', MAX_OUTPUT_FILES: '3' });
  });

  afterAll(async () => {
    await sandbox.close();
    await sandbox.containersSettle();
  });

  async function upload(name: string, content: Buffer | string): Promise<StoredFileDto> {
    const response = await sandbox.http
      .post(`/files?name=${encodeURIComponent(name)}`)
      .set('Content-Type', 'application/octet-stream')
      .send(content)
      .expect(201);
    return response.body as StoredFileDto;
  }

  it('uploads a CSV once and two executions read it with pandas', async () => {
    const rows = Array.from({ length: 1000 }, (_, i) => `${i},${i * 2}`).join('\n');
    const csv = `x,y\n${rows}\n`;
    const file = await upload('sales.csv', csv);
    expect(file).toMatchObject({
      name: 'sales.csv',
      size: Buffer.byteLength(csv),
      sha256: sha256(Buffer.from(csv)),
      media_type: 'text/csv',
    });
    expect(file.file_id).toMatch(/^file_/);

    const code = 'import pandas as pd\nframe = pd.read_csv("data/sales.csv")\nprint(frame.y.sum())';
    for (let i = 0; i < 2; i += 1) {
      const result = await run(sandbox.http, {
        code,
        files: [{ path: 'data/sales.csv', file_id: file.file_id }],
      });
      expect(result).toMatchObject({ status: 'completed', output: `${999 * 1000}\n` });
    }
    const listed = await sandbox.http.get('/files').expect(200);
    expect((listed.body as { items: StoredFileDto[] }).items.map((f) => f.file_id)).toContain(
      file.file_id,
    );
  });

  it('takes inline files as text and base64, and returns what the code writes under out/ byte for byte', async () => {
    const code = [
      'import hashlib, os',
      'raw = open("in/blob.bin", "rb").read()',
      'note = open("notes.txt", encoding="utf-8").read()',
      'os.makedirs("out/deep", exist_ok=True)',
      'open("out/copy.bin", "wb").write(raw)',
      'open("out/deep/note.txt", "w", encoding="utf-8").write(note.upper())',
      'print(hashlib.sha256(raw).hexdigest())',
    ].join('\n');
    const result = await run(sandbox.http, {
      code,
      files: [
        { path: 'in/blob.bin', content: BINARY.toString('base64'), encoding: 'base64' },
        { path: 'notes.txt', content: 'grüße\n' },
      ],
    });
    expect(result.status).toBe('completed');
    expect(result.output).toBe(`${sha256(BINARY)}\n`);
    expect(result.files_truncated).toBe(false);
    expect(result.files).toEqual([
      {
        path: 'copy.bin',
        size: BINARY.length,
        media_type: 'application/octet-stream',
        sha256: sha256(BINARY),
        url: `/execution/${result.execution_id}/files/copy.bin`,
      },
      expect.objectContaining({ path: 'deep/note.txt', media_type: 'text/plain' }) as unknown,
    ]);

    const copy = await sandbox.http
      .get(result.files[0]?.url ?? '')
      .buffer(true)
      .parse(asBytes)
      .expect(200);
    expect(copy.headers['x-content-type-options']).toBe('nosniff');
    expect(copy.headers['content-disposition']).toContain('attachment');
    expect(Buffer.compare(copy.body as Buffer, BINARY)).toBe(0);
    const note = await sandbox.http
      .get(`/execution/${result.execution_id}/files/deep/note.txt`)
      .buffer(true)
      .parse(asBytes)
      .expect(200);
    expect((note.body as Buffer).toString('utf8')).toBe('GRÜSSE\n');
    await sandbox.http.get(`/execution/${result.execution_id}/files/missing.txt`).expect(404);
  });

  it('has scipy, scikit-learn and matplotlib: a model fitted and a chart drawn to out/ come back', async () => {
    const code = [
      'import os',
      'import numpy as np, scipy.stats, matplotlib.pyplot as plt',
      'from sklearn.linear_model import LinearRegression',
      'x = np.arange(20).reshape(-1, 1); y = 3 * x.ravel() + 1',
      'model = LinearRegression().fit(x, y)',
      'print(round(float(model.coef_[0]), 6), round(float(scipy.stats.pearsonr(x.ravel(), y)[0]), 6))',
      'os.makedirs("out", exist_ok=True)',
      'plt.plot(x, y); plt.title("fit"); plt.savefig("out/chart.png")',
      'print(plt.get_backend())',
    ].join('\n');
    const result = await run(sandbox.http, { code, timeout: 60, debug_mode: false });
    expect(result).toMatchObject({ status: 'completed', output: '3.0 1.0\nagg\n' });
    expect(result.files).toEqual([
      expect.objectContaining({ path: 'chart.png', media_type: 'image/png' }) as unknown,
    ]);
    const chart = await sandbox.http
      .get(result.files[0]?.url ?? '')
      .buffer(true)
      .parse(asBytes)
      .expect(200);
    // A PNG, whole: its signature, and as many bytes as listed.
    expect((chart.body as Buffer).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect((chart.body as Buffer).length).toBe(result.files[0]?.size);
  });

  it('never follows a link the code leaves in out/, and lists what did not fit as omitted', async () => {
    const code = [
      'import os',
      'os.makedirs("out", exist_ok=True)',
      'os.symlink("/etc/passwd", "out/passwd")',
      'for i in range(5): open(f"out/part-{i}.txt", "w").write(str(i))',
    ].join('\n');
    const result = await run(sandbox.http, { code });
    expect(result.status).toBe('completed');
    expect(result.files.map((file) => file.path)).toEqual([
      'part-0.txt',
      'part-1.txt',
      'part-2.txt',
    ]);
    expect(result.files_truncated).toBe(true);
    expect(result.files_omitted).toEqual([
      { path: 'part-3.txt', size: 1 },
      { path: 'part-4.txt', size: 1 },
    ]);
  });

  it('refuses paths that leave the working directory, naming each entry, and starts nothing', async () => {
    // The previous case's container is removed just after its answer: wait for it.
    await sandbox.containersSettle();
    const response = await sandbox.http
      .post('/execute')
      .send({
        code: 'print(1)',
        files: [
          { path: '../escape.txt', content: 'x' },
          { path: '/etc/cron.d/job', content: 'x' },
          { path: 'ok.txt', content: 'x' },
          { path: 'ok.txt', content: 'y' },
          { path: 'main.py', content: 'x' },
        ],
      })
      .expect(400);
    expect(response.body).toMatchObject({ code: 'INVALID_FILE' });
    const fields = (response.body as { errors: { field: string }[] }).errors.map((e) => e.field);
    expect(fields).toEqual(['files[0].path', 'files[1].path', 'files[3].path', 'files[4].path']);
    expect(await sandbox.containerCount()).toBe(0);
    const unknown = await sandbox.http
      .post('/execute')
      .send({ code: 'print(1)', files: [{ path: 'a.csv', file_id: 'file_nothere' }] })
      .expect(400);
    expect(unknown.body).toMatchObject({ code: 'UNKNOWN_FILE' });
  });

  it('takes a multipart upload, serves and deletes it, and refuses one over MAX_UPLOAD_MB whole', async () => {
    const response = await sandbox.http
      .post('/files')
      .attach('file', BINARY, { filename: 'blob.bin', contentType: 'application/octet-stream' })
      .expect(201);
    const file = response.body as StoredFileDto;
    expect(file).toMatchObject({ name: 'blob.bin', size: BINARY.length, sha256: sha256(BINARY) });
    expect(response.headers.location).toBe(`/files/${file.file_id}`);
    const content = await sandbox.http
      .get(`/files/${file.file_id}/content`)
      .buffer(true)
      .parse(asBytes)
      .expect(200);
    expect(Buffer.compare(content.body as Buffer, BINARY)).toBe(0);
    await sandbox.http.delete(`/files/${file.file_id}`).expect(204);
    await sandbox.http.get(`/files/${file.file_id}`).expect(404);

    const tooLarge = await sandbox.http
      .post('/files?name=big.bin')
      .set('Content-Type', 'application/octet-stream')
      .send(Buffer.alloc(3 * MIB))
      .expect(413);
    expect(tooLarge.body).toMatchObject({ code: 'UPLOAD_TOO_LARGE' });
  });
});
