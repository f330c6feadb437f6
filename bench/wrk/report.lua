-- Prints wrk's summary as one JSON line (read by bench/web_bench.py): requests, duration,
-- socket errors, non-2xx/3xx answers and latency percentiles in microseconds.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
