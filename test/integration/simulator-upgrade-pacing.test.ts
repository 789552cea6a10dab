import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';

const UPGRADE =
  'GET /?v=10&encoding=json HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

/**
 * A client opening thousands of sockets at once used to keep the simulator in one poll phase for seconds
 * (each new connection costs a compression context and a Hello), while the identifies of connections
 * already open waited unread and were then stamped together. Upgrades are now set up a few per event-loop
 * turn, the rest queued in arrival order.
 */
/**
 * The clients run in another process, as a gateway client does: it connects `n` sockets, then writes every
 * upgrade request at once, so the simulator's next poll phase finds all of them readable. Prints the status
 * line of every answer.
 */
const CLIENT = `
import { connect } from 'node:net';
const [port, n, request] = process.argv.slice(1);
const sockets = await Promise.all(Array.from({ length: Number(n) }, () => new Promise((resolve, reject) => {
  const s = connect(Number(port), '127.0.0.1', () => resolve(s));
  s.once('error', reject);
})));
await new Promise((resolve) => setTimeout(resolve, 200));
const lines = sockets.map((s) => new Promise((resolve) => {
  let text = '';
  s.on('data', (d) => { text += d.toString('latin1'); if (text.includes('\\r\\n')) resolve(text.split('\\r\\n')[0]); });
}));
for (const s of sockets) s.write(request);
console.log(JSON.stringify(await Promise.all(lines)));
for (const s of sockets) s.destroy();
`;

test('the simulator sets up a burst of simultaneous connections a few per event-loop turn, all of them', async () => {
  // `turn` counts check phases; the connections opened between two of them share one value.
  let turn = 0;
  let ticking = true;
  const tick = (): void => {
    turn++;
    if (ticking) setImmediate(tick);
  };
  const opensPerTurn = new Map<number, number>();
  const sim = await startSimulator({
    observer: { connectionOpened: () => opensPerTurn.set(turn, (opensPerTurn.get(turn) ?? 0) + 1) },
  });
  const n = 120;
  try {
    setImmediate(tick);
    const child = spawn(
      process.execPath,
      ['--input-type=module', '-e', CLIENT, String(sim.port), String(n), UPGRADE],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 0);
    const statusLines = JSON.parse(out) as string[];
    assert.equal(statusLines.length, n);
    for (const line of statusLines) assert.equal(line, 'HTTP/1.1 101 Switching Protocols');
    assert.equal(sim.stats().connectionsTotal, n);
    const most = Math.max(...opensPerTurn.values());
    // 16 per turn; a turn seen from the test's check-phase callback can hold the end of one and the start of
    // the next. Set up all in one poll phase, the 120 shared one turn.
    assert.ok(most <= 32, `${most} connections were set up between two event-loop turns`);
  } finally {
    ticking = false;
    await sim.close();
  }
});

test('connections still queued when the simulator closes are dropped, not set up', async () => {
  const sim = await startSimulator();
  const n = 60;
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = connect(sim.port, '127.0.0.1', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  const closed = sockets.map((s) => new Promise<void>((resolve) => s.once('close', () => resolve())));
  for (const s of sockets) s.on('error', () => {});
  for (const s of sockets) s.write(UPGRADE);
  // Close while the burst is being set up: every socket ends, and the simulator stays closed.
  await new Promise<void>((resolve) => setImmediate(resolve));
  await sim.close();
  await Promise.all(closed);
  assert.ok(sim.stats().connectionsTotal <= n);
});
