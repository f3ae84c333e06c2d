-- wrk script: every request books one seat no other request books, for one of many customers
-- (each may hold only a few seats unpaid), in turn.
-- Seats are the contiguous ticket ids FIRST..LAST (environment); each of wrk's threads
-- walks its own slice of them. CUSTOMERS names a file of "id token" lines (bench_customers).
local first = tonumber(os.getenv("FIRST_TICKET"))
local last = tonumber(os.getenv("LAST_TICKET"))
local customers = {}
for line in io.lines(os.getenv("CUSTOMERS")) do
  local id, token = line:match("^(%d+) (%S+)$")
  if id then customers[#customers + 1] = {id = id, token = token} end
end
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
end

function request()
  local customer = customers[counter % #customers + 1]
  local body = '{"ticket_ids":[' .. counter .. '],"user_id":' .. customer.id .. '}'
  counter = counter + 1
  -- Headers given here replace wrk.headers: the content type is repeated.
  local headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. customer.token}
  return wrk.format(nil, "/reservations", headers, body)
end

-- The run's figures as one JSON line when it ends (scripts run from the repository root).
dofile("bench/stats.lua")
