/**
 * The version of a package, read from its package.json: the one reader behind the CLI's tool version (written into
 * checkpoints and sidecars, `hokusai --version`) and the server's (`/healthz`, the OpenAPI document).
 */
import { readFileSync } from 'node:fs';

/** `version` of the package.json at `url`; '0.0.0' when the file is missing, unreadable or has no version string. */
export function packageVersion(url: URL): string {
  try {
    const pkg = JSON.parse(readFileSync(url, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
}
