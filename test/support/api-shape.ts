/**
 * Checks a runtime value against a type of discord-api-types, read from its declaration files with the
 * TypeScript checker: required keys present, primitives of the right kind, literals and enums equal,
 * arrays and nested objects checked element by element, unions matched by any member. Extra keys are
 * listed apart (TypeScript allows them too), so a test can tell missing or wrong fields from additions.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import ts from 'typescript';

export interface ShapeReport {
  /** Missing required keys and values of the wrong kind, as `path: problem`. */
  readonly errors: string[];
  /** Keys the type does not declare, as paths. */
  readonly extra: string[];
}

export interface ShapeChecker {
  /** Whether `discord-api-types/v10` exports a type of that name. */
  has(typeName: string): boolean;
  check(typeName: string, value: unknown): ShapeReport;
}

const MAX_DEPTH = 24;

/** Loads `discord-api-types/v10` into a TypeScript program (about a second) and returns a checker. */
export function createShapeChecker(): ShapeChecker {
  const require = createRequire(import.meta.url);
  // The package's exports map hides package.json; v10's runtime file sits beside its declarations.
  const entry = join(dirname(require.resolve('discord-api-types/v10')), 'v10.d.ts');
  const program = ts.createProgram([entry], {
    strict: true,
    exactOptionalPropertyTypes: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
    lib: ['lib.es2023.d.ts'],
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  if (!source) throw new Error(`cannot load ${entry}`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) throw new Error('discord-api-types/v10 has no module symbol');
  const exports = new Map<string, ts.Symbol>();
  for (const s of checker.getExportsOfModule(moduleSymbol)) exports.set(s.getName(), s);

  const typeOf = (name: string): ts.Type => {
    let symbol = exports.get(name);
    if (!symbol) throw new Error(`discord-api-types/v10 exports no ${name}`);
    if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
    return checker.getDeclaredTypeOfSymbol(symbol);
  };

  function kind(v: unknown): string {
    if (v === null) return 'null';
    if (Array.isArray(v)) return 'array';
    return typeof v;
  }

  function validate(value: unknown, type: ts.Type, path: string, depth: number, out: ShapeReport): void {
    if (depth > MAX_DEPTH) return;
    const f = type.flags;
    if (f & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    // A whole enum: bit flags combine members into values no single member has, so check the kind only.
    if (
      f & ts.TypeFlags.Enum ||
      (type.isUnion() && type.types.every((m) => m.flags & ts.TypeFlags.EnumLiteral))
    ) {
      const numeric = (type.isUnion() ? type.types : [type]).every((m) => m.flags & ts.TypeFlags.NumberLike);
      if (typeof value !== (numeric ? 'number' : 'string'))
        out.errors.push(
          `${path}: ${kind(value)} is not a ${numeric ? 'number' : 'string'} (${checker.typeToString(type)})`,
        );
      return;
    }
    if (type.isUnion()) {
      let best: ShapeReport | undefined;
      let match: ShapeReport | undefined;
      for (const member of type.types) {
        const r: ShapeReport = { errors: [], extra: [] };
        validate(value, member, path, depth + 1, r);
        if (r.errors.length === 0) {
          if (!match || r.extra.length < match.extra.length) match = r;
        } else if (!best || r.errors.length < best.errors.length) best = r;
      }
      if (match) {
        out.extra.push(...match.extra);
        return;
      }
      if (best && kind(value) === 'object' && best.errors.every((e) => e.startsWith(`${path}.`)))
        out.errors.push(...best.errors);
      else
        out.errors.push(
          `${path}: ${JSON.stringify(value)?.slice(0, 60)} is not ${checker.typeToString(type)}`,
        );
      return;
    }
    const objectIntersection =
      type.isIntersection() && type.types.every((m) => m.flags & ts.TypeFlags.Object);
    // Object intersections TypeScript reduced to never (`APIDMChannel & { type: GuildText }`) declare nothing.
    if (objectIntersection && checker.getPropertiesOfType(type).length === 0) {
      out.errors.push(`${path}: no value is allowed here`);
      return;
    }
    if (type.isIntersection() && !objectIntersection) {
      for (const member of type.types) validate(value, member, path, depth + 1, out);
      return;
    }
    // An enum of one member is typed as that member; by name (no `Enum.Member`) it is the whole enum.
    if (f & ts.TypeFlags.EnumLiteral && !checker.typeToString(type).includes('.')) {
      if (typeof value !== typeof (type as ts.LiteralType).value)
        out.errors.push(`${path}: ${kind(value)} is not a ${typeof (type as ts.LiteralType).value}`);
      return;
    }
    if (type.isStringLiteral() || type.isNumberLiteral()) {
      if (value !== type.value)
        out.errors.push(`${path}: ${JSON.stringify(value)} is not ${JSON.stringify(type.value)}`);
      return;
    }
    if (f & ts.TypeFlags.BooleanLiteral) {
      const expected = checker.typeToString(type) === 'true';
      if (value !== expected) out.errors.push(`${path}: ${JSON.stringify(value)} is not ${expected}`);
      return;
    }
    if (f & (ts.TypeFlags.String | ts.TypeFlags.TemplateLiteral | ts.TypeFlags.StringMapping)) {
      if (typeof value !== 'string') out.errors.push(`${path}: ${kind(value)} is not a string`);
      return;
    }
    if (f & ts.TypeFlags.Number) {
      if (typeof value !== 'number') out.errors.push(`${path}: ${kind(value)} is not a number`);
      return;
    }
    if (f & ts.TypeFlags.Boolean) {
      if (typeof value !== 'boolean') out.errors.push(`${path}: ${kind(value)} is not a boolean`);
      return;
    }
    if (f & ts.TypeFlags.Null) {
      if (value !== null) out.errors.push(`${path}: ${kind(value)} is not null`);
      return;
    }
    if (f & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)) {
      if (value !== undefined) out.errors.push(`${path}: ${kind(value)} is not undefined`);
      return;
    }
    if (f & ts.TypeFlags.Never) {
      out.errors.push(`${path}: no value is allowed here`);
      return;
    }
    if (f & ts.TypeFlags.Object || objectIntersection) {
      if (checker.isArrayType(type) || checker.isTupleType(type)) {
        if (!Array.isArray(value)) {
          out.errors.push(`${path}: ${kind(value)} is not an array`);
          return;
        }
        const args = checker.getTypeArguments(type as ts.TypeReference);
        value.forEach((v, i) => {
          const t = checker.isTupleType(type) ? args[i] : args[0];
          if (t) validate(v, t, checker.isTupleType(type) ? `${path}[${i}]` : `${path}[]`, depth + 1, out);
        });
        return;
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        out.errors.push(`${path}: ${kind(value)} is not an object (${checker.typeToString(type)})`);
        return;
      }
      const record = value as Record<string, unknown>;
      const declared = new Set<string>();
      for (const prop of checker.getPropertiesOfType(type)) {
        const name = prop.getName();
        declared.add(name);
        const optional = (prop.flags & ts.SymbolFlags.Optional) !== 0;
        const v = record[name];
        if (!(name in record)) {
          if (!optional) out.errors.push(`${path}.${name}: missing`);
          continue;
        }
        const decl = prop.valueDeclaration ?? prop.declarations?.[0];
        const propType = decl ? checker.getTypeOfSymbolAtLocation(prop, decl) : checker.getTypeOfSymbol(prop);
        validate(v, propType, `${path}.${name}`, depth + 1, out);
      }
      const index = checker.getIndexInfosOfType(type);
      for (const [k, v] of Object.entries(record)) {
        if (declared.has(k)) continue;
        if (index.length > 0) validate(v, index[0]!.type, `${path}.${k}`, depth + 1, out);
        else out.extra.push(`${path}.${k}`);
      }
      return;
    }
    // Enum members (number or string) and anything else: compare the primitive kind only.
    if (f & ts.TypeFlags.EnumLike) {
      if (typeof value !== 'number' && typeof value !== 'string')
        out.errors.push(`${path}: ${kind(value)} is not an enum value`);
    }
  }

  return {
    has: (name) => exports.has(name),
    check(typeName, value) {
      const out: ShapeReport = { errors: [], extra: [] };
      validate(value, typeOf(typeName), 'd', 0, out);
      return out;
    },
  };
}
