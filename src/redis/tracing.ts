/**
 * The tracing hook of the event streams: a span per dispatch, opened by the worker that publishes it and
 * continued by the consumer that handles it, the W3C `traceparent` carried in the stream entry (field `tp`).
 * Shardline itself depends on no tracing library: `shardline/otel` implements this over
 * `@opentelemetry/api`. Without a `tracing` option nothing here runs.
 */

/** One dispatch's span on either side of the stream. */
export interface DispatchSpan {
  /** The span's W3C traceparent (`00-<trace id>-<span id>-<flags>`); undefined when it is not sampled. */
  readonly traceparent: string | undefined;
  /** Ends the span; with `error`, marks it failed first. A second call does nothing. */
  end(error?: unknown): void;
}

/** The consumer's span of one event: `context` is the tracer's context holding it, for child spans. */
export interface ConsumeSpan extends DispatchSpan {
  readonly context: unknown;
}

/** What a span is about. */
export interface DispatchSpanInfo {
  readonly shardId: number;
  /** The dispatch's `t`. */
  readonly type: string;
  /** The dispatch's `s`. */
  readonly seq: number;
}

export interface DispatchTracing {
  /** Worker side: the shard received this dispatch; the span ends once it is in Redis. */
  publish(info: DispatchSpanInfo): DispatchSpan;
  /**
   * Consumer side: handling this event, as a child of `traceparent` (the publisher's span) when the
   * entry carries a valid one; the span ends when the event is acknowledged.
   */
  consume(traceparent: string | undefined, info: DispatchSpanInfo & ConsumeSpanInfo): ConsumeSpan;
}

export interface ConsumeSpanInfo {
  readonly stream: string;
  readonly id: string;
  readonly deliveries: number;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A W3C traceparent parsed; undefined for anything else (a hostile or foreign field is ignored). */
export function parseTraceparent(
  value: string | undefined,
): { traceId: string; spanId: string; flags: number } | undefined {
  if (value === undefined || value.length !== 55) return undefined;
  const m = TRACEPARENT.exec(value);
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, flags: Number.parseInt(m[3]!, 16) };
}

/** `00-<trace id>-<span id>-<flags>`. */
export function formatTraceparent(traceId: string, spanId: string, flags: number): string {
  return `00-${traceId}-${spanId}-${(flags & 0xff).toString(16).padStart(2, '0')}`;
}
