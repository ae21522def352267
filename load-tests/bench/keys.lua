-- wrk: GET /{key} over a key file (KEYS_FILE). KEY_ORDER=walk: every thread walks its own slice
-- of the file once, so each request names a key no earlier request of the run named (the
-- "only Cassandra has it" case); KEY_ORDER=zipf: popular keys far more often (P ~ 1/rank).
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do
  if #line > 0 then keys[#keys + 1] = line end
end
local order = os.getenv("KEY_ORDER") or "zipf"
local threads = tonumber(os.getenv("WRK_THREADS") or "2")
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
end

local n, position, stride, log_n

function init(args)
  n = #keys
  log_n = math.log(n + 1)
  stride = threads
  position = id + 1
  math.randomseed(os.time() + id * 7919)
end

function request()
  local key
  if order == "walk" then
    key = keys[position]
    position = position + stride
    if position > n then position = id + 1 end
  else
    key = keys[math.min(n, math.floor(math.exp(math.random() * log_n)))]
  end
  return wrk.format("GET", "/" .. key)
end
