// Events from outside at the platform's rate: RATE batches of 1,000 events a second posted
// to POST /api/events for DURATION seconds, while READS requests a second ask for the newest
// 50 (GET /api/events?limit=50), as dashboards do.
// Env: API_URL, API_KEY, BODY (a file: one batch as JSON), RATE (50), READS (20),
//      DURATION (60), SUMMARY (a JSON file).
import http from "k6/http";
import { check } from "k6";

const API_URL = __ENV.API_URL;
const AUTH = { Authorization: `Bearer ${__ENV.API_KEY}` };
const BODY = open(__ENV.BODY);
const DURATION = `${parseInt(__ENV.DURATION || "60")}s`;

export const options = {
  discardResponseBodies: true,
  summaryTrendStats: ["avg", "p(50)", "p(95)", "p(99)", "max", "count"],
  scenarios: {
    ingest: {
      executor: "constant-arrival-rate", exec: "ingest", rate: parseInt(__ENV.RATE || "50"),
      timeUnit: "1s", duration: DURATION, preAllocatedVUs: 40, maxVUs: 200,
    },
    read: {
      executor: "constant-arrival-rate", exec: "read", rate: parseInt(__ENV.READS || "20"),
      timeUnit: "1s", duration: DURATION, preAllocatedVUs: 10, maxVUs: 100,
    },
  },
  thresholds: {
    "http_req_duration{scenario:read}": ["p(95)<200"],
    "http_req_failed{scenario:ingest}": ["rate<0.01"],
    // not a target: it makes k6 keep the batches' own latency apart from the reads'
    "http_req_duration{scenario:ingest}": ["max>=0"],
  },
};

export function ingest() {
  const response = http.post(`${API_URL}/api/events`, BODY, {
    headers: { ...AUTH, "Content-Type": "application/json" },
  });
  check(response, { "stored": (r) => r.status === 201 });
}

export function read() {
  const response = http.get(`${API_URL}/api/events?limit=50`, { headers: AUTH });
  check(response, { "listed": (r) => r.status === 200 });
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY || "summary.json"]: JSON.stringify(data.metrics) };
}
