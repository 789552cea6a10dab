// Public API of `shardline/otel`: OpenTelemetry traces for the Redis event streams. The only module of
// Shardline that imports `@opentelemetry/api` (an optional peer dependency); the SDK is the application's.
import {
  type Attributes,
  type Context,
  context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import type {
  ConsumeSpan,
  ConsumeSpanInfo,
  DispatchSpan,
  DispatchSpanInfo,
  DispatchTracing,
} from '../redis/tracing.js';
import { formatTraceparent, parseTraceparent } from '../redis/tracing.js';

export type { ConsumeSpan, ConsumeSpanInfo, DispatchSpan, DispatchSpanInfo, DispatchTracing };

export interface OtelTracingOptions {
  /** The tracer (default `trace.getTracer('shardline')` of the globally registered provider). */
  readonly tracer?: Tracer;
}

function attributes(info: DispatchSpanInfo): Attributes {
  return {
    'messaging.system': 'redis',
    'discord.shard_id': info.shardId,
    'discord.event.type': info.type,
    'discord.event.seq': info.seq,
  };
}

function ender(span: Span): (error?: unknown) => void {
  let ended = false;
  return (error) => {
    if (ended) return;
    ended = true;
    if (error !== undefined) {
      const message = error instanceof Error ? error.message : String(error);
      if (error instanceof Error) span.recordException(error);
      span.setStatus({ code: SpanStatusCode.ERROR, message });
    }
    span.end();
  };
}

function traceparentOf(span: Span): string | undefined {
  const c = span.spanContext();
  if (!trace.isSpanContextValid(c)) return undefined;
  return formatTraceparent(c.traceId, c.spanId, c.traceFlags);
}

/**
 * A `DispatchTracing` over OpenTelemetry: the worker's span `<TYPE> publish` (kind PRODUCER) lasts from the
 * dispatch until it is in Redis; the consumer's span `<TYPE> process` (kind CONSUMER) from the read until
 * `ack()`, as a child of the worker's span through the `traceparent` stored in the entry. Pass it as
 * `tracing` to `ShardWorker`, `RedisEventPublisher` and `consume()`.
 */
export function otelTracing(options: OtelTracingOptions = {}): DispatchTracing {
  const tracer = options.tracer ?? trace.getTracer('shardline');
  return {
    publish(info: DispatchSpanInfo): DispatchSpan {
      const span = tracer.startSpan(`${info.type} publish`, {
        kind: SpanKind.PRODUCER,
        attributes: { ...attributes(info), 'messaging.operation.type': 'publish' },
      });
      return { traceparent: traceparentOf(span), end: ender(span) };
    },
    consume(traceparent: string | undefined, info: DispatchSpanInfo & ConsumeSpanInfo): ConsumeSpan {
      const remote = parseTraceparent(traceparent);
      const parent = remote
        ? trace.setSpanContext(ROOT_CONTEXT, {
            traceId: remote.traceId,
            spanId: remote.spanId,
            traceFlags: remote.flags,
            isRemote: true,
          })
        : context.active();
      const span = tracer.startSpan(
        `${info.type} process`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            ...attributes(info),
            'messaging.operation.type': 'process',
            'messaging.destination.name': info.stream,
            'messaging.message.id': info.id,
            'shardline.deliveries': info.deliveries,
          },
        },
        parent,
      );
      return { traceparent: traceparentOf(span), context: trace.setSpan(parent, span), end: ender(span) };
    },
  };
}

/**
 * Runs `fn` with the event's consumer span as the active span, so spans the handler starts are its
 * children. Without a span (tracing off) it just runs `fn`.
 */
export function withEventSpan<T>(event: { readonly trace?: ConsumeSpan | undefined }, fn: () => T): T {
  const ctx = event.trace?.context as Context | undefined;
  return ctx === undefined ? fn() : context.with(ctx, fn);
}
