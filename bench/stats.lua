-- wrk script: prints the run's figures as one JSON line when it ends.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"rps":%.2f,"latency_mean_us":%.1f,' ..
    '"latency_p50_us":%d,"latency_p99_us":%d,"errors":%d,"non2xx":%d}\n',
    summary.requests, summary.duration, summary.requests / summary.duration * 1e6,
    latency.mean, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, e.status))
end
