-- wrk script for POST /ofrep/v1/evaluate/flags/{key}: rotates through 64 BillPay-like evaluation contexts (user id,
-- e-mail, roles, country), so targeting rules and percentage rollouts see many users rather than one cached answer.
-- The key header comes from the command line (-H "X-API-Key: ..."); every request is built once, in init.
local requests = {}
local n = 0

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  local countries = { "US", "BR", "DE", "MX" }
  for i = 1, 64 do
    local email = (i % 8 == 0) and ("staff" .. i .. "@billpay.example") or ("user" .. i .. "@example.com")
    local role = (i % 16 == 0) and "admin" or "customer"
    local body = string.format(
      '{"context":{"targetingKey":"user-%d","email":"%s","roles":["%s"],"country":"%s"}}',
      1000 + i, email, role, countries[i % 4 + 1])
    requests[i] = wrk.format(nil, nil, nil, body)
  end
end

function request()
  n = n % #requests + 1
  return requests[n]
end
