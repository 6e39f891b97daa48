-- wrk script: POST a distinct /start update (unique update_id and chat) on every request.
local threads = {}
local next_id = 0

function setup(thread)
  thread:set("tid", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

function init(args)
  base = tonumber(args[1]) + tid * 10000000
  secret = args[2]
  n = 0
end

function request()
  n = n + 1
  local uid = base + n
  local body = string.format('{"update_id": %d, "message": {"message_id": 1, "date": 1, "text": "/start", '
    .. '"entities": [{"offset": 0, "length": 6, "type": "bot_command"}], "chat": {"id": %d, "type": "private"}, '
    .. '"from": {"id": %d, "is_bot": false, "first_name": "Bench", "language_code": "en"}}}', uid, uid, uid)
  return wrk.format("POST", nil, {["Content-Type"] = "application/json",
                                   ["X-Telegram-Bot-Api-Secret-Token"] = secret}, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('JSON {"requests": %d, "errors": %d, "non2xx": %d, "rps": %.1f, "p50": %.2f, "p95": %.2f, "p99": %.2f}\n',
    summary.requests, e.connect + e.read + e.write + e.timeout, e.status, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
