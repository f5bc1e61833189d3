import { loadConfig } from './app-config';
import {
  DEFAULT_RUNTIME_NAME,
  runtimeNamed,
  runtimeProblems,
  runtimeSettingsOf,
} from './runtime-settings';

const DEFAULT_IMAGE = 'brain-net-sandbox-runtime:3.11';
const MINIMAL_IMAGE = 'brain-net-sandbox-runtime-minimal:3.11';
const TWO = `python-3.11=${DEFAULT_IMAGE}, python-3.11-minimal=${MINIMAL_IMAGE}`;

describe('runtime settings (SANDBOX_RUNTIMES)', () => {
  it('without SANDBOX_RUNTIMES has one runtime, SANDBOX_IMAGE under the default name', () => {
    const settings = runtimeSettingsOf('', 'my-image:1');
    expect(settings.all).toEqual([{ name: DEFAULT_RUNTIME_NAME, image: 'my-image:1' }]);
    expect(settings.default).toBe(settings.all[0]);
    expect(loadConfig({ SANDBOX_IMAGE: 'my-image:1' })).toMatchObject({
      sandboxImage: 'my-image:1',
      runtimes: { default: { name: 'python-3.11', image: 'my-image:1' } },
    });
  });

  it('reads name=image entries in order, the first the default, spaces around commas allowed', () => {
    const config = loadConfig({ SANDBOX_RUNTIMES: TWO });
    expect(config.runtimes.all).toEqual([
      { name: 'python-3.11', image: DEFAULT_IMAGE },
      { name: 'python-3.11-minimal', image: MINIMAL_IMAGE },
    ]);
    expect(config.runtimes.default.name).toBe('python-3.11');
    // The default runtime's image is the one the rest of the service calls SANDBOX_IMAGE.
    expect(config.sandboxImage).toBe(DEFAULT_IMAGE);
    expect(runtimeNamed(config.runtimes, 'python-3.11-minimal')?.image).toBe(MINIMAL_IMAGE);
    expect(runtimeNamed(config.runtimes, 'python-3.12')).toBeUndefined();
    // A digest reference is an image too.
    const pinned = `py=registry-less/runtime@sha256:${'a'.repeat(64)}`;
    expect(loadConfig({ SANDBOX_RUNTIMES: pinned }).sandboxImage).toBe(pinned.slice(3));
  });

  it.each([
    ['an entry without an image', 'python-3.11'],
    ['an upper-case name', `Python=${DEFAULT_IMAGE}`],
    ['an empty entry', `a=${DEFAULT_IMAGE},,b=${MINIMAL_IMAGE}`],
    ['a name with a space', `my runtime=${DEFAULT_IMAGE}`],
    ['an image that is no reference', 'a=not an image'],
  ])('refuses %s, naming the variable and the syntax', (_what, value) => {
    expect(() => loadConfig({ SANDBOX_RUNTIMES: value })).toThrow(
      /SANDBOX_RUNTIMES=.*must be name=image entries separated by commas/,
    );
  });

  it('refuses a name or an image given twice', () => {
    expect(runtimeProblems(`a=${DEFAULT_IMAGE},a=${MINIMAL_IMAGE}`, undefined)).toEqual([
      'SANDBOX_RUNTIMES: the runtime a is named twice',
    ]);
    expect(() => loadConfig({ SANDBOX_RUNTIMES: `a=${DEFAULT_IMAGE},b=${DEFAULT_IMAGE}` })).toThrow(
      `the image ${DEFAULT_IMAGE} is given twice`,
    );
  });

  it('takes SANDBOX_IMAGE beside SANDBOX_RUNTIMES only when it names the default runtime’s image', () => {
    expect(loadConfig({ SANDBOX_RUNTIMES: TWO, SANDBOX_IMAGE: DEFAULT_IMAGE }).sandboxImage).toBe(
      DEFAULT_IMAGE,
    );
    expect(() => loadConfig({ SANDBOX_RUNTIMES: TWO, SANDBOX_IMAGE: MINIMAL_IMAGE })).toThrow(
      /SANDBOX_IMAGE=.*the default runtime's image is the first of SANDBOX_RUNTIMES \(python-3\.11=/,
    );
  });
});
