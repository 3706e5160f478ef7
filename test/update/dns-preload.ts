/**
 * Loaded with `--import` into CLI children of the update tests: points the system resolver at the
 * loopback DNS fixture (TEST_DNS_SERVER=127.0.0.1:PORT), so no lookup leaves the machine.
 */
import { setServers } from 'node:dns';

const server = process.env.TEST_DNS_SERVER;
if (server) setServers([server]);
