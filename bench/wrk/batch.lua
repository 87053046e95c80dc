-- wrk script: POST /v1/transfers/batch with 100 transfers per request (non-atomic).
-- Same environment as transfers.lua.
local counter = 0
local thread_number = 0
local threads = {}

function setup(thread)
  thread:set("thread_number", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_number = tonumber(wrk.thread:get("thread_number")) or 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("LEDGERD_KEY")
end

function request()
  local items = {}
  for i = 1, 100 do
    counter = counter + 1
    items[i] = string.format(
      '{"id":"%08x-0000-4000-9000-%012x","debit_account_id":"%s","credit_account_id":"%s","amount":%d,"currency":"EUR"}',
      thread_number + 0x2000, counter, os.getenv("LEDGERD_SETTLEMENT"), os.getenv("LEDGERD_CUSTOMER"), 1 + counter % 1000)
  end
  return wrk.format(nil, "/v1/transfers/batch", nil, '{"transfers":[' .. table.concat(items, ",") .. ']}')
end

function done(summary, latency, requests)
  io.write(string.format("non_2xx=%d\n", summary.errors.status))
end
