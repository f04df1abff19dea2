-- Requests for wrk, and one JSON line of results at the end (read by bench/harness.py).
--   wrk -s bench/load.lua URL -- path             the URL as given, every time
--   wrk -s bench/load.lua URL -- user COUNT       GET URL/<id>, id drawn from 1..COUNT
--   wrk -s bench/load.lua URL -- create RUN       POST URL, a JSON user with a unique username

local mode, count, run = "path", 1, "0"
local thread_id, sent = 0, 0
local threads = {}
local json_headers = { ["Content-Type"] = "application/json" }

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

function init(args)
  mode = args[1] or "path"
  if mode == "user" then
    count = tonumber(args[2])
  elseif mode == "create" then
    run = args[2]
  end
  math.randomseed(os.time() * 100 + thread_id)
end

function request()
  if mode == "user" then
    return wrk.format("GET", wrk.path .. "/" .. math.random(count))
  elseif mode == "create" then
    sent = sent + 1
    -- Unique per run, thread and request; usernames allow at most 32 characters.
    local name = string.format("w%s-%d-%d", run, thread_id, sent)
    local body = string.format(
      '{"username":"%s","full_name":"Load Test","email":"%s@example.com"}', name, name)
    return wrk.format("POST", nil, json_headers, body)
  end
  return wrk.format()
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"bytes":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,'
      .. '"max_us":%d,"mean_us":%.1f,"errors":{"connect":%d,"read":%d,"write":%d,'
      .. '"status":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean,
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
