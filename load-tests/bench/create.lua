-- wrk: POST /api/v1/links, the same small body every time (each create still gets a new key).
-- An hour's lifetime: a run creates a few hundred thousand links, and their Redis cache entries
-- (capped at the link's expiry) must not fill the local Redis (maxmemory: it would evict cached links).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
-- An API key when the run sets one (npm run bench:ab -- --owned): the link then has an owner.
local authorization = os.getenv("SW_BENCH_AUTHORIZATION")
if authorization then wrk.headers["Authorization"] = authorization end
wrk.body = '{"url":"https://example.com/bench/a-typical-long-path?utm_source=bench&utm_medium=wrk","ttlSeconds":3600}'
-- nginx's traceparent, when trace-context.lua is loaded first (bench:ab --sampled); otherwise wrk
-- sends one request, formatted once.
if traceparent then
  request = function()
    wrk.headers["traceparent"] = traceparent()
    return wrk.format()
  end
end
