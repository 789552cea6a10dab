/** A decoded gateway payload. A `skipped` dispatch had its `d` left undecoded by the dispatch filter. */
export interface GatewayEnvelope {
  readonly op: number;
  readonly d: unknown;
  readonly s: number | null;
  readonly t: string | null;
  readonly skipped?: boolean;
}
