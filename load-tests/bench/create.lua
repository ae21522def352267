-- wrk: POST /api/v1/links, the same small body every time (each create still gets a new key).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"url":"https://example.com/bench/a-typical-long-path?utm_source=bench&utm_medium=wrk"}'
