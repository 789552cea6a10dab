/** A dispatch on its way to client sessions: shared by all of them, its JSON encoded once, lazily. */
import { encodeJson } from '../../codec/json.js';

export class OutboundEvent {
  readonly t: string;
  readonly d: unknown;
  #json: string | undefined;

  constructor(t: string, d: unknown) {
    this.t = t;
    this.d = d;
  }

  json(): string {
    this.#json ??= encodeJson(this.d);
    return this.#json;
  }
}
