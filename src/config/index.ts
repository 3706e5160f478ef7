export { loadConfig, redactConfig, SEARCH_PLACES, type Loaded, type LoadOptions } from './load.js';
export { ConfigError, formatProblems, type ConfigProblem } from './errors.js';
export * from './schema.js';
export { isSecretPath, SECRET_FIELDS } from './secrets.js';
