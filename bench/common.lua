-- Shared by update.lua, read.lua and bare.lua (loaded with dofile; wrk runs it once per thread
-- and once in the main state).
--
-- * Identifiers must match bench/seed.py: users user-000000.., contents do_2137..000000.., one
--   collection and one context (batch). Script arguments (after `--`): USERS CONTENTS [TOKEN];
--   with a TOKEN every request carries "Authorization: Bearer TOKEN".
-- * Each thread pre-builds one request per seeded (user, content) key, starting at a different
--   offset, and sends them in rotation: consecutive requests hit different users' rows and wrk
--   spends no CPU formatting bodies while measuring (it shares the two cores with the server).
-- * response() counts every non-200 answer; done() prints one machine-readable line
--   "BENCH key=value ..." that bench/report.py reads, plus a sample body when anything failed.

local bench = {
  collection = "do_21369999999999990001",
  context = "01369999999999990001",
  users = 1000,
  contents = 4,
}

function bench.user(i) return string.format("user-%06d", i) end
function bench.content(i) return string.format("do_2137000000000000%06d", i) end
function bench.msgid(thread_id, k)
  return string.format("%08x-0000-4000-8000-%012x", thread_id, k)
end

-- The endpoint script sets bench.body = function(k, u, c, msgid) -> JSON string.
bench.body = nil

-- main state ---------------------------------------------------------------------------------
local threads = {}
local next_thread_id = 0

function setup(thread)
  thread:set("thread_id", next_thread_id)
  next_thread_id = next_thread_id + 1
  table.insert(threads, thread)
end

-- thread states ------------------------------------------------------------------------------
local requests_table = {}
local position = 0
non200 = 0
last_status = 0
sample = ""

function init(args)
  bench.users = tonumber(args[1]) or bench.users
  bench.contents = tonumber(args[2]) or bench.contents
  local users, contents = bench.users, bench.contents
  local n = users * contents
  local offset = ((thread_id or 0) * math.floor(n / 2) + (thread_id or 0)) % n
  local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json" }
  if args[3] and args[3] ~= "" then headers["Authorization"] = "Bearer " .. args[3] end
  for i = 0, n - 1 do
    local k = (offset + i) % n
    local u = k % users
    local c = math.floor(k / users) % contents
    local body = bench.body(k, u, c, bench.msgid(thread_id or 0, k))
    requests_table[i + 1] = wrk.format("POST", nil, headers, body)
  end
  if thread_id == 0 then
    io.write(string.format("BENCH_BODY bytes=%d %s\n", #bench.body(0, 0, 0, bench.msgid(0, 0)),
      bench.body(0, 0, 0, bench.msgid(0, 0))))
  end
end

function request()
  position = position % #requests_table + 1
  return requests_table[position]
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    last_status = status
    if sample == "" then sample = string.sub(body or "", 1, 400) end
  end
end

-- main state, after the run --------------------------------------------------------------------
function done(summary, latency, requests)
  local failed, status, example = 0, 0, ""
  for _, thread in ipairs(threads) do
    local n = thread:get("non200") or 0
    failed = failed + n
    if n > 0 then
      status = thread:get("last_status")
      example = thread:get("sample")
    end
  end
  local seconds = summary.duration / 1e6
  io.write(string.format(
    "BENCH requests=%d duration_s=%.3f rps=%.2f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f " ..
    "max_ms=%.3f non200=%d err_connect=%d err_read=%d err_write=%d err_status=%d " ..
    "err_timeout=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, failed,
    summary.errors.connect, summary.errors.read, summary.errors.write,
    summary.errors.status, summary.errors.timeout))
  if failed > 0 then
    io.write(string.format("BENCH_FAILED %d non-200 responses; last HTTP %d, e.g.: %s\n",
      failed, status, example))
  end
end

return bench
