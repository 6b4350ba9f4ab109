// The arithmetic behind `npm run bench`: medians, the interleaved order of
// rounds, the spread of the rounds, and how ratios and tables are written.
import { describe, expect, it } from 'vitest';
import { formatFigure, formatRatio, formatSpread, formatTable, interleavedSchedule, median, roundRatios, spread } from '../../bench/stats.mjs';

describe('median', () => {
  it('takes the middle of an odd count, whatever the order', () => {
    expect(median([9, 1, 5])).toBe(5);
  });
  it('averages the middle two of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
  it('refuses an empty list', () => {
    expect(() => median([])).toThrow(RangeError);
  });
});

describe('interleavedSchedule', () => {
  it('runs every transport once per measurement in a round before the next round starts', () => {
    const order = interleavedSchedule(2, ['bulk', 'rtt'], ['a', 'b']).map((s) => `${s.round}:${s.measurement}:${s.transport}`);
    expect(order).toEqual(['1:bulk:a', '1:bulk:b', '1:rtt:a', '1:rtt:b', '2:bulk:a', '2:bulk:b', '2:rtt:a', '2:rtt:b']);
  });
});

describe('formatRatio', () => {
  it('divides value by reference when higher is better', () => {
    expect(formatRatio(50, 200, true)).toBe('0.25x');
  });
  it('divides reference by value when lower is better, so above 1 still means better', () => {
    expect(formatRatio(20, 10, false)).toBe('0.50x');
  });
  it('writes "-" when a figure is missing or zero', () => {
    expect(formatRatio(undefined, 1, true)).toBe('-');
    expect(formatRatio(1, 0, true)).toBe('-');
  });
});

describe('formatFigure and formatTable', () => {
  it('formats numbers and marks missing ones', () => {
    expect(formatFigure(1.234, 1)).toBe('1.2');
    expect(formatFigure(undefined, 1)).toBe('-');
  });
  it('pads the first column left and the rest right, under a rule', () => {
    expect(formatTable([['name', 'x'], ['ab', '10']])).toEqual(['name   x', '----  --', 'ab    10']);
  });
});

describe('spread', () => {
  it('gives the median with the smallest and largest round', () => {
    expect(spread([30, 10, 20, 50])).toEqual({ median: 25, min: 10, max: 50 });
  });
  it('leaves out rounds that failed, and is undefined when none is left', () => {
    expect(spread([undefined, 4, 'x', 2, 3])).toEqual({ median: 3, min: 2, max: 4 });
    expect(spread([undefined])).toBeUndefined();
  });
  it('is written as the median with min-max in brackets, the unit after the median', () => {
    expect(formatSpread({ median: 1.016, min: 0.7, max: 1.894 }, 2, 'x')).toBe('1.02x (0.70-1.89)');
    expect(formatSpread(undefined, 1)).toBe('-');
  });
});

describe('roundRatios', () => {
  it('divides each round by the same round of the reference', () => {
    expect(roundRatios([10, 30], [20, 10], true)).toEqual([0.5, 3]);
  });
  it('turns the quotient round where lower is better', () => {
    expect(roundRatios([20, 5], [10, 10], false)).toEqual([0.5, 2]);
  });
  it('skips a round where either side is missing or zero, keeping the others paired', () => {
    expect(roundRatios([undefined, 4, 6], [2, 0, 3], true)).toEqual([2]);
  });
});
