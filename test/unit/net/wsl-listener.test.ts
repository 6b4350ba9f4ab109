// The watch behind listen({ wsl: true }): when it asks, what it reports, and
// the option checks — with a source the test controls (the engine suite
// drives the same watch through a real Server and real sockets).
import { describe, expect, it } from 'vitest';
import { wantsWsl, WslWatch, wslServicePart } from '../../../src/net/wsl-listener.js';

const A = '5c0a7e2b-3f1d-4e8a-9b6c-1d2e3f405162';
const B = 'de1517ec-bf1d-5a0b-b459-77a48cb1ad97';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 5) {
    if (waited > 10_000) throw new Error(`still waiting: ${what}`);
    await sleep(5);
  }
}

function recorder(answers: Array<string | Error>, bind: (vmId: string) => boolean = () => true) {
  const events: string[] = [];
  const asked: Array<string | null> = [];
  let next = 0;
  const watch = new WslWatch(
    async (previous) => {
      asked.push(previous);
      const answer = answers[Math.min(next++, answers.length - 1)] as string | Error;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    5,
    {
      found: (vmId, previous) => {
        events.push(`found ${vmId} after ${previous}`);
        return bind(vmId);
      },
      lost: (error) => events.push(`lost ${error.message}`),
    },
  );
  return { watch, events, asked };
}

describe('WslWatch', () => {
  it('binds the first ID, then each new one, passing the bound ID to the source; an unchanged ID is no event', async () => {
    const { watch, events, asked } = recorder([A.toUpperCase(), A, A, B]);
    watch.start();
    await until(() => events.length === 2, 'two binds');
    watch.stop();
    expect(events).toEqual([`found ${A} after null`, `found ${B} after ${A}`]);
    expect(asked.slice(0, 4)).toEqual([null, A, A, A]);
  });

  it('reports a down spell once, however many checks fail, then the new VM', async () => {
    const down = new Error('no running WSL 2 VM was found');
    const { watch, events } = recorder([A, down, down, down, B]);
    watch.start();
    await until(() => events.length === 3, 'bind, lost, bind');
    watch.stop();
    expect(events).toEqual([`found ${A} after null`, `lost ${down.message}`, `found ${B} after ${A}`]);
  });

  it('after a failed check that finds the same VM again, a later failure is a new spell', async () => {
    const down = new Error('wsl.exe did not finish (ETIMEDOUT)');
    const { watch, events } = recorder([A, down, A, down, B]);
    watch.start();
    await until(() => events.length === 4, 'four events');
    watch.stop();
    expect(events).toEqual([`found ${A} after null`, `lost ${down.message}`, `lost ${down.message}`, `found ${B} after ${A}`]);
  });

  it('treats an answer that is not a GUID as a failed check', async () => {
    const { watch, events } = recorder(['garbage', A]);
    watch.start();
    await until(() => events.length === 2, 'lost then found');
    watch.stop();
    expect(events).toEqual(['lost the WSL VM ID source answered garbage, not a GUID', `found ${A} after null`]);
  });

  it('stops asking when a bind fails, and after stop()', async () => {
    const failing = recorder([A, B], () => false);
    failing.watch.start();
    await until(() => failing.events.length === 1, 'the failed bind');
    await sleep(50);
    expect(failing.asked).toEqual([null]);
    const stopped = recorder([A]);
    stopped.watch.start();
    await until(() => stopped.events.length === 1, 'the bind');
    stopped.watch.stop();
    const count = stopped.asked.length;
    await sleep(50);
    expect(stopped.asked.length).toBe(count);
  });
});

describe('listen({ wsl }) options', () => {
  it('takes a boolean only, and no machine part or fd beside it', () => {
    expect(wantsWsl({})).toBe(false);
    expect(wantsWsl({ wsl: false })).toBe(false);
    expect(wantsWsl({ wsl: true })).toBe(true);
    expect(() => wantsWsl({ wsl: 'yes' as unknown as boolean })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }));
    expect(wslServicePart({ wsl: true, port: 5000, backlog: 8 })).toEqual({ port: 5000, backlog: 8 });
    for (const extra of [{ cid: 2 }, { vmId: A }, { fd: 3 }]) {
      expect(() => wslServicePart({ wsl: true, port: 5000, ...extra })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE', message: expect.stringMatching(/cannot be given with wsl: true/) }),
      );
    }
  });
});
