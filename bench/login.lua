-- wrk script: every request signs the benchmark user in (the OAuth2 password form).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "username=bench&password=Bench%23Pass1"

-- The run's figures as one JSON line when it ends (scripts run from the repository root).
dofile("bench/stats.lua")
