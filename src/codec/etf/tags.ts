/**
 * Erlang External Term Format constants (https://www.erlang.org/doc/apps/erts/erl_ext_dist.html).
 * Multi-byte lengths are big-endian; bignum digits are little-endian.
 */
export const ETF_VERSION = 131;

export const Tag = {
  NEW_FLOAT: 70,
  BIT_BINARY: 77,
  COMPRESSED: 80,
  SMALL_INTEGER: 97,
  INTEGER: 98,
  FLOAT: 99,
  ATOM: 100,
  SMALL_TUPLE: 104,
  LARGE_TUPLE: 105,
  NIL: 106,
  STRING: 107,
  LIST: 108,
  BINARY: 109,
  SMALL_BIG: 110,
  LARGE_BIG: 111,
  SMALL_ATOM: 115,
  MAP: 116,
  ATOM_UTF8: 118,
  SMALL_ATOM_UTF8: 119,
} as const;
export type TagName = keyof typeof Tag;
export type TagByte = (typeof Tag)[TagName];

/** Tag byte → name, for error messages. */
export function tagName(tag: number): string {
  for (const [name, value] of Object.entries(Tag)) if (value === tag) return `${name}_EXT`;
  return `tag ${tag}`;
}

/** Length of the ASCII `%.20e` text field of the legacy FLOAT_EXT. */
export const FLOAT_EXT_BYTES = 31;
