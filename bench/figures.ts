/** Small helpers shared by the bench's sections: order statistics and the printed row. */

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** Nearest-rank percentile (`p` in 0..100) of a non-empty list. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function row(name: string, value: string, note = ''): void {
  console.log(`${name.padEnd(56)} ${value.padStart(9)}  ${note}`);
}

/** A row of two paths side by side: the first figure, the second, their ratio, a note. */
export function sideBySide(
  name: string,
  first: string,
  second: string,
  ratio: string,
  note = '',
): void {
  row(name, first, `${second.padStart(9)}  ${ratio.padStart(6)}  ${note}`);
}

/** first / second to two decimals, or "-" when the second is zero. */
export function ratioOf(first: number, second: number): string {
  return second === 0 ? '-' : (first / second).toFixed(2);
}
