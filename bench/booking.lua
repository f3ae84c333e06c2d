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

-- The run's figures as one JSON line when it ends (scripts run from the repository root).
dofile("bench/stats.lua")
