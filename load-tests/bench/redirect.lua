-- wrk: GET one short link as browsers follow it: a user agent of a few dozen, a referrer (or
-- none), UTM tags, and an address per request in X-Forwarded-For (the redirect-service believes
-- it from 127.0.0.1, as it does from nginx), so analytics do the work real clicks give them.
local agents = {
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Linux; Android 14; SM-S921B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
  "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1",
  "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
  "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
}
local referers = { "https://www.google.com/", "https://t.co/x1", "https://news.ycombinator.com/", "", "https://www.facebook.com/", "" }
local queries = { "", "?utm_source=newsletter&utm_medium=email&utm_campaign=launch", "?utm_source=hn", "" }
local n = 0

request = function()
  n = n + 1
  local headers = {
    ["User-Agent"] = agents[n % #agents + 1],
    ["X-Forwarded-For"] = string.format("%d.%d.%d.%d", 1 + n % 223, (n * 7) % 256, (n * 13) % 256, 1 + n % 254)
  }
  local referer = referers[n % #referers + 1]
  if referer ~= "" then headers["Referer"] = referer end
  -- nginx's traceparent, when trace-context.lua is loaded first (bench:ab --sampled).
  if traceparent then headers["traceparent"] = traceparent() end
  return wrk.format("GET", wrk.path .. queries[n % #queries + 1], headers)
end
