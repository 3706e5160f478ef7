/** `ddns config validate | schema | print`. */
import type { Command } from 'commander';
import { action, loadContext } from './context.js';
import { printJson } from './output.js';

export function register(program: Command): void {
  const config = program.command('config').description('validate, describe or show the configuration');

  config
    .command('validate')
    .description('check the configuration; exit 2 with every problem listed if it is invalid')
    .action(action(async (_opts: object, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const where = ctx.configSource ?? 'no file (defaults and environment)';
      if (ctx.opts.json) printJson({ valid: true, source: ctx.configSource ?? null });
      else process.stdout.write(`configuration is valid: ${where}\n`);
    }));

  config
    .command('schema')
    .description('print the JSON Schema of the configuration (for editors: "$schema" or yaml-language-server)')
    .action(action(async () => {
      const { configJsonSchema } = await import('../config/json-schema.js');
      printJson(configJsonSchema());
    }));

  config
    .command('print')
    .description('print the effective configuration (file + environment + defaults), secrets as ***')
    .action(action(async (_opts: object, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const { redactConfig } = await import('../config/load.js');
      printJson(redactConfig(ctx.config));
    }));
}
