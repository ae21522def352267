-- Appended to every wrk run of the benchmark: one JSON line with the figures bench.ts reads.
-- Latency in microseconds (wrk's unit); errors.status counts answers >= 400.
function done(summary, latency, requests)
  io.write(string.format(
    '\nBENCH_JSON {"requests":%d,"duration_us":%d,"p50":%d,"p95":%d,"p99":%d,"max":%d,' ..
    '"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), latency.max, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.status, summary.errors.timeout))
end
