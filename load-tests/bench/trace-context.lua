-- wrk prelude (npm run bench:ab -- --sampled <percent>): what nginx sends the services instead of
-- wrk going through it (nginx/README.md, "Request id and trace"): a traceparent of a new trace on
-- every request, SW_BENCH_SAMPLED_PERCENT of them sampled (flags 01), as nginx's split_clients
-- decides. The request scripts add it when this is loaded.
local sampled_percent = tonumber(os.getenv("SW_BENCH_SAMPLED_PERCENT") or "10")
local trace_n = 0
local trace_salt = math.random(1, 0x7ffffffe)

function traceparent()
  trace_n = trace_n + 1
  local flags = (trace_n % 100) < sampled_percent and "01" or "00"
  return string.format("00-%08x%08x%08x%08x-%08x%08x-%s", trace_salt, trace_n, trace_salt, trace_n, trace_salt, trace_n + 1, flags)
end
