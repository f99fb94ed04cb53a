-- wrk script for the Notejam benchmark: sends the session cookie (from BENCH_COOKIE, if set),
-- counts every response that is not 2xx (wrk itself only counts >= 400, so a redirect to the
-- sign-in page would otherwise pass as success) and prints machine-readable results.
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_2xx = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    not_2xx = not_2xx + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_2xx")
  end
  local errors = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d not_2xx=%d socket_errors=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, bad,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
