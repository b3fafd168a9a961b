import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLane, runLanes, type Lane, type LaneResult } from '../../../scripts/ci/lanes.ts';

/** A shell command running a line of JavaScript in Node. */
function node(script: string): string {
  return `node -e ${JSON.stringify(script)}`;
}

/** A command that prints `message` once file `flag` exists, and fails if it has not appeared within a minute. */
function waitForFile(flag: string, message: string): string {
  return node(
    `const fs = require("fs"); const end = Date.now() + 60000; ` +
      `const poll = () => fs.existsSync(${JSON.stringify(flag)}) ? console.log(${JSON.stringify(message)}) ` +
      `: Date.now() > end ? process.exit(1) : setTimeout(poll, 20); poll();`,
  );
}

describe('npm test: static checks in parallel lanes', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'pvf-lanes-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const cases: [string, Lane[], Pick<LaneResult, 'name' | 'code'>[], string[][], string[][]][] = [
    [
      'two passing lanes, stdout and stderr of every command, in order',
      [
        { name: 'a', commands: [node('console.log("a1")'), node('console.error("a2")')] },
        { name: 'b', commands: [node('console.log("b1")')] },
      ],
      [
        { name: 'a', code: 0 },
        { name: 'b', code: 0 },
      ],
      [['a1', 'a2'], ['b1']],
      [[], []],
    ],
    [
      'a failing command ends its lane with its exit code; the other lane still runs to its end',
      [
        { name: 'a', commands: [node('console.log("a1"); process.exit(3)'), node('console.log("a2")')] },
        { name: 'b', commands: [node('console.log("b1")'), node('console.log("b2")')] },
      ],
      [
        { name: 'a', code: 3 },
        { name: 'b', code: 0 },
      ],
      [['a1'], ['b1', 'b2']],
      [['a2'], []],
    ],
    [
      'a command that cannot start fails its lane',
      [{ name: 'a', commands: ['a-command-that-does-not-exist-here'] }],
      [{ name: 'a', code: 127 }],
      [['a-command-that-does-not-exist-here']],
      [[]],
    ],
  ];

  it.each(cases)('%s', async (_, lanes, verdicts, shown, notShown) => {
    const results = await runLanes(lanes, dir);
    expect(results.map(({ name, code }) => ({ name, code }))).toEqual(verdicts);
    results.forEach((result, lane) => {
      let from = 0;
      for (const text of shown[lane] ?? []) {
        const at = result.output.indexOf(text, from);
        expect(at, `${text} in lane ${result.name}`).toBeGreaterThanOrEqual(from);
        from = at + text.length;
      }
      for (const text of notShown[lane] ?? []) {
        expect(result.output).not.toMatch(new RegExp(`^${text}$`, 'm'));
      }
    });
  });

  it('runs the lanes at once: a lane can wait for what another one does', async () => {
    const flag = path.join(dir, 'flag');
    // Lane "waits" ends as soon as the file exists, and fails if it never appears (as it would with lanes run
    // one after the other, "waits" first).
    const waits = waitForFile(flag, 'seen');
    const writes = node(`require("fs").writeFileSync(${JSON.stringify(flag)}, "")`);
    const results = await runLanes(
      [
        { name: 'waits', commands: [waits] },
        { name: 'writes', commands: [writes] },
      ],
      dir,
    );
    expect(results.map((result) => result.code)).toEqual([0, 0]);
    expect(results[0]?.output).toContain('seen');
  });

  it('reports each lane whole when it ends, the first to end first', async () => {
    const flag = path.join(dir, 'second-flag');
    const slow = waitForFile(flag, 'slow done');
    const fast = node(`console.log("fast done"); require("fs").writeFileSync(${JSON.stringify(flag)}, "")`);
    const reported: string[] = [];
    await runLanes(
      [
        { name: 'slow', commands: [slow] },
        { name: 'fast', commands: [fast] },
      ],
      dir,
      (result) => reported.push(formatLane(result)),
    );
    expect(reported).toHaveLength(2);
    expect(reported[0]).toMatch(/^=== fast: passed in \d+\.\d s ===\n> node -e .*\nfast done\n$/);
    expect(reported[1]).toMatch(/^=== slow: passed in \d+\.\d s ===\n> node -e .*\nslow done\n$/);
  });

  it('says which lane failed and with what exit code', () => {
    const block = formatLane({ name: 'types', code: 2, output: 'error TS2345', seconds: 12.34 });
    expect(block).toBe('=== types: FAILED (exit code 2) in 12.3 s ===\nerror TS2345\n');
  });
});
