-- Vote POSTs from logged-in voters: each request takes the next voter's session (cookie and
-- CSRF token) and a random contribution among the targets, adopts, refuses or retracts.
-- The data file (first script argument) has lines "S<TAB>cookie<TAB>token", "T<TAB>id" and
-- "U<TAB>user agent" written by bench/web_bench.py.
local threads = {}
local counter = 0
local sessions, targets, agent = {}, {}, "consult-web-bench"
local values = {"adopt", "refuse", "adopt", "retract"}

function setup(thread)
  thread:set("thread_id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  for line in io.lines(args[1]) do
    local kind, a, b = line:match("^(%u)\t([^\t]*)\t?(.*)$")
    if kind == "S" then
      table.insert(sessions, {a, b})
    elseif kind == "T" then
      table.insert(targets, a)
    elseif kind == "U" then
      agent = a
    end
  end
  math.randomseed(7919 * (thread_id or 1) + os.time())
  counter = (thread_id or 1) * 7
end

function request()
  counter = counter + 1
  local s = sessions[(counter % #sessions) + 1]
  local target = targets[math.random(#targets)]
  local value = values[math.random(#values)]
  return wrk.format("POST", "/forums/contributions/" .. target .. "/vote", {
    ["Cookie"] = s[1],
    ["User-Agent"] = agent,
    ["Accept"] = "application/json",
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "value=" .. value .. "&csrf_token=" .. s[2])
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
