import { MAX_SCANNED_CHARS, importedByJob, importedModules } from './imported-modules';

const imported = (code: string) => [...importedModules(code)].sort();

describe('importedModules', () => {
  it('finds the top-level packages of import statements, aliases and all', () => {
    expect(imported('import numpy')).toEqual(['numpy']);
    expect(imported('import a.b as c, d\nimport os.path')).toEqual(['a', 'd', 'os']);
    expect(imported('import  pandas   as  pd ,  numpy as np')).toEqual(['numpy', 'pandas']);
  });

  it('finds the package of a from-import, and ignores relative ones', () => {
    expect(imported('from matplotlib.pyplot import plot, show')).toEqual(['matplotlib']);
    expect(imported('from sklearn import (\n    linear_model,\n)')).toEqual(['sklearn']);
    expect(imported('from .local import x\nfrom . import y\nfrom ..up import z')).toEqual([]);
  });

  it('reads every statement of a line split by semicolons', () => {
    expect(imported('x = 1; import numpy; from scipy import stats')).toEqual(['numpy', 'scipy']);
  });

  it('counts indented imports, inside functions and blocks', () => {
    const code = [
      'def f():',
      '    import pandas',
      '    return 1',
      'if x:',
      '\tfrom PIL import Image',
    ];
    expect(imported(code.join('\r\n'))).toEqual(['PIL', 'pandas']);
  });

  it('ignores comments, strings and anything else that only mentions an import', () => {
    const code = [
      '# import torch',
      'import os  # import sys',
      'print("import json")',
      'important = 1',
      'imports = [1]',
      'fromage = 2',
      'x = "from a import b"',
    ];
    expect(imported(code.join('\n'))).toEqual(['os']);
  });

  it('tolerates garbage', () => {
    const code = ['import', 'import ,', 'from import x', 'from  import', 'import 3d', 'import ;;;'];
    expect(imported(code.join('\n'))).toEqual([]);
    expect(imported('')).toEqual([]);
  });

  it('reads only the head of very long code', () => {
    const filler = 'x = 1\n'.repeat(MAX_SCANNED_CHARS / 6 + 1);
    expect(imported(`import numpy\n${filler}import pandas`)).toEqual(['numpy']);
  });
});

describe('importedByJob', () => {
  it('takes the union over a batch’s codes', () => {
    expect(
      [...importedByJob(['import numpy', 'print(1)', 'from pandas import DataFrame'])].sort(),
    ).toEqual(['numpy', 'pandas']);
  });

  it('reads a batch only up to MAX_SCANNED_CHARS in all', () => {
    const long = `x = 1\n${' '.repeat(MAX_SCANNED_CHARS)}`;
    expect([...importedByJob([long, 'import pandas'])]).toEqual([]);
  });
});
