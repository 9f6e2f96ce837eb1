-- wrk script for tests/bench/ingest.sh: one signed ticket body (BENCH_BODY, BENCH_SIG) sent
-- as distinct deliveries: every request carries a new X-Debrief-Delivery id, so each one is
-- verified and stored, never deduplicated. With BENCH_REPEAT set, every request repeats one
-- delivery id instead: verified, found in the inbox and answered, with nothing written.
local counter = 0
local thread_id = 0
local body, sig

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  local f = io.open(os.getenv("BENCH_BODY"), "rb")
  body = f:read("*a")
  f:close()
  sig = os.getenv("BENCH_SIG")
  run = os.getenv("BENCH_RUN") or "0"
  repeat_only = os.getenv("BENCH_REPEAT") ~= nil
end

function request()
  if not repeat_only then counter = counter + 1 end
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Debrief-Signature"] = sig,
    ["X-Debrief-Delivery"] = run .. "-" .. tid .. "-" .. counter,
  }, body)
end

function done(summary, latency, requests)
  io.write(string.format("JSON {\"requests\": %d, \"seconds\": %.3f, \"non2xx\": %d, \"errors\": %d, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f}\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000))
end
