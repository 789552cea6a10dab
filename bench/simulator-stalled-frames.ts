/**
 * What stalled (never finished) client frames cost the simulator: a simulator in a child process, N raw
 * TCP connections that each upgrade, then send the header of one frame declaring `--declare` bytes and
 * `--send` bytes of its payload, and stop. Prints the simulator's RSS before and after, and how many
 * connections it closed (and with which code). Not a timed test: a measurement to run by hand.
 *
 *   npm run build && node dist/bench/simulator-stalled-frames.js --connections 400
 *   node dist/bench/simulator-stalled-frames.js --module /path/to/other/dist/src/simulator/index.js
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';

interface Usage {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

const MiB = 1024 * 1024;

async function child(modulePath: string): Promise<void> {
  const { startSimulator } = (await import(modulePath)) as typeof import('../src/simulator/index.js');
  const sim = await startSimulator({ guilds: 0, heartbeatIntervalMs: 600_000 });
  process.send!({ port: sim.port });
  process.on('message', (m: string) => {
    if (m === 'usage') {
      globalThis.gc?.();
      const u = process.memoryUsage();
      const s = sim.stats();
      process.send!({
        usage: { rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers },
        open: s.connectionsOpen,
        closes: s.serverClosesByCode,
      });
    } else if (m === 'stop') void sim.close().then(() => process.exit(0));
  });
}

function upgrade(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('error', reject);
    const key = randomBytes(16).toString('base64');
    socket.write(
      `GET /?v=10&encoding=json HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    let head = '';
    const onData = (c: Buffer) => {
      head += c.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', onData);
        if (!head.startsWith('HTTP/1.1 101')) reject(new Error(head.split('\r\n')[0]));
        else resolve(socket);
      }
    };
    socket.on('data', onData);
  });
}

/** Header of one masked binary frame declaring `length` payload bytes. */
function frameHeader(length: number): Buffer {
  const head = Buffer.alloc(14);
  head[0] = 0x82;
  head[1] = 0x80 | 127;
  head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
  head.writeUInt32BE(length >>> 0, 6);
  return head; // mask key 0: the payload goes as is
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '400' },
      declare: { type: 'string', default: String(MiB - 64) },
      send: { type: 'string', default: String(MiB - 1024) },
      module: { type: 'string', default: new URL('../src/simulator/index.js', import.meta.url).pathname },
      child: { type: 'boolean', default: false },
    },
  });
  if (values.child) return child(values.module);
  const n = Number(values.connections);
  const declare = Number(values.declare);
  const sendBytes = Math.min(Number(values.send), declare - 1);
  const sim = fork(new URL(import.meta.url).pathname, ['--child', '--module', values.module], {
    execArgv: ['--expose-gc'],
  });
  const next = () => new Promise<Record<string, unknown>>((r) => sim.once('message', (m) => r(m as never)));
  const { port } = (await next()) as { port: number };
  const usage = async () => {
    sim.send('usage');
    return (await next()) as { usage: Usage; open: number; closes: Record<string, number> };
  };
  const before = await usage();
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) sockets.push(await upgrade(port));
  const idle = await usage();
  const payload = Buffer.alloc(sendBytes, 0x20);
  const closedByServer = new Set<Socket>();
  for (const s of sockets) {
    s.on('error', () => {});
    s.on('close', () => closedByServer.add(s));
    s.write(Buffer.concat([frameHeader(declare), payload]));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const stalled = await usage();
  const fmt = (u: Usage) =>
    `rss ${(u.rss / MiB).toFixed(1)} MiB, heap ${(u.heapUsed / MiB).toFixed(1)} MiB, arrayBuffers ${(u.arrayBuffers / MiB).toFixed(1)} MiB`;
  console.log(`simulator module: ${values.module}`);
  console.log(
    `${n} connections, each a frame declaring ${declare} bytes with ${sendBytes} sent, then stalled`,
  );
  console.log(`before connecting:  ${fmt(before.usage)}`);
  console.log(`connected, idle:    ${fmt(idle.usage)}`);
  console.log(`frames stalled:     ${fmt(stalled.usage)}`);
  console.log(
    `stalled − idle: rss +${((stalled.usage.rss - idle.usage.rss) / MiB).toFixed(1)} MiB; ` +
      `open ${stalled.open}/${n}; server closes ${JSON.stringify(stalled.closes)}`,
  );
  for (const s of sockets) s.destroy();
  sim.send('stop');
}

await main();
