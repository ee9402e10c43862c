const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/**
 * Expands ${VAR} and ${VAR:-default} from the environment. An unset variable without a
 * default is a problem, not an empty string: a silently empty secret or URL is worse.
 */
export function expandEnv(value: string, env: NodeJS.ProcessEnv): string | { problem: string } {
  if (!value.includes('${')) return value;
  const missing: string[] = [];
  const out = value.replace(VAR, (_all, name: string, fallback: string | undefined) => {
    const v = env[name];
    if (v !== undefined && v !== '') return v;
    if (fallback !== undefined) return fallback;
    missing.push(name);
    return '';
  });
  if (missing.length > 0) {
    const name = missing[0];
    return { problem: `environment variable ${name} is not set; export ${name}=..., or write \${${name}:-default} to give a default` };
  }
  return out;
}
