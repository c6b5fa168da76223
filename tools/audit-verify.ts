// `npm run audit:verify -- <export.ndjson> [--head <hash>]`
//
// Verifies an audit export (GET /api/v1/audit/export without filters) offline, without the service or
// its database, with the service's own chain code. The chain starts at the first entry of the trail
// and links every entry to the one before it, so only a complete export can be verified: a filtered
// one fails at its first missing entry. With the chain keyed, AUDIT_HMAC_KEY must be in the
// environment, as the service reads it. --head is a head recorded outside the database (GET
// /api/v1/audit/head): it must be in the verified chain, which proves nothing up to it was rewritten
// or cut off. Exit code 0: valid; 1: invalid, naming the first bad seq; 2: usage or configuration.
import { createReadStream } from 'node:fs';
import readline from 'node:readline';
import { parseArgs } from 'node:util';

import { ChainWalker, type StoredAuditEntry } from '../libs/audit/src/audit-chain.js';
import { auditChainKeys, ConfigError } from '../libs/config/src/app-config.js';

const USAGE =
  'Usage: npm run audit:verify -- <export.ndjson> [--head <hash>]   (AUDIT_HMAC_KEY in the environment when the chain is keyed)';
const HASH = /^[0-9a-f]{64}$/;

interface ExportLine extends Omit<StoredAuditEntry, 'seq' | 'occurredAt'> {
  seq: number;
  occurredAt: string;
  chainHash: string | null;
}

class UsageError extends Error {}

class InvalidChain extends Error {}

async function verifyExport(file: string, head: string | undefined): Promise<string> {
  const walker = new ChainWalker(auditChainKeys(process.env));
  let lineNumber = 0;
  let lastSeq = 0;
  let lastChecked = 0;
  let checked = 0;
  let unsealed = 0;
  let headSeen = head === undefined;
  const lines = readline.createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity });
  for await (const text of lines) {
    lineNumber += 1;
    if (text === '') continue;
    let line: ExportLine;
    try {
      line = JSON.parse(text) as ExportLine;
    } catch {
      throw new InvalidChain(`line ${lineNumber} (after seq ${lastSeq}) is not JSON`);
    }
    if (!Number.isSafeInteger(line.seq) || line.seq <= lastSeq)
      throw new InvalidChain(`seq ${line.seq}: not in ascending seq order (line ${lineNumber})`);
    lastSeq = line.seq;
    // The next hash chains on this entry's seal, which the export does not have: the rest cannot be checked.
    if (line.chainHash === null || unsealed > 0) {
      unsealed += 1;
      continue;
    }
    const entry: StoredAuditEntry = { ...line, seq: BigInt(line.seq), occurredAt: new Date(line.occurredAt) };
    if (!walker.accept(entry, line.chainHash)) {
      throw new InvalidChain(
        `seq ${line.seq}: the chain hash does not match (the entry was changed, an entry before it is missing, or the key is wrong) (line ${lineNumber})`,
      );
    }
    checked += 1;
    lastChecked = line.seq;
    headSeen ||= line.chainHash === head;
  }
  if (!headSeen)
    throw new InvalidChain(`the head ${head} is not in the verified chain (checked up to seq ${lastChecked}): it was rewritten or cut off`);
  const unchecked = unsealed > 0 ? `; ${unsealed} entries from the first unsealed one on not checked` : '';
  return `valid: ${checked} sealed entries checked, up to seq ${lastChecked}${unchecked}`;
}

function parse(argv: string[]): { file: string; head?: string } {
  const { values, positionals } = parseArgs({ args: argv, options: { head: { type: 'string' } }, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError(USAGE);
  if (values.head !== undefined && !HASH.test(values.head)) throw new UsageError(`--head must be a 64-digit hex hash\n${USAGE}`);
  return { file: positionals[0]!, head: values.head };
}

try {
  const { file, head } = parse(process.argv.slice(2));
  console.log(await verifyExport(file, head));
} catch (error) {
  if (error instanceof InvalidChain) {
    console.error(`invalid: ${error.message}`);
    process.exitCode = 1;
  } else if (error instanceof UsageError || error instanceof ConfigError) {
    console.error(error.message);
    process.exitCode = 2;
  } else {
    console.error(error);
    process.exitCode = 2;
  }
}
