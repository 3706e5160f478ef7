/** `ddns config validate | schema | print`. */
import type { Command } from 'commander';
import { action } from './context.js';
import { loadContext } from './config-load.js';
import { printJson } from './output.js';

export function register(program: Command): void {
  const config = program.command('config').description('validate, describe or show the configuration');

  config
    .command('validate')
    .description('check the configuration; exit 2 with every problem listed if it is invalid')
    .action(action(async (_opts: object, cmd: Command) => {
      const ctx = await loadContext(cmd);
      const where = ctx.configSource ?? await noFileFound();
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
      const { redactConfig } = await import('../config/secrets.js');
      // Which file this came from goes to stderr: stdout stays the configuration alone (a valid file).
      process.stderr.write(`config print: from ${ctx.configSource ?? await noFileFound()}, the environment and defaults\n`);
      printJson(redactConfig(ctx.config));
    }));
}

/** "no file (looked in …)": where the search went when it found nothing. */
async function noFileFound(): Promise<string> {
  const { configSearchDirs } = await import('../config/paths.js');
  return `no file (looked in ${configSearchDirs(process.cwd(), process.env).map((d) => `${d}/`).join(', ')})`;
}
