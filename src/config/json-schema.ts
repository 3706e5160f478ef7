/** The JSON Schema of the configuration, generated from the zod schema (one source of truth). */
import { z } from 'zod';
import { configObject } from './schema.js';

export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configObject, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://github.com/ddns/ddns/config.schema.json',
    title: 'ddns configuration',
    description: 'Configuration of ddns (ddns.config.yaml, .ddnsrc, package.json#ddns). Every secret x also accepts xFile, and DDNS_* environment variables override the file.',
  };
}
