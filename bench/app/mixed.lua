-- wrk script for Notejam's mixed workload (bench/app/mixed.py writes the users file it reads).
--
-- Many signed-in users, each with their own session cookie and CSRF token: every request picks a
-- user at random, then what to do:
--   10 %  a note edit through the app's own edit form (POST, with the user's CSRF token); the
--         thread's next request is that user's GET of the note the form redirects to, as a
--         browser following the redirect would;
--   the rest reads: all notes (any order, any page), a pad's notes (any pad, order, page) or a
--         single note, in the shares set below.
-- Random choices come from LuaJIT's generator seeded with BENCH_SEED and the thread's number, so
-- a run with the same seed sends the same sequence of requests from each thread.
--
-- Errors: wrk counts only >= 400 as errors, so this script counts every response that is not
-- 2xx, except a 3xx whose Location is a note page (the edit form's redirect); a redirect to the
-- sign-in page (a session lost) or a 400 (a CSRF token refused) is an error.

local users_file = assert(os.getenv("BENCH_USERS_FILE"), "BENCH_USERS_FILE is not set")
local seed = tonumber(os.getenv("BENCH_SEED") or "15")
local user_agent = os.getenv("BENCH_USER_AGENT") or "notejam-bench"

local ORDERS = { "name", "-name", "updated_at", "-updated_at" }
-- Shares of the requests chosen freely (the followed redirects come on top of the edits).
local EDIT, ALL_NOTES, PAD_NOTES = 0.10, 0.35, 0.30 -- the rest (0.25): a single note

local function split(text, separator)
  local parts = {}
  for part in string.gmatch(text, "([^" .. separator .. "]+)") do
    table.insert(parts, part)
  end
  return parts
end

-- One line per user, tab-separated: cookie, CSRF token, pages of all notes, pads as
-- "id:pages" joined by commas, notes as "id:pad" (pad 0: no pad) joined by commas.
local function load_users()
  local users = {}
  for line in io.lines(users_file) do
    local f = split(line, "\t")
    local user = { cookie = f[1], csrf = f[2], pages = tonumber(f[3]), pads = {}, notes = {} }
    for _, item in ipairs(split(f[4], ",")) do
      local id, pages = item:match("(%d+):(%d+)")
      table.insert(user.pads, { id = id, pages = tonumber(pages) })
    end
    for _, item in ipairs(split(f[5], ",")) do
      local id, pad = item:match("(%d+):(%d+)")
      table.insert(user.notes, { id = id, pad = pad == "0" and "" or pad })
    end
    table.insert(users, user)
  end
  return users
end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
  table.insert(threads, thread)
end

local users
local follow = nil -- the note page a just-sent edit redirects to: {user, path}
local edits_sent = 0

local function urlencode(text)
  return (text:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function headers_for(user)
  return { ["Cookie"] = user.cookie, ["User-Agent"] = user_agent }
end

local function list_query(pages)
  local order = ORDERS[math.random(#ORDERS)]
  local page = math.random(pages)
  if page == 1 then
    return "?order=" .. order
  end
  return "?order=" .. order .. "&page=" .. page
end

function init(args)
  math.randomseed(seed * 1000 + thread_number)
  users = load_users()
  not_ok = 0
  redirects = 0
  by_status = ""
  statuses = {}
end

function request()
  if follow then
    local user, path = follow[1], follow[2]
    follow = nil
    return wrk.format("GET", path, headers_for(user))
  end
  local user = users[math.random(#users)]
  local r = math.random()
  if r < EDIT then
    local note = user.notes[math.random(#user.notes)]
    edits_sent = edits_sent + 1
    local body = "csrf_token=" .. urlencode(user.csrf)
      .. "&name=" .. urlencode("Note " .. note.id .. ", edit " .. math.random(1000000))
      .. "&text=" .. urlencode("Edited by the benchmark. " .. string.rep("Lorem ipsum dolor sit amet. ", 6))
      .. "&pad=" .. note.pad
    local headers = headers_for(user)
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    follow = { user, "/notes/" .. note.id .. "/" }
    return wrk.format("POST", "/notes/" .. note.id .. "/edit/", headers, body)
  elseif r < EDIT + ALL_NOTES then
    return wrk.format("GET", "/" .. list_query(user.pages), headers_for(user))
  elseif r < EDIT + ALL_NOTES + PAD_NOTES then
    local pad = user.pads[math.random(#user.pads)]
    return wrk.format("GET", "/pads/" .. pad.id .. "/" .. list_query(pad.pages), headers_for(user))
  end
  local note = user.notes[math.random(#user.notes)]
  return wrk.format("GET", "/notes/" .. note.id .. "/", headers_for(user))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status <= 299 then
    return
  end
  if status >= 300 and status <= 399 then
    local location = headers["Location"] or headers["location"] or ""
    -- The edit form's redirect: to the note's page (a relative or absolute URL).
    if location:match("/notes/%d+/$") then
      redirects = redirects + 1
      return
    end
  end
  not_ok = not_ok + 1
  local parts = {}
  for code, n in pairs(statuses) do
    table.insert(parts, code .. ":" .. n)
  end
  by_status = table.concat(parts, ",")
end

function done(summary, latency, requests)
  local bad, moved, edits = 0, 0, 0
  local codes = {}
  for _, thread in ipairs(threads) do
    bad = bad + thread:get("not_ok")
    moved = moved + thread:get("redirects")
    local seen = thread:get("by_status")
    if seen and seen ~= "" then
      table.insert(codes, seen)
    end
  end
  local errors = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d not_2xx=%d redirects=%d cookies_set=0 " ..
    "socket_errors=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d statuses=%s\n",
    summary.requests, summary.duration, bad, moved,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    #codes > 0 and table.concat(codes, ";") or "-"))
end
