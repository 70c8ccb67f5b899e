// pve-sim at scale and its time model: /cluster/resources latency with 10,000 VMs, and whether a
// time-scaled full clone keeps the duration ratios of the unscaled model. `BENCH_QUICK=1`: the
// `school` scenario, 10 calls, and the clones at time scales ×1000 and ×200.
import { Agent, request } from 'undici';
import { startPveSim } from '@lab/pve-sim';

const QUICK = process.env.BENCH_QUICK === '1';
const SCENARIO = QUICK ? 'school' : 'large';
const CALLS = QUICK ? 10 : 30;
const [FAST_SCALE, SLOW_SCALE] = QUICK ? [1000, 200] : [100, 20];

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function timeResources() {
  const sim = await startPveSim({ scenario: SCENARIO });
  const dispatcher = new Agent({ connect: { ca: sim.ca } });
  const headers = { authorization: `PVEAPIToken=${sim.tokenId}=${sim.tokenSecret}` };
  const samples = [];
  const ttfb = [];
  let vms = 0;
  for (let i = 0; i < CALLS + 5; i++) {
    const t0 = performance.now();
    const res = await request(`${sim.url}/api2/json/cluster/resources?type=vm`, { headers, dispatcher });
    const headersAt = performance.now();
    const body = await res.body.json();
    if (i >= 5) {
      // the first 5 warm up the JIT
      samples.push(performance.now() - t0);
      ttfb.push(headersAt - t0);
    }
    vms = body.data.length;
  }
  await dispatcher.close();
  await sim.close();
  samples.sort((a, b) => a - b);
  ttfb.sort((a, b) => a - b);
  return {
    vms,
    p50: percentile(samples, 50),
    p99: percentile(samples, 99),
    ttfbP50: percentile(ttfb, 50),
    ttfbP99: percentile(ttfb, 99),
  };
}

async function cloneSeconds(timeScale, vmid) {
  const sim = await startPveSim({ timeScale });
  const task = sim.ops.clone('pve1', vmid, { newid: 500, full: true }, 'root@pam');
  const t0 = sim.time.now();
  while (task.status === 'running') await new Promise((r) => setTimeout(r, 2));
  const simulated = (sim.time.now() - t0) / 1000;
  await sim.close();
  return simulated;
}

const resources = await timeResources();
console.log(
  `/cluster/resources?type=vm with ${resources.vms} VMs: p50 ${resources.p50.toFixed(1)} ms, p99 ${resources.p99.toFixed(1)} ms (over HTTPS incl. client JSON parse, ${CALLS} calls after 5 warm-up); simulator's share (time to first byte): p50 ${resources.ttfbP50.toFixed(1)} ms, p99 ${resources.ttfbP99.toFixed(1)} ms`,
);
// 9002: 16 GiB on nfs-shared (250 MB/s); 9001: 64 GiB + EFI disk on local-lvm (400 MB/s).
const small100 = await cloneSeconds(FAST_SCALE, 9002);
const big100 = await cloneSeconds(FAST_SCALE, 9001);
const small20 = await cloneSeconds(SLOW_SCALE, 9002);
console.log(
  `full clone, simulated seconds at timeScale ${FAST_SCALE}: 16 GiB ${small100.toFixed(1)} s, 64 GiB ${big100.toFixed(1)} s (ratio ${(big100 / small100).toFixed(3)}; model ${((64 * 1024) / 400 / ((16 * 1024) / 250)).toFixed(3)})`,
);
console.log(
  `same 16 GiB clone at timeScale ${SLOW_SCALE}: ${small20.toFixed(1)} s (drift vs timeScale ${FAST_SCALE}: ${((small100 / small20 - 1) * 100).toFixed(1)} %)`,
);
console.log(
  JSON.stringify({
    bench: 'sim',
    vms: resources.vms,
    resources_p50_ms: Number(resources.p50.toFixed(2)),
    resources_p99_ms: Number(resources.p99.toFixed(2)),
    resources_ttfb_p50_ms: Number(resources.ttfbP50.toFixed(2)),
    full_clone_16g_s: Number(small100.toFixed(1)),
    full_clone_64g_s: Number(big100.toFixed(1)),
    scale_drift_pct: Number(((small100 / small20 - 1) * 100).toFixed(2)),
  }),
);
