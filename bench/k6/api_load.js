// The platform's acceptance test of the control API, as its guide gives it: each virtual
// user asks for the sites, the cameras and the newest 50 events at once, checks each answer,
// and sleeps a second. Stages: 5 min ramp to 100 users, 10 min to 1,000, 5 min spike to
// 5,000, 10 min recovery to 1,000, 5 min ramp down; all scaled by SCALE (1 = full length).
//
// Env: API_URL, API_KEY, SCALE (1), SPIKE (5000), WINDOW_S (10), SUMMARY (a JSON file).
// Besides k6's own summary it keeps the latency per window of WINDOW_S seconds (to see how
// fast p95 comes back after the spike) and per stage.
import http from "k6/http";
import { check, sleep } from "k6";
import { Trend, Rate } from "k6/metrics";
import exec from "k6/execution";

const API_URL = __ENV.API_URL;
const HEADERS = { headers: { Authorization: `Bearer ${__ENV.API_KEY}` } };
const SCALE = parseFloat(__ENV.SCALE || "1");
const SPIKE = parseInt(__ENV.SPIKE || "5000");
const WINDOW_S = parseFloat(__ENV.WINDOW_S || "10");
const PLAN = [
  ["ramp to 100", 300, 100],
  ["to 1000", 600, 1000],
  ["spike", 300, SPIKE],
  ["recovery to 1000", 600, 1000],
  ["ramp down", 300, 0],
];
const STAGES = PLAN.map(([, seconds, target]) => ({
  duration: `${Math.max(1, Math.round(seconds * SCALE))}s`,
  target: target,
}));
const TOTAL_S = STAGES.reduce((sum, s) => sum + parseInt(s.duration), 0);

const windows = [];
for (let i = 0; i <= Math.ceil(TOTAL_S / WINDOW_S) + 6; i++) {
  windows.push(new Trend(`window_${i}`, true));
}
const byStage = PLAN.map((_, i) => new Trend(`stage_${i}`, true));
const failedByStage = PLAN.map((_, i) => new Rate(`stage_${i}_failed`));

export const options = {
  stages: STAGES,
  thresholds: {
    http_req_duration: ["p(95)<200"],
    http_req_failed: ["rate<0.01"],
  },
  summaryTrendStats: ["avg", "p(50)", "p(95)", "p(99)", "max", "count"],
  discardResponseBodies: true,
};

function stageAt(elapsed) {
  let end = 0;
  for (let i = 0; i < STAGES.length; i++) {
    end += parseInt(STAGES[i].duration);
    if (elapsed < end) return i;
  }
  return STAGES.length - 1;
}

export default function () {
  const responses = http.batch([
    ["GET", `${API_URL}/api/sites`, null, HEADERS],
    ["GET", `${API_URL}/api/cameras`, null, HEADERS],
    ["GET", `${API_URL}/api/events?limit=50`, null, HEADERS],
  ]);
  const elapsed = (Date.now() - exec.scenario.startTime) / 1000;
  const stage = stageAt(elapsed);
  const window = windows[Math.min(windows.length - 1, Math.floor(elapsed / WINDOW_S))];
  for (const response of responses) {
    check(response, {
      "status is 200": (r) => r.status === 200,
      "response time < 200ms": (r) => r.timings.duration < 200,
    });
    window.add(response.timings.duration);
    byStage[stage].add(response.timings.duration);
    failedByStage[stage].add(response.status !== 200);
  }
  sleep(1);
}

export function handleSummary(data) {
  const out = { stages: PLAN.map(([name]) => name), stage_seconds: STAGES, window_s: WINDOW_S };
  out.metrics = data.metrics;
  return { [__ENV.SUMMARY || "summary.json"]: JSON.stringify(out) };
}
