/** A decoded gateway payload. A `skipped` dispatch had its `d` left undecoded by the dispatch filter. */
export interface GatewayEnvelope {
  readonly op: number;
  readonly d: unknown;
  readonly s: number | null;
  readonly t: string | null;
  readonly skipped?: boolean;
  /** JSON text of a dispatch left undecoded for another thread to parse (`rawDispatch`); `d` is undefined. */
  readonly raw?: string;
}
