import assert from 'node:assert/strict';
import { CodecError, type CodecErrorCode } from '../../src/errors.js';

/** Runs `fn`, asserts it throws a `CodecError` with `code`, and returns the error for further checks. */
export function throwsCode(fn: () => unknown, code: CodecErrorCode): CodecError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CodecError, `expected a CodecError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}
