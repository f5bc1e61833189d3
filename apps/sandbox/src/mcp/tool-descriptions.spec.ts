import { loadConfig } from '../config/app-config';
import { toolDescriptions } from './tool-descriptions';

describe('toolDescriptions', () => {
  it('tells the model the limits this instance enforces, from its settings', () => {
    const { runPython, runPythonFields } = toolDescriptions(
      loadConfig({
        SANDBOX_MEMORY_MB: '512',
        SANDBOX_CPUS: '1.5',
        EXECUTION_TIMEOUT: '20',
        MAX_TIMEOUT: '120',
        MAX_FIGURES: '5',
        SANDBOX_RUNTIMES: 'python-3.11=img:a,python-3.11-minimal=img:b',
      }),
    );
    expect(runPython).toContain('runtimes python-3.11, python-3.11-minimal (default python-3.11)');
    expect(runPython).toContain(
      'Limits per call: 512 MiB of memory, 1.5 CPUs, 20 s of run time unless `timeout` asks for more (at most 120 s)',
    );
    expect(runPython).toContain('(at most 5)');
    expect(runPython).toContain('there is NO network');
    expect(runPython).toContain('nothing carries over between calls');
    expect(runPythonFields.timeout).toContain('1 to 120; default 20.');
  });

  it('names the one runtime of a service that has one', () => {
    expect(toolDescriptions(loadConfig({})).runPython).toContain(
      'Environment: one runtime, python-3.11.',
    );
  });
});
