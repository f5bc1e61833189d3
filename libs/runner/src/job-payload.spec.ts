import { jobPayloadText } from './job-payload';

describe('jobPayloadText', () => {
  const payload = {
    code: 'print(input_data)',
    debug_mode: true,
    max_output_bytes: 1024,
    time_limit_s: 5,
    filename: 'main.py',
  };

  it('splices the input text in unchanged, whitespace and key order included', () => {
    const inputJson = '{ "b": [1, 2.50],\n "a": {"x": null} }';
    const text = jobPayloadText({ payload, inputJson });
    expect(text).toContain(`"input_data":${inputJson}}`);
    expect(JSON.parse(text)).toEqual({ ...payload, input_data: { b: [1, 2.5], a: { x: null } } });
  });

  it('makes a valid document of an empty payload too', () => {
    const empty = {} as typeof payload;
    expect(JSON.parse(jobPayloadText({ payload: empty, inputJson: '{}' }))).toEqual({
      input_data: {},
    });
  });

  it('announces the input files, in their order, and nothing without them', () => {
    const open = () => Promise.reject(new Error('not read here'));
    const files = [
      { path: 'data/b.csv', size: 12, open },
      { path: 'a.bin', size: 0, open },
    ];
    expect(JSON.parse(jobPayloadText({ payload, inputJson: 'null', files }))).toEqual({
      ...payload,
      files: [
        { path: 'data/b.csv', size: 12 },
        { path: 'a.bin', size: 0 },
      ],
      input_data: null,
    });
    expect(
      JSON.parse(jobPayloadText({ payload, inputJson: 'null', files: [] })),
    ).not.toHaveProperty('files');
  });
});
