// Store figures on each engine: upsert of 10,000 inventory rows (one sync's worth), the same
// upsert again (a re-sync that updates every row), and p50/p99 of "the VMs of this user"; on
// SQLite also at 100,000 rows (a large school's ten clusters). `BENCH_QUICK=1`: 1,000 and 5,000
// rows, 200 queries.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '@lab/proxmox-store';

const QUICK = process.env.BENCH_QUICK === '1';
const ROWS = QUICK ? 1_000 : 10_000;
const LARGE_ROWS = QUICK ? 5_000 : 100_000;
const QUERIES = QUICK ? 200 : 2_000;
const pgUrl = process.env.LAB_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const row = (vmid, now) => ({
  clusterId: `lab${vmid % 3}`,
  vmid,
  name: `vm-${vmid}`,
  node: `pve${vmid % 8}`,
  status: vmid % 2 ? 'running' : 'stopped',
  ip: `127.10.${(vmid >> 8) & 255}.${vmid & 255}`,
  type: 'qemu',
  category: vmid % 5 ? 'linux' : 'windows',
  memory: 2048,
  cores: 2,
  diskSize: 34359738368,
  uptime: vmid,
  cpuUsage: 0.1,
  memoryUsage: 0.4,
  isTemplate: false,
  tags: 'lab;class-cs101',
  rdpAvailable: false,
  sshAvailable: true,
  lastUpdated: now,
  lastStatusCheck: now,
  syncError: null,
  goneAt: null,
});
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function measure(engine, url, rowCount = ROWS) {
  const PEOPLE = (rowCount * 3) / 10; // each owns 3 VMs; a tenth of the VMs belong to nobody
  const store = await openStore(url);
  const rows = Array.from({ length: rowCount }, (_, i) => row(10_000 + i, Date.now()));
  let t = performance.now();
  await store.inventory.upsertMany(rows);
  const upsertMs = performance.now() - t;
  t = performance.now();
  await store.inventory.upsertMany(
    rows.map((r) => ({ ...r, status: r.status === 'running' ? 'stopped' : 'running', lastUpdated: Date.now() })),
  );
  const resyncMs = performance.now() - t;

  const people = [];
  await store.transaction(async (tx) => {
    for (let p = 0; p < PEOPLE; p++) {
      const person = await tx.classes.createPerson(
        { username: `student${p}`, displayName: `Student ${p}`, role: 'student' },
        Date.now(),
      );
      people.push(person.id);
      for (let k = 0; k < 3; k++) {
        const r = rows[p * 3 + k];
        await tx.classes.assignVm(
          { clusterId: r.clusterId, vmid: r.vmid, personId: person.id, classId: null, role: 'student' },
          Date.now(),
        );
      }
    }
  });
  const samples = [];
  let found = 0;
  for (let q = 0; q < QUERIES + 100; q++) {
    const personId = people[(q * 7919) % people.length];
    t = performance.now();
    const vms = await store.inventory.list({ personId });
    if (q >= 100) samples.push(performance.now() - t); // the first 100 warm up
    found += vms.length;
  }
  samples.sort((a, b) => a - b);
  await store.close();
  if (found !== (QUERIES + 100) * 3)
    throw new Error(`expected 3 VMs per user, found ${found / (QUERIES + 100)} on average`);
  const result = { upsertMs, resyncMs, p50: pct(samples, 50), p99: pct(samples, 99) };
  console.log(
    `${engine.padEnd(8)} upsert ${rowCount} rows: ${upsertMs.toFixed(0)} ms, re-sync update of all: ${resyncMs.toFixed(0)} ms, "VMs of this user" p50 ${result.p50.toFixed(3)} ms p99 ${result.p99.toFixed(3)} ms`,
  );
  return result;
}

const out = { bench: 'store', rows: ROWS, large_rows: LARGE_ROWS };
const dir = mkdtempSync(join(tmpdir(), 'lab-bench-'));
const sqlite = await measure('sqlite', `sqlite:${join(dir, 'bench.db')}`);
const large = await measure('sqlite', `sqlite:${join(dir, 'bench-100k.db')}`, LARGE_ROWS);
rmSync(dir, { recursive: true, force: true });
Object.assign(out, {
  sqlite_100k_upsert_ms: Math.round(large.upsertMs),
  sqlite_100k_user_vms_p50_ms: +large.p50.toFixed(3),
  sqlite_100k_user_vms_p99_ms: +large.p99.toFixed(3),
});
Object.assign(out, {
  sqlite_upsert_ms: Math.round(sqlite.upsertMs),
  sqlite_resync_ms: Math.round(sqlite.resyncMs),
  sqlite_user_vms_p50_ms: +sqlite.p50.toFixed(3),
  sqlite_user_vms_p99_ms: +sqlite.p99.toFixed(3),
});

const admin = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
try {
  await admin.connect();
  const name = `lab_bench_${process.pid}`;
  await admin.query(`create database ${name}`);
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  try {
    const postgres = await measure('postgres', url.toString());
    Object.assign(out, {
      postgres_upsert_ms: Math.round(postgres.upsertMs),
      postgres_resync_ms: Math.round(postgres.resyncMs),
      postgres_user_vms_p50_ms: +postgres.p50.toFixed(3),
      postgres_user_vms_p99_ms: +postgres.p99.toFixed(3),
    });
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`);
  }
} catch (error) {
  console.log(`postgres skipped: ${error.message}`);
  out.postgres = 'skipped';
} finally {
  await admin.end().catch(() => undefined);
}
console.log(JSON.stringify(out));
