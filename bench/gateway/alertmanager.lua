-- wrk script for bench.gateway: every request is an Alertmanager v4 webhook notification
-- carrying 1-3 alerts (1, 2, 3, 2, ... per thread), each with its own fingerprint.
--
-- Arguments after `--`: mode, salt, rate.
--   mode  unique: distinct alerts, a realistic mix of alertnames and namespaces
--         duplicates: every other request repeats the thread's previous request exactly
--         storm: distinct alerts, all named KubePodCrashLooping (a crash-loop storm)
--   salt  0-65535, part of every fingerprint, so two runs never send the same alert
--   rate  requests/s of each wrk thread; 0 sends the next request as soon as one is answered
--
-- done() prints a `bench-result key=value ...` line and a `bench-latency bucket:count ...` line
-- (10 us buckets, so runs can be merged exactly) that bench/gateway/wrk.py parses.

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local CLOCK_MONOTONIC = 1
local timespec = ffi.new("bench_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, timespec)
  return tonumber(timespec.tv_sec) * 1000 + tonumber(timespec.tv_nsec) / 1e6
end

-- Per-thread counters: globals of the thread's Lua state, read by done() through thread:get.
local COUNTERS = {
  "requests_made", "alerts_sent", "distinct_alerts", "responses_2xx", "responses_other",
  "duplicates",
}

-- Setup runs in the main Lua state, once per thread.
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

-- alertname, severity, summary (namespace, pod, container), PromQL of the generator URL.
local RULES = {
  { "KubePodCrashLooping", "warning",
    'Pod %s/%s (%s) is in waiting state (reason: \\"CrashLoopBackOff\\").',
    "kube_pod_container_status_waiting_reason%7Breason%3D%22CrashLoopBackOff%22%7D" },
  { "KubePodNotReady", "warning",
    "Pod %s/%s (%s) has been in a non-ready state for longer than 15 minutes.",
    "kube_pod_status_phase%7Bphase%3D~%22Pending%7CUnknown%22%7D" },
  { "KubeContainerWaiting", "warning",
    "Pod %s/%s container %s has been in waiting state for longer than 1 hour.",
    "kube_pod_container_status_waiting_reason%3E0" },
  { "KubeDeploymentReplicasMismatch", "warning",
    "Deployment %s/%s has not matched the expected number of replicas (container %s).",
    "kube_deployment_spec_replicas%3E0" },
  { "TargetDown", "warning",
    "100%% of the %s/%s targets (%s) are down.",
    "up%3D%3D0" },
  { "KubeJobFailed", "warning",
    "Job %s/%s (%s) failed to complete. Removing failed job after investigation should "
      .. "clear this alert.",
    "kube_job_failed%3E0" },
  { "PrometheusRuleFailures", "critical",
    "Prometheus %s/%s has failed to evaluate rules (%s).",
    "increase%28prometheus_rule_evaluation_failures_total%5B5m%5D%29%3E0" },
}
local NAMESPACES = { "mail", "payments", "search", "ingress-nginx", "monitoring", "auth", "media",
  "default" }
local CONTAINERS = { "front", "api", "worker", "sidecar", "app" }

local ANNOTATIONS = '{"description":"%s Restarted %d times in the last hour.",'
  .. '"runbook_url":"https://runbooks.prometheus-operator.dev/runbooks/kubernetes/%s",'
  .. '"summary":"%s"}'
local ALERT = '{"status":"firing","labels":{"alertname":"%s","container":"%s","namespace":"%s",'
  .. '"node":"node%02d","pod":"%s","prometheus":"monitoring/k8s","severity":"%s"},'
  .. '"annotations":%s,"startsAt":"2026-04-15T%02d:%02d:%02d.%03dZ",'
  .. '"endsAt":"0001-01-01T00:00:00Z",'
  .. '"generatorURL":"http://prometheus.monitoring:9090/graph?g0.expr=%s&g0.tab=1",'
  .. '"fingerprint":"%s"}'
local NOTIFICATION = '{"receiver":"cluster-cortex","status":"firing","alerts":[%s],'
  .. '"groupLabels":{"alertname":"%s","namespace":"%s"},'
  .. '"commonLabels":{"alertname":"%s","namespace":"%s","prometheus":"monitoring/k8s",'
  .. '"severity":"%s"},"commonAnnotations":%s,"externalURL":"http://alertmanager.monitoring:9093",'
  .. '"version":"4",'
  .. '"groupKey":"{}/{severity!=\\"none\\"}:{alertname=\\"%s\\", namespace=\\"%s\\"}",'
  .. '"truncatedAlerts":0}'
local SIZES = { 1, 2, 3, 2 }

function init(args)
  mode, salt = args[1] or "unique", tonumber(args[2] or "0")
  local rate = tonumber(args[3] or "0")
  interval_ms = rate > 0 and 1000 / rate or 0
  next_slot = now_ms()
  for _, name in ipairs(COUNTERS) do _G[name] = 0 end
  headers = { ["Content-Type"] = "application/json" }
  -- wrk asks each thread's state whether it has a delay() after init: unpaced runs have none,
  -- so both servers see back-to-back requests with no timer in between.
  if interval_ms == 0 then delay = nil end
end

-- One alert (JSON) and its annotations (JSON: a lone alert's are the notification's common ones).
local function alert(rule, namespace, n)
  local container = CONTAINERS[n % #CONTAINERS + 1]
  local pod = string.format("%s-%s-%05x", namespace, container, n % 0x100000)
  local summary = string.format(rule[3], namespace, pod, container)
  local annotations = string.format(ANNOTATIONS, summary, n % 97, rule[1]:lower(), summary)
  -- salt, thread and a per-thread counter: unique across threads and runs.
  local fingerprint = string.format("%04x%02x%010x", salt, thread_id, n)
  local t = n * 1009 % 86400000
  return string.format(ALERT, rule[1], container, namespace, n % 12, pod, rule[2], annotations,
    math.floor(t / 3600000), math.floor(t / 60000) % 60, math.floor(t / 1000) % 60, t % 1000,
    rule[4], fingerprint), annotations
end

local function notification()
  local size = SIZES[requests_made % #SIZES + 1]
  local rule = mode == "storm" and RULES[1] or RULES[requests_made % #RULES + 1]
  local namespace = NAMESPACES[math.floor(requests_made / #RULES) % #NAMESPACES + 1]
  local alerts, annotations = {}, nil
  for i = 1, size do
    alerts[i], annotations = alert(rule, namespace, distinct_alerts)
    distinct_alerts = distinct_alerts + 1
  end
  alerts_sent = alerts_sent + size
  return string.format(NOTIFICATION, table.concat(alerts, ","), rule[1], namespace, rule[1],
    namespace, rule[2], size == 1 and annotations or "{}", rule[1], namespace), size
end

function request()
  if mode == "duplicates" and requests_made % 2 == 1 then
    requests_made = requests_made + 1
    alerts_sent = alerts_sent + last_size
    return last_request
  end
  local body, size = notification()
  requests_made = requests_made + 1
  last_request, last_size = wrk.format("POST", nil, headers, body), size
  return last_request
end

function response(status, _, body)
  if status < 200 or status > 299 then
    responses_other = responses_other + 1
    return
  end
  responses_2xx = responses_2xx + 1
  -- The gateway's answer says how many alerts it recognised as already known.
  duplicates = duplicates + tonumber(body:match('"duplicates":%s*(%d+)') or 0)
end

-- Paced runs: each connection asks for the thread's next send slot. A slot missed by more
-- than 100 ms is given up, so a server that cannot keep up is not flooded with a burst.
function delay()
  local now = now_ms()
  local slot = math.max(next_slot, now - 100)
  next_slot = slot + interval_ms
  return math.max(0, slot - now)
end

function done(summary, latency, _)
  local fields = {
    string.format("duration_us=%d", summary.duration),
    string.format("requests=%d", summary.requests),
    string.format("errors_connect=%d", summary.errors.connect),
    string.format("errors_read=%d", summary.errors.read),
    string.format("errors_write=%d", summary.errors.write),
    string.format("errors_timeout=%d", summary.errors.timeout),
  }
  for _, name in ipairs(COUNTERS) do
    local total = 0
    for _, thread in ipairs(threads) do total = total + (thread:get(name) or 0) end
    table.insert(fields, string.format("%s=%d", name, total))
  end
  io.write("bench-result " .. table.concat(fields, " ") .. "\n")
  io.write("bench-latency " .. histogram(latency) .. "\n")
end

-- wrk 4.1 keeps a count per microsecond of latency: latency(i) is the i-th distinct value and
-- its count, #latency how many distinct values there are.
function histogram(latency)
  local buckets, order = {}, {}
  for i = 1, #latency do
    local value, count = latency(i)
    local bucket = math.floor(value / 10)
    if not buckets[bucket] then table.insert(order, bucket) end
    buckets[bucket] = (buckets[bucket] or 0) + count
  end
  local parts = {}
  for i, bucket in ipairs(order) do parts[i] = string.format("%d:%d", bucket, buckets[bucket]) end
  return table.concat(parts, " ")
end
