-- Appended to every bench script: collects the threads' counters and prints one JSON line.
local bench_threads = {}

local user_setup = setup
function setup(thread)
  table.insert(bench_threads, thread)
  thread:set("bench_thread_number", #bench_threads)
  if user_setup then user_setup(thread) end
end

function done(summary, latency, requests)
  local completed, failures = 0, 0
  for _, thread in ipairs(bench_threads) do
    completed = completed + (thread:get("completed") or 0)
    failures = failures + (thread:get("failures") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH-JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, ' ..
    '"p99_us": %d, "max_us": %d, "mean_us": %.1f, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "completed": %d, ' ..
    '"failures": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.status,
    e.timeout, completed, failures))
end
