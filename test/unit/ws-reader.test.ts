import assert from 'node:assert/strict';
import { Buffer } from 'node:buffer';
import { test } from 'node:test';
import { WsFrameReader } from '../../src/transport/ws-reader.js';
import { frameBytes, fuzzWsFrames, runReader, runWs } from '../support/fuzz-ws-frames.js';

const h = (s: string): Buffer => Buffer.from(s, 'hex');
const hexOf = (s: string): string => Buffer.from(s).toString('hex');

/**
 * Byte vectors of ws' test/receiver.test.js (websockets/ws), each checked against ws' Receiver and our
 * reader: the same events, and the error codes ws' tests assert.
 */
const VECTORS: { name: string; chunks: Buffer[]; server?: boolean; max?: number; expect: string[] }[] = [
  {
    name: 'an unmasked text message',
    chunks: [h('810548656c6c6f')],
    expect: [`message text ${hexOf('Hello')}`],
  },
  { name: 'a close message', chunks: [h('8800')], expect: ['close 1005 '] },
  {
    name: 'a close message spanning multiple writes',
    chunks: [h('8806'), h('03e8444F4E45')],
    expect: [`close 1000 ${hexOf('DONE')}`],
  },
  {
    name: 'a masked text message (server side)',
    server: true,
    chunks: [h('81933483a86801b992524fa1c60959e68a5216e6cb005ba1d5')],
    expect: [`message text ${hexOf('5:::{"name":"echo"}')}`],
  },
  { name: 'a ping with no data', chunks: [h('8900')], expect: ['ping '] },
  {
    name: 'a fragmented message resets the length only on the final frame',
    max: 5,
    chunks: [h('01024865'), h('80036c6c6f')],
    expect: [`message text ${hexOf('Hello')}`],
  },
  {
    name: 'a fragmented binary message with a ping in the middle',
    max: 5,
    chunks: [h('02024865'), h('8900'), h('80036c6c6f')],
    expect: ['ping ', `message binary ${hexOf('Hello')}`],
  },
  {
    name: 'nothing after a close frame',
    chunks: [h('8800'), h('8100')],
    expect: ['close 1005 '],
  },
  {
    name: 'RSV1 without permessage-deflate',
    chunks: [h('c2800000 0000'.replace(' ', ''))],
    expect: ['error WS_ERR_UNEXPECTED_RSV_1 1002'],
  },
  { name: 'RSV1 with opcode 0', chunks: [h('4000')], expect: ['error WS_ERR_UNEXPECTED_RSV_1 1002'] },
  { name: 'RSV2', chunks: [h('a200')], expect: ['error WS_ERR_UNEXPECTED_RSV_2_3 1002'] },
  { name: 'RSV3', chunks: [h('9200')], expect: ['error WS_ERR_UNEXPECTED_RSV_2_3 1002'] },
  {
    name: 'a first fragment with opcode 0',
    chunks: [h('0000')],
    expect: ['error WS_ERR_INVALID_OPCODE 1002'],
  },
  {
    name: 'opcode 1 inside a fragmented message',
    chunks: [h('0100'), h('0100')],
    expect: ['error WS_ERR_INVALID_OPCODE 1002'],
  },
  {
    name: 'opcode 2 inside a fragmented message',
    chunks: [h('0100'), h('0200')],
    expect: ['error WS_ERR_INVALID_OPCODE 1002'],
  },
  { name: 'a reserved opcode', chunks: [h('8300')], expect: ['error WS_ERR_INVALID_OPCODE 1002'] },
  { name: 'a control frame without FIN', chunks: [h('0900')], expect: ['error WS_ERR_EXPECTED_FIN 1002'] },
  { name: 'a control frame with RSV1', chunks: [h('c900')], expect: ['error WS_ERR_UNEXPECTED_RSV_1 1002'] },
  {
    name: 'an unmasked frame on the server side',
    server: true,
    chunks: [h('81026869')],
    expect: ['error WS_ERR_EXPECTED_MASK 1002'],
  },
  {
    name: 'a masked frame on the client side',
    chunks: [h('8182563aac803e53')],
    expect: ['error WS_ERR_UNEXPECTED_MASK 1002'],
  },
  {
    name: 'a control frame over 125 bytes',
    chunks: [h('897e')],
    expect: ['error WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH 1002'],
  },
  {
    name: 'a length past 2^53 - 1',
    chunks: [h('827f'), h('fffffffffffffffff')],
    expect: ['error WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH 1009'],
  },
  {
    name: 'invalid UTF-8 in a text frame',
    chunks: [h('8104cebae1bd')],
    expect: ['error WS_ERR_INVALID_UTF8 1007'],
  },
  {
    name: 'a close frame of 1 byte',
    chunks: [h('8801')],
    expect: ['error WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH 1002'],
  },
  {
    name: 'an invalid close code',
    chunks: [h('88020000')],
    expect: ['error WS_ERR_INVALID_CLOSE_CODE 1002'],
  },
  {
    name: 'invalid UTF-8 in a close reason',
    chunks: [h('880603e8cebae1bd')],
    expect: ['error WS_ERR_INVALID_UTF8 1007'],
  },
  {
    name: 'a frame over maxPayload (refused from its header alone)',
    max: 20 * 1024,
    chunks: [h('827e5001')],
    expect: ['error WS_ERR_UNSUPPORTED_MESSAGE_LENGTH 1009'],
  },
  {
    name: 'fragments whose sum passes maxPayload',
    max: 25,
    chunks: [
      frameBytes({ fin: false, rsv: 0, opcode: 2, payload: Buffer.alloc(20) }),
      h('8006'),
      Buffer.alloc(6),
    ],
    expect: ['error WS_ERR_UNSUPPORTED_MESSAGE_LENGTH 1009'],
  },
];

for (const v of VECTORS) {
  test(`ws-reader agrees with ws' Receiver on ${v.name}`, async () => {
    const max = v.max ?? 1024 * 1024;
    const server = v.server ?? false;
    assert.deepEqual(await runWs(v.chunks, server, max), v.expect, 'ws itself');
    assert.deepEqual(runReader(v.chunks, server, max), v.expect);
    // The same bytes one at a time, and paused after every message.
    const bytes = [...Buffer.concat(v.chunks)].map((b) => Buffer.from([b]));
    assert.deepEqual(runReader(bytes, server, max, 1), v.expect);
  });
}

test('ws-reader reads thousands of frames in one read, and 200 KiB frames in pieces', async () => {
  const many = Buffer.concat(Array.from({ length: 10_000 }, () => h('810548656c6c6f')));
  const log = runReader([many], false, 1 << 20);
  assert.equal(log.length, 10_000);
  const big = frameBytes({ fin: true, rsv: 0, opcode: 2, payload: Buffer.alloc(200 * 1024, 7) });
  const pieces = [big.subarray(0, 1), big.subarray(1, 3), big.subarray(3, 9000), big.subarray(9000)];
  assert.deepEqual(runReader(pieces, false, 1 << 20), await runWs(pieces, false, 1 << 20));
  assert.equal(runReader(pieces, false, 1 << 20).length, 1);
});

test('ws-reader and ws agree on random frame streams, cut into random reads, paused or not', async () => {
  const result = await fuzzWsFrames(1501, 2000);
  assert.equal(result.mismatch, undefined, JSON.stringify(result.mismatch, null, 1)?.slice(0, 4000));
  // The generator reaches errors, closes and messages alike.
  assert.ok(result.errors > 100 && result.closes > 100 && result.messages > 1000, JSON.stringify(result));
});

/** A reader that pauses after its first message and logs what it reports. */
function pausingReader(log: string[]): WsFrameReader {
  const reader: WsFrameReader = new WsFrameReader(
    { maxMessageBytes: 1024 },
    {
      message: (data) => {
        log.push(`message ${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString()}`);
        reader.pause();
      },
      control: (opcode, payload) => log.push(`control ${opcode} ${payload.toString('hex')}`),
      error: (err) => log.push(`error ${err.reason}`),
    },
  );
  return reader;
}

test('ws-reader reports a close frame received behind a pause at once, dropping the data before it', () => {
  const log: string[] = [];
  const reader = pausingReader(log);
  reader.push(Buffer.concat([h('8102' + hexOf('m1')), h('8102' + hexOf('m2')), h('880203e8')]));
  assert.deepEqual(log, ['message m1', 'control 8 03e8']);
  assert.equal(reader.isOpen, false);
});

test('ws-reader does not look for a close frame past a frame it would refuse', () => {
  const log: string[] = [];
  const reader = pausingReader(log);
  reader.push(Buffer.concat([h('8102' + hexOf('m1')), h('8300'), h('880203e8')]));
  assert.deepEqual(log, ['message m1']);
  reader.resume();
  assert.deepEqual(log, ['message m1', 'error WS_ERR_INVALID_OPCODE']);
});
