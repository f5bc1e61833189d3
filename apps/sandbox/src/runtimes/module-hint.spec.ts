import type { HarnessException } from '@brain-net/runner';
import { missingModuleOf, moduleHintOf } from './module-hint';

function exception(
  type: string,
  message: string,
  cause: HarnessException | null = null,
): HarnessException {
  return {
    type,
    message,
    line: 1,
    frames: [],
    frames_omitted: 0,
    cause,
    cause_relation: cause ? 'context' : null,
  };
}

describe('missingModuleOf', () => {
  it('names the top-level module of a ModuleNotFoundError', () => {
    expect(
      missingModuleOf([exception('ModuleNotFoundError', "No module named 'sklearn.linear_model'")]),
    ).toBe('sklearn');
    expect(missingModuleOf([exception('ModuleNotFoundError', "No module named 'yaml'")])).toBe(
      'yaml',
    );
  });

  it('finds it among the exceptions another was raised from or during', () => {
    const raised = exception(
      'RuntimeError',
      'install scikit-learn',
      exception('ModuleNotFoundError', "No module named 'sklearn'"),
    );
    expect(missingModuleOf([raised])).toBe('sklearn');
  });

  it('is null for any other failure, or a message it cannot read', () => {
    expect(missingModuleOf([])).toBeNull();
    expect(missingModuleOf([exception('ZeroDivisionError', 'division by zero')])).toBeNull();
    // ImportError (a name missing from a module that exists) says nothing of runtimes.
    expect(
      missingModuleOf([exception('ImportError', "cannot import name 'x' from 'json'")]),
    ).toBeNull();
    expect(missingModuleOf([exception('ModuleNotFoundError', 'import of x halted')])).toBeNull();
    // A class of the user's own that borrows the name is no module lookup of Python's.
    expect(
      missingModuleOf([exception('mine.ModuleNotFoundError', "No module named 'x'")]),
    ).toBeNull();
  });
});

describe('moduleHintOf', () => {
  const runtimes = [
    { name: 'python-3.11', modules: new Set(['numpy', 'sklearn']) },
    { name: 'python-3.11-minimal', modules: new Set(['numpy']) },
    { name: 'broken', modules: null },
  ];

  it('lists the runtimes that have the module, in their order, and those not checked', () => {
    expect(moduleHintOf('sklearn', runtimes)).toEqual({
      module: 'sklearn',
      runtimes: ['python-3.11'],
      unchecked: ['broken'],
    });
    expect(moduleHintOf('numpy', runtimes).runtimes).toEqual([
      'python-3.11',
      'python-3.11-minimal',
    ]);
  });

  it('says that none has it', () => {
    expect(moduleHintOf('torch', runtimes.slice(0, 2))).toEqual({
      module: 'torch',
      runtimes: [],
      unchecked: [],
    });
  });
});
