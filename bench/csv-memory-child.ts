// Run by csv-memory.ts: imports one file and prints its figures as JSON, including the process's peak RSS.
import { createDb, createPool } from '../src/db/database.ts';
import { importCsv, readMappingFile } from '../src/ingest/csv/import-csv.ts';

const [url, file, mappingFile] = process.argv.slice(2) as [string, string, string];
const pool = createPool(url, 4);
const db = createDb(pool);
const summary = await importCsv({ db, file, mapping: await readMappingFile(mappingFile) });
await db.destroy();
process.stdout.write(
  `${JSON.stringify({ rows: summary.rows, accepted: summary.accepted, seconds: summary.seconds, maxRssKb: process.resourceUsage().maxRSS })}\n`,
);
