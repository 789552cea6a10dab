import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startDashboard } from '../../src/dashboard/server.js';
import { waitFor } from '../support/wait.js';

test('a client that stops reading its event stream is skipped, then dropped; a reading client is still served', async (t) => {
  const dashboard = await startDashboard({
    title: 'slow client',
    tickMs: 10,
    maxBufferedBytes: 4096,
    slowClientTicks: 5,
    // 200 kB a frame: the stalled client's socket buffers fill within a few ticks.
    info: () => [['payload', 'x'.repeat(200_000)]],
  });
  t.after(() => dashboard.close());
  const { port } = new URL(dashboard.url);

  const healthy = await fetch(`${dashboard.url}events`);
  assert.equal(healthy.status, 200);
  const reader = healthy.body!.getReader();
  let received = 0;
  const reading = (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      received += value.length;
    }
  })();
  t.after(async () => {
    await reader.cancel().catch(() => undefined);
    await reading;
  });
  await waitFor(() => dashboard.clients === 1, { what: 'the reading client counted' });

  // A raw socket that sends the request and then never reads a byte.
  const stalled = connect(Number(port), '127.0.0.1');
  stalled.on('error', () => {});
  t.after(() => stalled.destroy());
  await new Promise<void>((resolve) => stalled.once('connect', () => resolve()));
  stalled.pause();
  stalled.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
  await waitFor(() => dashboard.clients === 2, { what: 'the stalled client counted', everyMs: 1 });
  await waitFor(() => dashboard.clients === 1, {
    what: () => `the stalled client dropped (clients ${dashboard.clients})`,
    timeoutMs: 60_000,
  });
  const before = received;
  await waitFor(() => received > before + 1_000_000, {
    what: 'the reading client still served',
    timeoutMs: 60_000,
  });
});
