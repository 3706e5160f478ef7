/** The DNS lookups other stages use: authoritative (live) values, the resolver's view, the zone search. */
export { addressesIn, findZone, lookupAuthoritative, lookupRecursive, parseServer, systemResolvers } from './authoritative.js';
export type { AddressType, DnsOptions, LookupResult, ZoneInfo, ZoneResult } from './authoritative.js';
export { queryServer, formatEndpoint } from './wire.js';
export type { DnsRecord, DnsResponse, Endpoint, QueryOptions, QueryResult, QueryType } from './wire.js';
