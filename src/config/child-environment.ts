/** The environment for a helper Node process the gateway starts (kept in config: the only folder that reads process.env). */
export function childNodeEnvironment(): NodeJS.ProcessEnv {
  // The gateway's own Node flags (--import loaders, inspectors) are not for the child.
  return { ...process.env, NODE_OPTIONS: '' };
}
