import type { RuntimeDto } from '../runtimes/dto/runtime.dto';
import { runtimeSummary } from './runtime-summary';

function runtime(overrides: Partial<RuntimeDto> = {}): RuntimeDto {
  return {
    name: 'python-3.11',
    image: 'brain-net-sandbox-runtime:3.11',
    image_id: 'sha256:acc1',
    default: true,
    python_version: '3.11.2',
    packages: [
      { name: 'contourpy', version: '1.0.7' },
      { name: 'numpy', version: '1.24.2' },
      { name: 'pandas', version: '1.5.3' },
      { name: 'scikit_learn', version: '1.2.1' },
    ],
    modules: ['json', 'numpy', 'pandas', 'sklearn'],
    error: null,
    ...overrides,
  };
}

describe('runtimeSummary', () => {
  it('names each runtime with its Python, its key packages first, then the others', () => {
    const minimal = runtime({
      name: 'python-3.11-minimal',
      default: false,
      packages: [{ name: 'numpy', version: '1.24.2' }],
    });
    expect(runtimeSummary([runtime(), minimal])).toBe(
      [
        'Runtimes run_python can use (pass the name as `runtime`):',
        '- python-3.11 (default): Python 3.11.2',
        '  key packages: numpy 1.24.2, pandas 1.5.3, scikit_learn 1.2.1',
        '  other packages: contourpy 1.0.7',
        '- python-3.11-minimal: Python 3.11.2',
        '  key packages: numpy 1.24.2',
        '  other packages: none',
      ].join('\n'),
    );
  });

  it('says why a runtime whose image could not be read has no facts', () => {
    const unread = runtime({
      python_version: null,
      packages: null,
      modules: null,
      error: 'the Docker engine has no image brain-net-sandbox-runtime:3.11',
    });
    expect(runtimeSummary([unread])).toContain(
      '- python-3.11 (default): its image could not be read (the Docker engine has no image brain-net-sandbox-runtime:3.11)',
    );
  });
});
