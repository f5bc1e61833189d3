import { JsonSyntaxError, JsonTooDeepError, scanJson, scanJsonSync } from './json-scan';

const bytes = (text: string) => Buffer.from(text, 'utf8');

function accepts(text: string): boolean {
  try {
    scanJsonSync(bytes(text), 1000);
    return true;
  } catch (error: unknown) {
    if (error instanceof JsonSyntaxError) return false;
    throw error;
  }
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

describe('scanJson', () => {
  it.each([
    '{}',
    '[]',
    ' {"a": [1, -2.5e+3, 0.1E-2, true, false, null, "x\\u00e9\\n\\"\\\\\\/"]}\n',
    '"just a string"',
    '0',
    '-0',
    '{"nested": {"deeper": [[{}]]}, "é": "ü"}',
  ])('accepts %s as JSON.parse does', (text) => {
    expect(accepts(text)).toBe(true);
  });

  it.each([
    '',
    ' ',
    '{',
    '{"a":1,}',
    '[1,]',
    '[01]',
    '[1.]',
    '[.5]',
    '[+1]',
    '{"a" 1}',
    '{a: 1}',
    "{'a': 1}",
    '["\\x"]',
    '["\\u12G4"]',
    '["tab\there"]',
    '{} {}',
    '[1] x',
    'nul',
    'True',
    '[NaN]',
    '{"a":1 "b":2}',
    '}',
  ])('refuses %j as JSON.parse does', (text) => {
    expect(parses(text)).toBe(false);
    expect(accepts(text)).toBe(false);
  });

  it('agrees with JSON.parse on thousands of mutated documents', () => {
    const seed = '{"a": [1, -2.5e+3, {"b": "x\\"y"}, true, null], "c": {}}';
    const alphabet = '{}[]",:01-.eE+ \\tnrulfas';
    let state = 42;
    const random = () => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return state / 2 ** 31;
    };
    for (let i = 0; i < 5000; i += 1) {
      const chars = seed.split('');
      const position = Math.floor(random() * chars.length);
      const mutation = Math.floor(random() * 3);
      const char = alphabet[Math.floor(random() * alphabet.length)];
      if (mutation === 0) chars.splice(position, 1);
      else if (mutation === 1) chars.splice(position, 0, char);
      else chars[position] = char;
      const text = chars.join('');
      expect([text, accepts(text)]).toEqual([text, parses(text)]);
    }
  });

  it('counts the document itself as level 1 and refuses deeper than the limit', () => {
    expect(() => scanJsonSync(bytes('[[[]]]'), 3)).not.toThrow();
    expect(() => scanJsonSync(bytes('[[[[]]]]'), 3)).toThrow(JsonTooDeepError);
    expect(() => scanJsonSync(bytes('{"a":{"b":{"c":{}}}}'), 3)).toThrow(JsonTooDeepError);
  });

  it('names the top-level field a too-deep value sits in', () => {
    try {
      scanJsonSync(bytes('{"code": "x", "input_data": {"a": [[[[1]]]]}}'), 4);
      throw new Error('not refused');
    } catch (error: unknown) {
      expect(error).toBeInstanceOf(JsonTooDeepError);
      expect((error as JsonTooDeepError).member).toBe('input_data');
    }
  });

  it('refuses 100,000 levels without overflowing the stack', () => {
    expect(() => scanJsonSync(bytes('['.repeat(100_000)), 64)).toThrow(JsonTooDeepError);
  });

  it('notes where each top-level value lies, escaped keys decoded', () => {
    const text =
      '{"code": "print(1)", "input_data" : { "x": [1, {}] } , "n": -1.5, "k\\u00e9": null}';
    const { kind, members } = scanJsonSync(bytes(text), 64);
    expect(kind).toBe('object');
    expect(members.map(({ key, kind: memberKind }) => [key, memberKind])).toEqual([
      ['code', 'string'],
      ['input_data', 'object'],
      ['n', 'number'],
      ['ké', 'literal'],
    ]);
    for (const member of members) {
      const slice = text.slice(member.start, member.end);
      expect(() => JSON.parse(slice) as unknown).not.toThrow();
    }
    expect(text.slice(members[1].start, members[1].end)).toBe('{ "x": [1, {}] }');
  });

  it('notes where each element of an array document lies, keyed by its index', () => {
    const text = '[ {"input_data": {"a": [1]}}, 2, "x", [[]] ]';
    const { kind, members } = scanJsonSync(bytes(text), 64);
    expect(kind).toBe('array');
    expect(members.map((m) => [m.key, m.kind, text.slice(m.start, m.end)])).toEqual([
      ['0', 'object', '{"input_data": {"a": [1]}}'],
      ['1', 'number', '2'],
      ['2', 'string', '"x"'],
      ['3', 'array', '[[]]'],
    ]);
    expect(scanJsonSync(bytes('[]'), 4).members).toEqual([]);
  });

  it('counts the values in each member, keys included, whatever their length', () => {
    const text = `{"s": "${'x'.repeat(100_000)}", "a": [1, [2, 3], {"k": null}], "o": {}}`;
    const { members } = scanJsonSync(bytes(text), 64);
    expect(members.map(({ key, values }) => [key, values])).toEqual([
      ['s', 1],
      ['a', 8],
      ['o', 1],
    ]);
  });

  it('gives the same answer walking in slices as in one go', async () => {
    const items = new Array(200_000).fill('{"k": [1, 2]}').join(',');
    const text = bytes(`{"input_data": {"items": [${items}]}, "tail": true}`);
    expect(await scanJson(text, 64)).toEqual(scanJsonSync(text, 64));
  });
});
