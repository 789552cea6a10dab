/**
 * `--dashboard-port N` and `--dashboard-host H`, shared by `demo`, `connect`, `worker` and `proxy`: the
 * flags, their usage lines, their checks, and starting the dashboard (src/dashboard/) from them.
 */
import { type Dashboard, type DashboardOptions, startDashboard } from '../dashboard/server.js';
import { DEFAULT_KEY_PREFIX } from '../redis/client.js';
import { type FlagValues, intFlag, UsageError } from './args.js';

export const DASHBOARD_FLAGS = {
  'dashboard-port': { type: 'string' },
  'dashboard-host': { type: 'string' },
} as const;

/** The usage lines of the flags; `shows` says what this command's page holds. */
export function dashboardUsage(shows: string): string {
  return `  --dashboard-port N       serve a live web dashboard on http://127.0.0.1:N/ (0 = any free port): ${shows}
  --dashboard-host H       interface of the dashboard (default 127.0.0.1; anything else exposes it)`;
}

export interface DashboardFlags {
  readonly port: number;
  readonly host: string;
}

/** A host name or address to listen on, as `--name` (letters, digits, `.`, `:`, `-`, `_`). */
export function hostFlag(name: string, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  if (!/^[\w.:-]{1,253}$/.test(raw))
    throw new UsageError(`--${name} must be a host name or address, got '${raw}'`);
  return raw;
}

/** The dashboard flags, or undefined when `--dashboard-port` is absent. */
export function parseDashboardFlags(values: FlagValues): DashboardFlags | undefined {
  const port = intFlag('dashboard-port', values['dashboard-port'] as string | undefined, {
    min: 0,
    max: 65_535,
  });
  const host = hostFlag('dashboard-host', values['dashboard-host'] as string | undefined);
  if (port === undefined) {
    if (host !== undefined) throw new UsageError('--dashboard-host needs --dashboard-port N');
    return undefined;
  }
  return { port, host: host ?? '127.0.0.1' };
}

/** Starts the dashboard the flags ask for (undefined when they ask for none). */
export async function openDashboard(
  flags: DashboardFlags | undefined,
  options: Omit<DashboardOptions, 'port' | 'host'>,
): Promise<Dashboard | undefined> {
  if (flags === undefined) return undefined;
  return startDashboard({ ...options, port: flags.port, host: flags.host });
}

/** Where a Redis URL points, for people: host, port and key prefix, never the user or password. */
export function describeRedis(url: string, prefix = DEFAULT_KEY_PREFIX): string {
  let host: string;
  try {
    host = new URL(url).host;
  } catch {
    host = 'an unparsable URL';
  }
  return `redis ${host} (prefix ${prefix})`;
}
