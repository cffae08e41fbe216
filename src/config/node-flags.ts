/**
 * Whether the operator already gave a Node/V8 flag, on the node command line or in NODE_OPTIONS
 * (https://nodejs.org/api/cli.html#node_optionsoptions): a flag the gateway would set for itself
 * (src/main.ts) then stays as given. Matches `-` and `_` spellings alike, as V8 does.
 */
export function nodeFlagGiven(name: string): boolean {
  const pattern = new RegExp(name.replace(/[-_]/g, '[-_]'));
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => pattern.test(arg));
}
