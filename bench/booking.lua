-- wrk script: every request books one seat no other request books.
-- Seats are the contiguous ticket ids FIRST..LAST (environment); each of wrk's threads
-- walks its own slice of them.
local first = tonumber(os.getenv("FIRST_TICKET"))
local last = tonumber(os.getenv("LAST_TICKET"))
local token = os.getenv("TOKEN")
local threads = tonumber(os.getenv("THREADS") or "2")
local counter = 0
local next_thread = 0

function setup(thread)
  thread:set("id", next_thread)
  next_thread = next_thread + 1
end

function init(args)
  local span = math.floor((last - first + 1) / threads)
  counter = first + id * span
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. token
end

function request()
  local body = '{"ticket_ids":[' .. counter .. ']}'
  counter = counter + 1
  return wrk.format(nil, "/reservations", nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"rps":%.2f,"latency_mean_us":%.1f,' ..
    '"latency_p50_us":%d,"latency_p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, summary.requests / summary.duration * 1e6,
    latency.mean, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
