-- wrk script of bench/chat-variants.ts: POSTs one chat completion body over and over and checks
-- every answer (status 200, each WRK_EXPECT substring present, and for a stream the final
-- `data: [DONE]` event). Prints one `WRK_JSON {…}` line with the counts and latency percentiles.
-- Request parts come from the environment: WRK_BODY, WRK_AUTH, WRK_EXPECT (substrings joined by
-- a newline), WRK_STREAM=1. wrk's scripting API: https://github.com/wg/wrk/blob/master/SCRIPTING
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_AUTH")

local stream = os.getenv("WRK_STREAM") == "1"
local expected = {}
for piece in string.gmatch(os.getenv("WRK_EXPECT") or "", "[^\n]+") do table.insert(expected, piece) end
local DONE = "data: [DONE]\n\n"

local threads = {}
function setup(thread) table.insert(threads, thread) end

function init(args)
  checked = 0
  bad = 0
  first_bad = ""
end

function response(status, headers, body)
  checked = checked + 1
  local problem = nil
  if status ~= 200 then
    problem = "HTTP " .. status
  elseif stream and string.sub(body, -#DONE) ~= DONE then
    problem = "stream does not end with data: [DONE]"
  else
    for _, piece in ipairs(expected) do
      if not string.find(body, piece, 1, true) then problem = "missing " .. piece break end
    end
  end
  if problem then
    bad = bad + 1
    if first_bad == "" then first_bad = problem .. ": " .. string.sub(body, 1, 160) end
  end
end

function done(summary, latency, requests)
  local c, b, f = 0, 0, ""
  for _, thread in ipairs(threads) do
    c = c + thread:get("checked")
    b = b + thread:get("bad")
    if f == "" then f = thread:get("first_bad") end
  end
  local e = summary.errors
  f = string.gsub(f, '[%c"\\]', " ")
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"checked":%d,"bad":%d,"first_bad":"%s","p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    c, b, f, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
