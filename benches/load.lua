-- wrk script for benches/load.py: one kind of request per wrk run. It counts statuses,
-- makes random windows where the path holds placeholders, and prints one JSON line.
--
--   {START}/{STOP}  a random index window of at least 2,000 samples within LEN samples
--   LEN is the first script argument (wrk ... -s load.lua URL -- LEN KIND PAUSE_MS);
--   PAUSE_MS > 0 makes each connection wait that long between its requests (wrk's delay()).

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  len = tonumber(args[1]) or 0
  kind = args[2] or "?"
  pause = tonumber(args[3]) or 0
  statuses = {}
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

function request()
  local path = wrk.path
  if len > 0 and path:find("{START}", 1, true) then
    local width = math.floor(2000 * (len / 2000) ^ math.random())
    local start = math.random(0, len - width)
    path = path:gsub("{START}", tostring(start)):gsub("{STOP}", tostring(start + width))
  end
  return wrk.format(nil, path)
end

function delay()
  return pause
end

-- Only where STATUSES=1: with a response() function wrk hands every body to Lua, so it
-- buffers each one whole (800 MB for a conversion); the big kinds count 2xx and non-2xx
-- from wrk's own summary instead.
if os.getenv("STATUSES") == "1" then
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + n
    end
  end
  if os.getenv("STATUSES") ~= "1" then
    counts["2xx"] = summary.requests - summary.errors.status
    counts["non-2xx"] = summary.errors.status
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  io.write(string.format(
    '{"kind": "%s", "requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, "statuses": {%s}}\n',
    threads[1]:get("kind"), summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.timeout,
    table.concat(parts, ", ")))
end
