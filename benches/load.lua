-- wrk script for benches/load.py: one kind of request per wrk run. It counts statuses,
-- makes random windows where the path holds placeholders, and prints one JSON line.
--
--   {START}/{STOP}  a random index window of at least 2,000 samples within LEN samples
--   LEN is the first script argument (wrk ... -s load.lua URL -- LEN KIND)

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  len = tonumber(args[1]) or 0
  kind = args[2] or "?"
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

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  io.write(string.format(
    '{"kind": "%s", "requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, "errors": %d, "statuses": {%s}}\n',
    threads[1]:get("kind"), summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", ")))
end
