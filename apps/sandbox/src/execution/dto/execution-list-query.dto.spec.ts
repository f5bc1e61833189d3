import { parseDateTime } from './execution-list-query.dto';

describe('parseDateTime (GET /executions?since=)', () => {
  it.each([
    ['2026-12-07T08:00:00Z', '2026-12-07T08:00:00.000Z'],
    ['2026-12-07t08:00:00z', '2026-12-07T08:00:00.000Z'],
    ['2026-12-07T09:30:00+01:30', '2026-12-07T08:00:00.000Z'],
    ['2026-12-07T03:00:00.25-05:00', '2026-12-07T08:00:00.250Z'],
    ['2024-02-29T23:59:59.999Z', '2024-02-29T23:59:59.999Z'],
    // What a store cannot hold, below a millisecond, rounds up: never before the moment named.
    ['2026-12-07T08:00:00.123000Z', '2026-12-07T08:00:00.123Z'],
    ['2026-12-07T08:00:00.123001Z', '2026-12-07T08:00:00.124Z'],
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(parseDateTime(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2026-12-07',
    '2026-12-07T08:00:00',
    '2026-12-07 08:00:00Z',
    '2026-12-07T08:00Z',
    '2026-13-01T00:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-12-07T24:00:00Z',
    '2026-12-07T08:00:60Z',
    '2026-12-07T08:00:00+24:00',
    '1733558400000',
    'yesterday',
  ])('refuses %s', (text) => {
    expect(parseDateTime(text)).toBeUndefined();
  });
});
