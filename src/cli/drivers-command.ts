// `vfio-ts drivers`: the registry as serve would load it, or (--json-schema) the serve config's JSON Schema.
import { loadDriverRegistry } from '../drivers/registry.js';
import { configJsonSchema } from './config.js';

export async function driversCommand(modules: readonly string[], jsonSchema: boolean, out: (line: string) => void): Promise<void> {
  const registry = await loadDriverRegistry(modules);
  if (jsonSchema) {
    out(JSON.stringify(configJsonSchema(registry), null, 2));
    return;
  }
  const width = Math.max(...registry.names.map((n) => n.length), 6);
  out(`${'DRIVER'.padEnd(width)}  BUS   WHAT`);
  for (const d of registry.list()) out(`${d.name.padEnd(width)}  ${d.bus.padEnd(4)}  ${d.summary}`);
}
