-- 50 concurrent "support staff" browsing domains and callback records.
local paths = {
  "/domains/",
  "/domains/?configured=record",
  "/domains/live.example-shop.com/",
  "/domains/stream.sportsnow.tv/",
  "/records/?domain=live.example-shop.com&window=24h",
  "/records/?domain=live.example-shop.com&window=7d&status=failed&page=3",
  "/records/?domain=stream.sportsnow.tv&window=6h&size=100",
  "/records/?domain=play.edu-streams.cn&window=3d&page=2",
  "/records/overview/live.fitclass.cn/",
}
local cookie = os.getenv("LOADTEST_COOKIE")
local counter = 0

request = function()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  return wrk.format("GET", path, { ["Cookie"] = cookie, ["HX-Request"] = (counter % 2 == 0) and "true" or nil })
end

done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("requests %d in %.1f s: %.1f req/s; errors %d (non-2xx/3xx %d)\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    errors, summary.errors.status))
  io.write(string.format("latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms\n",
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
