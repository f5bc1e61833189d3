import { ScriptedSandboxApp, startScriptedSandboxApp } from '../support/sandbox-app';

describe('Service info (scripted runner)', () => {
  let sandbox: ScriptedSandboxApp;

  beforeAll(async () => {
    sandbox = await startScriptedSandboxApp();
  });

  afterAll(() => sandbox.close());

  it('describes itself at /', async () => {
    const response = await sandbox.http.get('/').expect(200);
    expect(response.body).toMatchObject({
      name: 'Brain_Net Sandbox',
      version: '0.1.0',
      docs: '/docs',
    });
    const paths = (response.body as { endpoints: { path: string }[] }).endpoints.map((e) => e.path);
    expect(paths).toEqual(expect.arrayContaining(['/execute', '/health', '/debug/{id}']));
  });
});
