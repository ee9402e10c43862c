import os from 'node:os';
import type { Config } from '../config/schema.ts';
import { createAdminClient, type AdminClient } from '../admin/admin-client.ts';
import { StranglerError } from '../errors.ts';

/** The running proxy's admin API as routes.yaml describes it, or undefined without admin:. */
export function adminClientFor(config: Config, kind: 'read' | 'operator', token?: string): AdminClient | undefined {
  const admin = config.admin;
  if (!admin) return undefined;
  const host = admin.listen.host === '0.0.0.0' ? '127.0.0.1' : admin.listen.host === '::' ? '::1' : admin.listen.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${admin.listen.port}`;
  const chosen = token ?? (kind === 'operator' ? admin.operatorToken : admin.readToken || admin.operatorToken);
  return createAdminClient(url, chosen);
}

export function isUnreachable(err: unknown): boolean {
  return err instanceof StranglerError && err.code === 'STRANGLER_ERR_ADMIN_UNREACHABLE';
}

/** What the audit log says when the operator gave no --reason. */
export function defaultReason(command: string): string {
  return `${command} from the CLI by ${os.userInfo().username}@${os.hostname()} (no --reason given)`;
}
