/**
 * Per-constructor difference between two V8 heap snapshots (`.heapsnapshot`, e.g. from bench/e2e.ts's
 * `--heap-snapshot DIR`): count and self size of each (node type, name) group, after − before, optionally
 * divided by `--per N` (the number of shards). Self sizes only (no dominator tree): what each kind of object
 * itself occupies.
 * Run: node dist/scripts/heap-diff.js BEFORE.heapsnapshot AFTER.heapsnapshot [--per 200] [--top 40]
 */
import { readFileSync } from 'node:fs';

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[], ...unknown[]];
      edge_fields: string[];
      edge_types: [string[], ...unknown[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** `--detail NAME`: split the groups of that name by retainer (owner name . edge name) and own property names. */
let detail: string | undefined;

type Groups = Map<string, { count: number; bytes: number }>;

function groups(file: string): Groups {
  const s = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = s.snapshot.meta.node_fields;
  const types = s.snapshot.meta.node_types[0];
  const width = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const out: Groups = new Map();
  // Edges: each node's edges follow in order; `to_node` is an index into `nodes` (a multiple of width).
  const eFields = s.snapshot.meta.edge_fields;
  const eTypes = s.snapshot.meta.edge_types[0];
  const eWidth = eFields.length;
  const iEdgeCount = fields.indexOf('edge_count');
  const iEType = eFields.indexOf('type');
  const iEName = eFields.indexOf('name_or_index');
  const iETo = eFields.indexOf('to_node');
  const retainer = new Map<number, string>();
  const props = new Map<number, string>();
  if (detail !== undefined) {
    let e = 0;
    for (let i = 0; i < s.nodes.length; i += width) {
      const n = s.nodes[i + iEdgeCount]!;
      const owner = s.strings[s.nodes[i + iName]!]!.slice(0, 30);
      const own: string[] = [];
      for (let k = 0; k < n; k++, e += eWidth) {
        const et = eTypes[s.edges[e + iEType]!]!;
        if (et === 'weak' || et === 'shortcut') continue;
        const name =
          et === 'element' || et === 'hidden' ? `[${s.edges[e + iEName]}]` : s.strings[s.edges[e + iEName]!]!;
        const to = s.edges[e + iETo]!;
        if (et === 'property') own.push(name);
        if (!retainer.has(to)) retainer.set(to, `${owner}.${name}`);
      }
      props.set(i, own.slice(0, 8).join(','));
    }
  }
  for (let i = 0; i < s.nodes.length; i += width) {
    const type = types[s.nodes[i + iType]!]!;
    let name = s.strings[s.nodes[i + iName]!]!;
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '';
    else if (type === 'number') name = '';
    else if (type === 'code') name = name.length > 40 ? `${name.slice(0, 40)}…` : name;
    else if (name.length > 60) name = `${name.slice(0, 60)}…`;
    let key = `${type}:${name}`;
    if (detail !== undefined && key === detail)
      key += ` <- ${retainer.get(i) ?? '?'} {${props.get(i) ?? ''}}`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += s.nodes[i + iSize]!;
    out.set(key, g);
  }
  return out;
}

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const [beforeFile, afterFile] = args.filter((a, i) => !a.startsWith('--') && !args[i - 1]?.startsWith('--'));
if (!beforeFile || !afterFile) throw new Error('usage: heap-diff BEFORE AFTER [--per N] [--top N]');
detail = flag('detail');
const per = Number(flag('per') ?? 1);
const top = Number(flag('top') ?? 40);
const before = groups(beforeFile);
const after = groups(afterFile);
const rows: { key: string; count: number; bytes: number }[] = [];
for (const key of new Set([...before.keys(), ...after.keys()])) {
  const b = before.get(key) ?? { count: 0, bytes: 0 };
  const a = after.get(key) ?? { count: 0, bytes: 0 };
  rows.push({ key, count: (a.count - b.count) / per, bytes: (a.bytes - b.bytes) / per });
}
rows.sort((x, y) => y.bytes - x.bytes);
const total = rows.reduce((t, r) => t + r.bytes, 0);
console.log(
  `total self size Δ: ${(total / 1024).toFixed(2)} KiB${per !== 1 ? ` per ${per === 1 ? '' : '1/'}${per}` : ''}`,
);
console.log('bytes/per\tcount/per\tgroup');
for (const r of rows.slice(0, top)) console.log(`${r.bytes.toFixed(0)}\t${r.count.toFixed(2)}\t${r.key}`);
