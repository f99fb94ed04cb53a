-- wrk script for the Notejam benchmark: sends the session cookie (from BENCH_COOKIE, if set) and
-- the sign-in's user agent (BENCH_USER_AGENT),
-- counts every response that is not 2xx (wrk itself only counts >= 400, so a redirect to the
-- sign-in page would otherwise pass as success) and the responses that set a cookie, and prints
-- machine-readable results.
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
-- The browser that signed in (bench.py): the session stays bound to its user agent.
local user_agent = os.getenv("BENCH_USER_AGENT")
if user_agent and user_agent ~= "" then
  wrk.headers["User-Agent"] = user_agent
end

-- Paced mode (BENCH_RATE_PER_THREAD, requests/s for each wrk thread): each thread sends on a
-- fixed schedule, whatever the answers' speed, as a steady flow of users would; a thread that
-- fell behind (every connection busy) sends at once until it is back on schedule. Latency is
-- still wrk's, from the moment a request was sent, not from its slot in the schedule (wrk2's
-- correction for coordinated omission): a stall delays the requests behind it without counting
-- them as slow, so the report also gives the rate achieved.
local rate = tonumber(os.getenv("BENCH_RATE_PER_THREAD") or "")
if rate and rate > 0 then
  local ffi = require("ffi")
  ffi.cdef [[
    typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
    int clock_gettime(int clock_id, bench_timespec *tp);
  ]]
  local now = ffi.new("bench_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, now) -- CLOCK_MONOTONIC
    return tonumber(now.tv_sec) * 1000 + tonumber(now.tv_nsec) / 1e6
  end
  local interval = 1000 / rate
  local next_slot = nil

  function delay()
    local t = now_ms()
    next_slot = (next_slot or t) + interval
    if next_slot <= t then
      return 0
    end
    return math.floor(next_slot - t)
  end
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  not_2xx = 0
  cookies_set = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    not_2xx = not_2xx + 1
  end
  -- A signed-in page that answers with Set-Cookie rewrote the session (wrk never sends it back).
  if headers["Set-Cookie"] ~= nil or headers["set-cookie"] ~= nil then
    cookies_set = cookies_set + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  local set = 0
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_2xx")
    set = set + thread:get("cookies_set")
  end
  local errors = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d not_2xx=%d cookies_set=%d socket_errors=%d " ..
    "p50_us=%d p90_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, bad, set,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
