/**
 * @file scripts/perf/tier-up-log.ts: V8's `--trace-wasm-compilation-times` lines read into optimising compiles,
 * each attributed to the phase announced before it.
 */
import { describe, expect, it } from 'vitest';
import { collectTierUps, parseTierUpLine, PHASE_MARK } from '../../../scripts/perf/tier-up-log.ts';

describe('parseTierUpLine', () => {
  it.each([
    {
      what: 'a TurboFan compile timed in ms',
      line: 'Compiled function 0x7f7108002a50#6146 using TurboFan, took 1041 ms and 217039792 / 334317600 max/total bytes; bodysize 490241 codesize 1126580 name wasm-function#6146',
      expected: { functionIndex: 6146, compileMs: 1041, bodyBytes: 490241 },
    },
    {
      what: 'a TurboFan compile timed in μs (newer V8)',
      line: 'Compiled function 0x333c000adc18#12507 using TurboFan, took 27059 μs and 954080 / 2355072 max/total bytes; bodysize 3434 codesize 10756 name wasm-function#12507',
      expected: { functionIndex: 12507, compileMs: 27.059, bodyBytes: 3434 },
    },
    {
      what: 'a line with a logger prefix',
      line: '2026-12-04T03:58:59Z pw:browser [pid=1][out] Compiled function 0x1#9 using TurboFan, took 5 ms and 1 / 2 max/total bytes; bodysize 75 codesize 356 name wasm-function#9',
      expected: { functionIndex: 9, compileMs: 5, bodyBytes: 75 },
    },
    {
      what: 'a Liftoff compile (not an optimisation)',
      line: 'Compiled function 0x7f7108002a50#6146 using Liftoff, took 38 ms and 19822960 bytes; bodysize 490241 codesize 1203228',
      expected: undefined,
    },
    { what: 'an unrelated line', line: '@@phase runs', expected: undefined },
    {
      what: 'a cut-off line',
      line: 'Compiled function 0x1#9 using TurboFan, took 5 ms and',
      expected: undefined,
    },
  ])('reads $what', ({ line, expected }) => {
    expect(parseTierUpLine(line)).toEqual(expected);
  });
});

describe('collectTierUps', () => {
  const turbofan = (index: number, ms: number) =>
    `Compiled function 0x1#${index} using TurboFan, took ${ms} ms and 1 / 2 max/total bytes; bodysize 100 codesize 200 name wasm-function#${index}`;

  it('gives each compile the phase announced last before its line, and "start" before any', () => {
    const output = [
      turbofan(1, 3),
      `${PHASE_MARK}create session`,
      turbofan(2, 40),
      'some other output',
      `${PHASE_MARK}runs`,
      turbofan(3, 900),
      turbofan(4, 7),
      '',
    ].join('\n');
    expect(collectTierUps(output).map(({ functionIndex, phase }) => [functionIndex, phase])).toEqual([
      [1, 'start'],
      [2, 'create session'],
      [3, 'runs'],
      [4, 'runs'],
    ]);
  });

  it('finds nothing in output without optimising compiles', () => {
    expect(collectTierUps(`${PHASE_MARK}runs\nDONE\n`)).toEqual([]);
  });
});
