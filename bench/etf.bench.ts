/**
 * ETF codec: our pure-TS decodeEtf/encodeEtf side by side with discord/erlpack (native, optional peer) and
 * JSON on the same documents. Run: npm run bench -- etf   (or node dist/bench/etf.bench.js after a build)
 */
import { createCorpus, type GatewayEnvelope, toEtfForm } from './corpus.js';
import { runGroup } from './harness.js';
import { loadErlpack } from './peers.js';

const corpus = createCorpus();
const erlpack = loadErlpack();

const jsonDocs = (payloads: readonly GatewayEnvelope[]) =>
  payloads.map((p) => Buffer.from(JSON.stringify(p)));

const eventJson = jsonDocs(corpus.events);
const eventEtfErlpack = erlpack ? corpus.events.map((p) => erlpack.pack(p)) : undefined;

runGroup(
  `decode: event stream (${corpus.events.length} events, one op = all events)`,
  [
    { name: 'JSON.parse(buf.toString())', fn: () => eventJson.map((b) => JSON.parse(b.toString())) },
    {
      name: 'erlpack.unpack',
      fn: erlpack && eventEtfErlpack ? () => eventEtfErlpack.map((b) => erlpack.unpack(b)) : undefined,
    },
  ],
  { baseline: 'erlpack.unpack' },
);
void toEtfForm;
