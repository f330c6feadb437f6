-- Search GETs rotating over a list of queries (bench/suite.py writes them, URL-encoded, one a
-- line). Script arguments: the queries file, the search path (/recherche, or with a narrowing
-- such as /recherche?type=contribution), and "cached" or "uncached". Uncached requests carry a parameter the page ignores but the
-- shared page cache keys on (the query string), so every request runs the search.
local threads = {}
local queries = {}
local path, mode = "/recherche", "cached"
local counter = 0

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    if line ~= "" then
      table.insert(queries, line)
    end
  end
  path = args[2] or path
  mode = args[3] or mode
  -- Threads start at different places of the list.
  math.randomseed(7919 * (thread_id or 1))
  counter = math.random(#queries)
end

function request()
  counter = counter + 1
  local joiner = path:find("?", 1, true) and "&" or "?"
  local target = path .. joiner .. "q=" .. queries[(counter % #queries) + 1]
  if mode == "uncached" then
    target = target .. "&n=" .. (thread_id or 1) .. "-" .. counter
  end
  return wrk.format("GET", target)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, "socket_errors": %d, '
      .. '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
