-- wrk script: single-phase transfers from a settlement account to customer accounts, each
-- with a fresh transfer id (thread number and counter in the UUID).
-- Usage: wrk -t2 -c64 -d20s -s bench/wrk/transfers.lua http://127.0.0.1:8080
-- Environment: LEDGERD_KEY (backoffice key), LEDGERD_SETTLEMENT, LEDGERD_CUSTOMER (account ids).
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
  counter = counter + 1
  local id = string.format("%08x-0000-4000-8000-%012x", thread_number + 0x1000, counter)
  local body = string.format(
    '{"id":"%s","debit_account_id":"%s","credit_account_id":"%s","amount":%d,"currency":"EUR"}',
    id, os.getenv("LEDGERD_SETTLEMENT"), os.getenv("LEDGERD_CUSTOMER"), 1 + counter % 1000)
  return wrk.format(nil, "/v1/transfers", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("non_2xx=%d\n", summary.errors.status))
end
